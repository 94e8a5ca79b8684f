/**
 * A local stand-in for AWS IoT Core that enforces the rules the aws-iot profile must keep: mutual
 * TLS with a client certificate, SNI naming the endpoint, QoS 0/1 only, 128 KB payloads, topics
 * with at most 7 "/", about 100 publishes per second per connection, 50 subscriptions per
 * connection and 8 filters per SUBSCRIBE. Like the service, it answers a broken rule by closing
 * the connection (MQTT 3.1.1 has no way to refuse a single PUBLISH), and it writes every broken
 * rule down so a test can show what a plain bridge does wrong.
 */
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { Aedes, type Client } from 'aedes';
import { listenTls } from './tls-listener.js';

export const AWS_RULES = {
  maxPayloadBytes: 128 * 1024,
  maxSlashes: 7,
  publishesPerSecond: 100,
  maxSubscriptions: 50,
  filtersPerSubscribe: 8,
} as const;

export interface Violation {
  rule: 'sni' | 'qos2' | 'payload' | 'topic' | 'rate' | 'subscriptions' | 'subscribe-batch' | 'connect-rate';
  clientId: string | undefined;
  detail: string;
}

export interface Accepted {
  clientId: string;
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

export interface AwsContract {
  readonly port: number;
  readonly violations: Violation[];
  readonly accepted: Accepted[];
  /** SNI of each TLS handshake (false: none sent) */
  readonly sni: Array<string | false>;
  /** filters per SUBSCRIBE packet, as received */
  readonly subscribeSizes: number[];
  subscriptionsOf(clientId: string): number;
  /** when each CONNECT of a client id arrived (performance.now()) */
  connectTimes(clientId: string): number[];
  /** client ids whose every connection the stand-in closes right after it came up */
  readonly flapping: Set<string>;
  close(): Promise<void>;
}

export async function startAwsContract(o: { ca: string; cert: string; key: string; endpoint: string }): Promise<AwsContract> {
  const broker = await Aedes.createBroker();
  const violations: Violation[] = [];
  const accepted: Accepted[] = [];
  const sni: Array<string | false> = [];
  const subscribeSizes: number[] = [];
  const recent = new Map<Client, number[]>();
  const subscriptions = new Map<string, Set<string>>();

  const breaks = (client: Client | null, rule: Violation['rule'], detail: string): Error => {
    violations.push({ rule, clientId: client?.id, detail });
    return new Error(`${rule}: ${detail}`);
  };

  broker.authorizePublish = (client, packet, done) => {
    if (client === null) return done(null);
    const now = performance.now();
    const times = (recent.get(client) ?? []).filter((t) => now - t < 1000);
    times.push(now);
    recent.set(client, times);
    if (times.length > AWS_RULES.publishesPerSecond) {
      return done(breaks(client, 'rate', `${times.length} publishes within 1 s`));
    }
    if (packet.qos === 2) return done(breaks(client, 'qos2', packet.topic));
    const bytes = Buffer.byteLength(packet.payload);
    if (bytes > AWS_RULES.maxPayloadBytes) return done(breaks(client, 'payload', `${bytes} bytes on ${packet.topic}`));
    const slashes = packet.topic.split('/').length - 1;
    if (slashes > AWS_RULES.maxSlashes) return done(breaks(client, 'topic', `${slashes} "/" in ${packet.topic}`));
    accepted.push({ clientId: client.id, topic: packet.topic, payload: Buffer.from(packet.payload).toString(), qos: packet.qos, retain: packet.retain });
    done(null);
  };

  broker.authorizeSubscribe = (client, sub, done) => {
    const mine = subscriptions.get(client.id) ?? new Set<string>();
    subscriptions.set(client.id, mine);
    if (!mine.has(sub.topic) && mine.size >= AWS_RULES.maxSubscriptions) {
      breaks(client, 'subscriptions', `a subscription beyond ${AWS_RULES.maxSubscriptions}: ${sub.topic}`);
      return done(null, null);
    }
    mine.add(sub.topic);
    done(null, { ...sub, qos: sub.qos === 2 ? 1 : sub.qos });
  };

  // AWS IoT Core: one CONNECT per second per client id.
  const connects = new Map<string, number[]>();
  const flapping = new Set<string>();
  broker.on('client', (client) => {
    const times = connects.get(client.id) ?? [];
    const now = performance.now();
    const prev = times.at(-1);
    if (prev !== undefined && now - prev < 1000) breaks(client, 'connect-rate', `a CONNECT ${Math.round(now - prev)} ms after the last`);
    times.push(now);
    connects.set(client.id, times);
    if (flapping.has(client.id)) setImmediate(() => client.close());
  });

  const listener = await listenTls(
    {
      ca: await readFile(o.ca),
      cert: await readFile(o.cert),
      key: await readFile(o.key),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      const name = typeof socket.servername === 'string' ? socket.servername : false;
      sni.push(name);
      if (name !== o.endpoint) {
        breaks(null, 'sni', `handshake with SNI ${JSON.stringify(name)}, expected ${o.endpoint}`);
        socket.destroy();
        return;
      }
      const client = broker.handle(socket);
      watchSubscribes(client, socket);
    },
  );

  function watchSubscribes(client: Client, socket: tls.TLSSocket): void {
    // The batch size is only visible on the wire: by the time aedes authorizes or reports
    // subscriptions, a packet's filters are split up. aedes' parser is internal, hence the cast.
    const parser = (client as unknown as { _parser?: NodeJS.EventEmitter })._parser;
    parser?.prependListener('packet', (packet: { cmd: string; subscriptions?: unknown[] }) => {
      if (packet.cmd !== 'subscribe') return;
      const n = packet.subscriptions?.length ?? 0;
      subscribeSizes.push(n);
      if (n > AWS_RULES.filtersPerSubscribe) {
        breaks(client, 'subscribe-batch', `${n} filters in one SUBSCRIBE`);
        socket.destroy();
      }
    });
  }

  return {
    port: listener.port,
    violations,
    accepted,
    sni,
    subscribeSizes,
    subscriptionsOf: (id) => subscriptions.get(id)?.size ?? 0,
    connectTimes: (id) => connects.get(id) ?? [],
    flapping,
    close: async () => {
      await listener.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
