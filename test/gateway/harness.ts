/**
 * A gateway core on a fake clock, a recording transport and an in-memory broker double: every
 * protocol rule can be driven packet by packet in milliseconds. The end-to-end tests run the same
 * rules over real UDP and the real broker core.
 */
import assert from 'node:assert/strict';
import type { BrokerCore, BrokerMessage } from '../../src/broker/types.js';
import { FakeClock } from '../../src/clock.js';
import { decode, DecodeError, encode, type Packet, type PacketOf, type PacketType } from '../../src/codec/index.js';
import type { Uplink } from '../../src/uplink/port.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { defaultConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/logger.js';
import type { GatewayOptions } from '../../src/gateway/types.js';
import type { SessionStore } from '../../src/store/session-store.js';
import type { Peer, Transport, TransportEvents, TransportStats } from '../../src/transport/types.js';

/** MQTT topic matching, written plainly as the reference the broker double uses. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Broker double: records publishes, keeps retained messages, fans out to in-process subscribers. */
export class MemoryBroker implements BrokerCore {
  readonly published: BrokerMessage[] = [];
  readonly listeners: ReadonlyArray<{ host: string; port: number }> = [];
  #retained = new Map<string, BrokerMessage>();
  #subs = new Set<{ filter: string; handler: (m: BrokerMessage, origin: string | undefined) => void }>();

