/**
 * A local stand-in for Adafruit IO's MQTT broker that enforces what the adafruit-io profile must
 * do: TLS; user name = the Adafruit IO user and password = its AIO key; PUBLISH only to
 * `{user}/feeds/{feed key}` (or `/f/`) with a valid key; QoS 0 and 1 only (QoS 2 closes the
 * connection); an account-wide budget of data points per window, over which data is dropped and
 * a notice goes to `{user}/throttle`; reconnects not closer together than the service tolerates.
 * Bad topics get a notice on `{user}/errors`, as the service does. Every broken rule is written
 * down so a test can show what a plain bridge does wrong.
 */
import { Aedes, type Client } from 'aedes';
import { serveBrokerOverTls } from './tls-listener.js';

export interface AdafruitViolation {
  rule: 'auth' | 'topic' | 'qos2' | 'rate' | 'reconnect' | 'subscribe';
  detail: string;
}

export interface AdafruitAccepted {
  feed: string;
  payload: string;
  qos: number;
  at: number;
}

export interface AdafruitContract {
  readonly port: number;
  readonly violations: AdafruitViolation[];
  /** data points stored */
  readonly accepted: AdafruitAccepted[];
  /** data points dropped over the budget */
  readonly dropped: Array<{ feed: string; payload: string }>;
  /** filters subscribed, over all connections */
  readonly subscribed: string[];
  close(): Promise<void>;
}

export interface AdafruitContractOptions {
  ca: string;
  cert: string;
  key: string;
  user: string;
  aioKey: string;
  /** data points per window, account-wide */
  budget: number;
  windowMs: number;
  /** connections closer together than this break the reconnect rule */
  minReconnectMs: number;
}

const FEED_KEY = /^[a-z0-9-]+(\.[a-z0-9-]+)?$/;

export async function startAdafruitContract(o: AdafruitContractOptions): Promise<AdafruitContract> {
  const broker = await Aedes.createBroker();
  const violations: AdafruitViolation[] = [];
  const accepted: AdafruitAccepted[] = [];
  const dropped: AdafruitContract['dropped'] = [];
  const subscribed: string[] = [];
  const points: number[] = [];
  let lastConnect = -Infinity;

  const breaks = (rule: AdafruitViolation['rule'], detail: string): Error => {
    violations.push({ rule, detail });
    return new Error(`${rule}: ${detail}`);
  };
  const notify = (topic: string, text: string): void => {
    broker.publish({ cmd: 'publish', topic: `${o.user}/${topic}`, payload: Buffer.from(text), qos: 0, retain: false, dup: false }, () => {});
  };

  broker.authenticate = (_client, username, password, done) => {
    const now = performance.now();
    if (now - lastConnect < o.minReconnectMs) breaks('reconnect', `a connection ${Math.round(now - lastConnect)} ms after the last`);
    lastConnect = now;
    if (username !== o.user || password?.toString() !== o.aioKey) {
      return done(Object.assign(breaks('auth', `user ${String(username)}`), { returnCode: 4 as const }), false);
    }
    done(null, true);
  };

  broker.authorizePublish = (client: Client | null, packet, done) => {
    if (client === null) return done(null);
    if (packet.qos === 2) return done(breaks('qos2', packet.topic));
    const m = /^([^/]+)\/(?:feeds|f)\/([^/]+)$/.exec(packet.topic);
    const feed = m?.[2];
    if (m?.[1] !== o.user || feed === undefined || !FEED_KEY.test(feed)) {
      breaks('topic', packet.topic);
      notify('errors', `"${packet.topic}" is not a valid topic`);
      return done(null);
    }
    const payload = Buffer.from(packet.payload).toString();
    const now = performance.now();
    while (points.length > 0 && (points[0] ?? 0) <= now - o.windowMs) points.shift();
    if (points.length >= o.budget) {
      breaks('rate', `${feed}=${payload}: over ${o.budget} data points in ${o.windowMs} ms`);
      dropped.push({ feed, payload });
      const wait = Math.ceil(((points[0] ?? now) + o.windowMs - now) / 1000);
      notify('throttle', `${o.user} data rate limit reached, ${wait} seconds until throttle released`);
      return done(null);
    }
    points.push(now);
    accepted.push({ feed, payload, qos: packet.qos, at: now });
    done(null);
  };

  broker.authorizeSubscribe = (_client, sub, done) => {
    const own = [`${o.user}/throttle`, `${o.user}/errors`];
    if (!own.includes(sub.topic) && !sub.topic.startsWith(`${o.user}/feeds/`) && !sub.topic.startsWith(`${o.user}/f/`)) {
      breaks('subscribe', sub.topic);
      return done(null, null);
    }
    subscribed.push(sub.topic);
    done(null, { ...sub, qos: sub.qos === 2 ? 1 : sub.qos });
  };

  const served = await serveBrokerOverTls(broker, o);
  return {
    port: served.port,
    violations,
    accepted,
    dropped,
    subscribed,
    close: async () => {
      await served.close();
    },
  };
}
