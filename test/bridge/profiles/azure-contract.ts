/**
 * A local stand-in for Azure IoT Hub's MQTT device endpoint that enforces what the
 * azure-iot-hub profile must do: TLS; client id = the device id; user name
 * `{hub}/{device}/?api-version=...`; a SAS token whose signature verifies with the device key and
 * that has not expired (a connection is closed when its token expires, as the hub does), or no
 * password and a client certificate signed by the CA (X.509 devices); QoS 2
 * and retained PUBLISH refused; only the device's telemetry topic for PUBLISH and its
 * cloud-to-device filter for SUBSCRIBE. A broken rule is written down and, where the hub closes
 * the connection, the connection is closed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { serveBrokerOverTls } from './tls-listener.js';

export interface AzureViolation {
  rule: 'client-id' | 'username' | 'token-format' | 'resource' | 'signature' | 'expired' | 'x509' | 'qos2' | 'retain' | 'topic' | 'subscribe';
  clientId: string | undefined;
  detail: string;
}

export interface AzureAccepted {
  topic: string;
  /** the property bag of the telemetry topic, decoded */
  properties: Record<string, string>;
  payload: string;
  qos: number;
}

export interface AzureContract {
  readonly port: number;
  readonly violations: AzureViolation[];
  readonly accepted: AzureAccepted[];
  /** expiry (seconds since the epoch) of each token a connection was accepted with */
  readonly tokens: number[];
  /** connections accepted on a client certificate (X.509 devices) */
  readonly certificateLogins: number;
  /** connections the contract closed because their token expired */
  readonly expiredConnections: number;
  /** Sends a cloud-to-device message to the device, with `bag` as its topic's property bag. */
  sendToDevice(bag: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export interface AzureContractOptions {
  ca: string;
  cert: string;
  key: string;
  hubHost: string;
  deviceId: string;
  /** the device's symmetric key, decoded */
  deviceKey: Buffer;
}

function fields(token: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of token.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export async function startAzureContract(o: AzureContractOptions): Promise<AzureContract> {
  const broker = await Aedes.createBroker();
  const violations: AzureViolation[] = [];
  const accepted: AzureAccepted[] = [];
  const tokens: number[] = [];
  const expiries = new Set<NodeJS.Timeout>();
  let expiredConnections = 0;
  let certificateLogins = 0;
  const events = `devices/${o.deviceId}/messages/events/`;
  const bound = `devices/${o.deviceId}/messages/devicebound/`;

  const breaks = (client: Client | null, rule: AzureViolation['rule'], detail: string): Error => {
    violations.push({ rule, clientId: client?.id, detail });
    return new Error(`${rule}: ${detail}`);
  };
  // CONNACK return codes (aedes' AuthErrorCode values).
  type Refusal = Error & { returnCode: 2 | 4 | 5 };
  const refuse = (client: Client, rule: AzureViolation['rule'], detail: string, returnCode: 2 | 4 | 5): Refusal =>
    Object.assign(breaks(client, rule, detail), { returnCode });

  /** Why the password is not a valid, unexpired token for the device; undefined when it is. Records the expiry. */
  function checkToken(client: Client, password: Buffer | undefined): Refusal | number {
    const text = password?.toString() ?? '';
    const prefix = 'SharedAccessSignature ';
    if (!text.startsWith(prefix)) return refuse(client, 'token-format', `password is not a SAS token: ${JSON.stringify(text.slice(0, 40))}`, 4);
    const f = fields(text.slice(prefix.length));
    const sr = f.get('sr');
    const sig = f.get('sig');
    const se = Number(f.get('se'));
    if (sr === undefined || sig === undefined || !Number.isInteger(se)) return refuse(client, 'token-format', 'sr, sig or se missing', 4);
    const resource = `${o.hubHost}/devices/${o.deviceId}`;
    if (decodeURIComponent(sr).toLowerCase() !== resource.toLowerCase()) return refuse(client, 'resource', `sr ${decodeURIComponent(sr)}, expected ${resource}`, 5);
    const expected = createHmac('sha256', o.deviceKey).update(`${sr}\n${se}`).digest();
    const given = Buffer.from(decodeURIComponent(sig), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse(client, 'signature', 'the signature does not verify with the device key', 5);
    if (se * 1000 <= Date.now()) return refuse(client, 'expired', `token expired at ${new Date(se * 1000).toISOString()}`, 5);
    return se;
  }

  broker.authenticate = (client, username, password, done) => {
    if (client.id !== o.deviceId) return done(refuse(client, 'client-id', `client id ${client.id}, expected the device id ${o.deviceId}`, 2), false);
    const user = `${o.hubHost}/${o.deviceId}/?api-version=2021-04-12`;
    if (username !== user) return done(refuse(client, 'username', `user name ${String(username)}, expected ${user}`, 4), false);
    if (password === undefined) {
      // An X.509 device: no password, and a client certificate the hub's CA verified.
      if ((client.conn as Partial<TLSSocket>).authorized !== true) return done(refuse(client, 'x509', 'no password and no verified client certificate', 5), false);
      certificateLogins++;
      return done(null, true);
    }
    const se = checkToken(client, password);
    if (se instanceof Error) return done(se, false);
    tokens.push(se);
    // The hub cuts a connection when its token runs out.
    const timer = setTimeout(() => {
      expiries.delete(timer);
      if (client.closed) return;
      expiredConnections++;
      client.close();
    }, se * 1000 - Date.now());
    expiries.add(timer);
    client.conn.once('close', () => {
      clearTimeout(timer);
      expiries.delete(timer);
    });
    done(null, true);
  };

  broker.authorizePublish = (client, packet, done) => {
    if (client === null) return done(null);
    if (packet.qos === 2) return done(breaks(client, 'qos2', packet.topic));
    if (packet.retain) return done(breaks(client, 'retain', packet.topic));
    if (!packet.topic.startsWith(events)) return done(breaks(client, 'topic', `PUBLISH to ${packet.topic}; devices publish only to ${events}`));
    const properties: Record<string, string> = {};
    for (const [k, v] of fields(packet.topic.slice(events.length))) properties[decodeURIComponent(k)] = decodeURIComponent(v);
    accepted.push({ topic: packet.topic, properties, payload: Buffer.from(packet.payload).toString(), qos: packet.qos });
    done(null);
  };

  broker.authorizeSubscribe = (client, sub, done) => {
    if (sub.topic !== `${bound}#`) {
      breaks(client, 'subscribe', `SUBSCRIBE to ${sub.topic}; devices subscribe only to ${bound}#`);
      return done(null, null);
    }
    done(null, { ...sub, qos: sub.qos === 2 ? 1 : sub.qos });
  };

  // Certificates are asked for, not required: SAS devices present none.
  const served = await serveBrokerOverTls(broker, o, { requestCert: true, rejectUnauthorized: false });
  return {
    port: served.port,
    violations,
    accepted,
    tokens,
    get expiredConnections() {
      return expiredConnections;
    },
    get certificateLogins() {
      return certificateLogins;
    },
    sendToDevice: (bag, payload) =>
      new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic: bound + bag, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
      ),
    close: async () => {
      for (const t of expiries) clearTimeout(t);
      await served.close();
    },
  };
}