  publish(msg: BrokerMessage, origin?: string): Promise<void> {
    this.published.push(msg);
    if (msg.retain) {
      if (msg.payload.length === 0) this.#retained.delete(msg.topic);
      else this.#retained.set(msg.topic, msg);
    }
    // As aedes hands its in-process subscribers the publisher's message (retain flag and payload object included).
    for (const s of this.#subs) if (topicMatches(s.filter, msg.topic)) s.handler(msg, origin);
    return Promise.resolve();
  }

  subscribe(filter: string, handler: (m: BrokerMessage, origin: string | undefined) => void): Promise<() => Promise<void>> {
    const entry = { filter, handler };
    this.#subs.add(entry);
    return Promise.resolve(() => {
      this.#subs.delete(entry);
      return Promise.resolve();
    });
  }

  retained(filter: string): Promise<BrokerMessage[]> {
    return Promise.resolve([...this.#retained.values()].filter((m) => topicMatches(filter, m.topic)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Messages published on a topic, as strings. */
  on(topic: string): string[] {
    return this.published.filter((m) => m.topic === topic).map((m) => m.payload.toString());
  }
}

interface TestPeer extends Peer {
  key: string;
  address?: string;
}

/** A transport whose peers are test clients: frames in by `inject`, frames out recorded per peer. */
export class RecordingTransport implements Transport<TestPeer> {
  readonly name = 'test';
  maxFrameSize = 1024;
  state: Transport['state'] = 'open';
  /** as a UDP transport with `frontEnds` configured says (several instances behind front ends) */
  behindFrontEnds = false;
  readonly outbox = new Map<string, Buffer[]>();
  readonly broadcasts: Buffer[] = [];
  #frame: TransportEvents<TestPeer>['frame'] | undefined;

  open(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  send(peer: TestPeer, frame: Buffer): Promise<void> {
    const list = this.outbox.get(peer.key) ?? [];
    list.push(frame);
    this.outbox.set(peer.key, list);
    return Promise.resolve();
  }
  broadcast(frame: Buffer): Promise<void> {
    this.broadcasts.push(frame);
    return Promise.resolve();
  }
  peerFromKey(key: string): TestPeer {
    return { key };
  }
  on<E extends keyof TransportEvents<TestPeer>>(event: E, listener: TransportEvents<TestPeer>[E]): () => void {
    if (event === 'frame') this.#frame = listener as TransportEvents<TestPeer>['frame'];
    return () => {
      this.#frame = undefined;
    };
  }
  stats(): TransportStats {
    throw new Error('not used by these tests');
  }
  /** `address`: the peer's network address, as a UDP transport gives it (none: the key is the address) */
  inject(key: string, frame: Buffer, address?: string): void {
    assert.ok(this.#frame, 'gateway not attached');
    this.#frame(address === undefined ? { key } : { key, address }, frame, false);
  }
}

/** Lets the promise callbacks of the gateway (broker publish, retained reads) run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class TestClient {
  constructor(
    readonly h: Harness,
    readonly key: string,
    readonly address?: string,
  ) {}

  send(p: Packet): void {
    this.h.transport.inject(this.key, encode(p), this.address);
  }

  sendRaw(hex: string): void {
    this.h.transport.inject(this.key, Buffer.from(hex, 'hex'), this.address);
  }

  /** Everything the gateway sent to this client since the last call, decoded. */
  take(): Packet[] {
    const frames = this.h.transport.outbox.get(this.key) ?? [];
    this.h.transport.outbox.set(this.key, []);
    return frames.map((f) => {
      const p = decode(f);
      assert.ok(!(p instanceof DecodeError), `gateway sent an undecodable frame ${f.toString('hex')}`);
      return p;
    });
  }

  /** Exactly one packet was sent, of this type. */
  one<T extends PacketType>(type: T): PacketOf<T> {
    const got = this.take();
    assert.equal(got.length, 1, `expected one ${type}, got ${JSON.stringify(got.map((p) => p.type))}`);
    assert.equal(got[0]!.type, type);
    return got[0] as PacketOf<T>;
  }

  nothing(): void {
    assert.deepEqual(this.take().map((p) => p.type), []);
  }

  async connect(clientId: string, opts: { cleanSession?: boolean; keepAlive?: number } = {}): Promise<void> {
    this.send({ type: 'CONNECT', will: false, cleanSession: opts.cleanSession ?? true, protocolId: 1, duration: opts.keepAlive ?? 60, clientId });
    await settle();
    assert.equal(this.one('CONNACK').returnCode, 0);
  }

  /** CONNECT with a will, through the whole will dance. */
  async connectWithWill(clientId: string, will: { topic: string; message: string; qos?: 0 | 1 | 2; retain?: boolean }, opts: { cleanSession?: boolean; keepAlive?: number } = {}): Promise<void> {
    this.send({ type: 'CONNECT', will: true, cleanSession: opts.cleanSession ?? true, protocolId: 1, duration: opts.keepAlive ?? 60, clientId });
    this.one('WILLTOPICREQ');
    this.send({ type: 'WILLTOPIC', qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic });
    this.one('WILLMSGREQ');
    this.send({ type: 'WILLMSG', willMsg: Buffer.from(will.message) });
    await settle();
    assert.equal(this.one('CONNACK').returnCode, 0);
  }

  async register(name: string, msgId = 1): Promise<number> {
    this.send({ type: 'REGISTER', topicId: 0, msgId, topicName: name });
    await settle();
    const ack = this.one('REGACK');
    assert.equal(ack.returnCode, 0);
    return ack.topicId;
  }

  async subscribe(topicName: string, qos: 0 | 1 | 2 = 0, msgId = 1): Promise<PacketOf<'SUBACK'>> {
    this.send({ type: 'SUBSCRIBE', dup: false, qos, msgId, topicIdType: 'normal', topicName });
    await settle();
    return this.one('SUBACK');
  }
}

export class Harness {
  readonly clock = new FakeClock(1_000_000);
  /** The wall clock moves with the fake one (times kept in the store across a restart are wall times); a test may set it. */
  wallOffset = 1_796_000_000_000;
  readonly wall = (): number => this.wallOffset + this.clock.now();
  readonly broker = new MemoryBroker();
  readonly transport = new RecordingTransport();
  gateway: Gateway;
  #options: GatewayOptions;
  readonly #store: SessionStore | undefined;
  readonly #logger: Logger | undefined;
  #upstream: Uplink | undefined;

  /** `upstream`: transparent mode, through this port */
  constructor(overrides: { [K in keyof GatewayOptions]?: Partial<GatewayOptions[K]> } = {}, store?: SessionStore, logger?: Logger, upstream?: Uplink) {
    const o: GatewayOptions = defaultConfig();
    const options: GatewayOptions = {
      ...o,
      gatewayId: (overrides.gatewayId) ?? o.gatewayId,
      predefinedTopics: { ...o.predefinedTopics, ...(overrides.predefinedTopics as Record<string, string> | undefined) },
      qosMinusOne: { ...o.qosMinusOne, ...overrides.qosMinusOne },
      limits: { ...o.limits, ...overrides.limits },
      timers: { ...o.timers, advertiseIntervalSec: 0, ...overrides.timers },
      auth: { ...o.auth, ...overrides.auth },
    };
    this.#options = options;
    this.#store = store;
    this.#logger = logger;
    this.#upstream = upstream;
    this.gateway = new Gateway({ options, broker: this.broker, clock: this.clock, wallClock: this.wall, store, logger, uplink: upstream });
    this.gateway.attach(this.transport);
  }

  /**
   * A new gateway on the same store, transport and broker, as after a crash: the old one is only
   * detached, never asked to save anything more. `change` replaces option sections.
   */
  async restart(change: Partial<GatewayOptions> = {}, upstream?: Uplink): Promise<void> {
    await this.gateway.stop();
    // A config edited while the gateway was down; a new process has a new bridge too.
    this.#options = { ...this.#options, ...change };
    if (upstream !== undefined) this.#upstream = upstream;
    this.gateway = new Gateway({ options: this.#options, broker: this.broker, clock: this.clock, wallClock: this.wall, store: this.#store, logger: this.#logger, uplink: this.#upstream });
    this.gateway.attach(this.transport);
    await this.gateway.start();
    await settle();
  }

  async start(): Promise<this> {
    await this.gateway.start();
    return this;
  }

  /** A client at a peer key; with `address`, a peer that has one (a UDP host behind several ports). */
  client(key: string, address?: string): TestClient {
    return new TestClient(this, key, address);
  }

  /** Advance the fake clock and let promise callbacks run. */
  async advance(ms: number): Promise<void> {
    this.clock.advance(ms);
    await settle();
  }

  /** A message arriving at the broker core from elsewhere (a local MQTT client, the bridge). */
  async publishFromBroker(topic: string, payload: string, qos: 0 | 1 | 2 = 0, retain = false): Promise<void> {
    await this.broker.publish({ topic, payload: Buffer.from(payload), qos, retain }, 'mqtt');
    await settle();
  }
}

export async function harness(overrides?: ConstructorParameters<typeof Harness>[0], store?: SessionStore, logger?: Logger): Promise<Harness> {
  return new Harness(overrides, store, logger).start();
}

/** A logger that keeps what was logged at info and above, for tests about log lines. */
export function recordingLogger(): { logger: Logger; lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: object, msg: string): void => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: () => undefined, trace: () => undefined } };
}
