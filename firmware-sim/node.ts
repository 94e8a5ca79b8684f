/**
 * A simulated MQTT-SN v1.2 client: the device side of the radio, built on the project's codec
 * and talking through a {@link Link}. It follows the client's rules of MQTT-SN.md (discovery
 * §4.2, connect and will §4.3, registration §4.6, publish §4.7-4.8 and §4.10, subscribe §4.9,
 * keep-alive §4.11, sleep §4.12, retransmission §4.13) so that it works against any conforming
 * gateway, not only ours. All time goes through the injected {@link Clock}.
 *
 * ```
 *               connect()                 sleep(d)               wake()
 *  disconnected ─────────► connecting ─► active ─────► asleep ◄──────────► awake
 *        ▲                     │          │  ▲            │   PINGREQ(id) .. PINGRESP
 *        └──── disconnect() ───┴──────────┘  └─ connect() ┘
 *  N_RETRY exhausted / unsolicited DISCONNECT: any connected state ─► lost ─► (reconnect) connecting
 * ```
 */
import { systemClock, type Clock, type TimerHandle } from '../src/clock.js';
import {
  decode,
  DecodeError,
  encode,
  PROTOCOL_ID,
  ReturnCode,
  type Packet,
  type PublishPacket,
  type PublishTopic,
  type QoS,
  type SubQoS,
  type SubscriptionTopic,
} from '../src/codec/index.js';
import { Emitter } from './emitter.js';
import { SimError, SimErrorCode } from './errors.js';
import type { Link } from './link.js';

export type NodeState = 'disconnected' | 'connecting' | 'active' | 'asleep' | 'awake' | 'lost' | 'closed';

/** The request kinds a node times; publish kinds carry their QoS. */
export type RequestKind =
  | 'search'
  | 'connect'
  | 'register'
  | 'subscribe'
  | 'unsubscribe'
  | 'publish-1'
  | 'publish0'
  | 'publish1'
  | 'publish2'
  | 'ping'
  | 'sleep'
  | 'wake'
  | 'disconnect'
  | 'willupdate';

export interface Will {
  topic: string;
  payload: Buffer | string;
  qos?: SubQoS;
  retain?: boolean;
}

export interface ConnectOptions {
  /** 1..23 characters in v1.2 (MQTT-SN.md §1.5); default the node's `clientId` */
  clientId?: string;
  /** default true */
  cleanSession?: boolean;
  /** keep-alive in seconds; 0 disables the node's pings; default 60 */
  keepAlive?: number;
  will?: Will;
}

/** How a PUBLISH names its topic: exactly one of these. */
export type PublishTarget =
  /** a topic name: registered first if the node has no id for it yet (§4.6) */
  | { topic: string }
  /** a normal id the node got from REGISTER or SUBACK */
  | { topicId: number }
  /** a two-character short topic name (§4.5) */
  | { shortName: string }
  /** a predefined id configured on both sides (§4.5) */
  | { predefinedId: number };

export type PublishOptions = PublishTarget & {
  payload?: Buffer | string;
  /** default 0 */
  qos?: QoS;
  retain?: boolean;
};

export interface PublishResult {
  /** 0 for QoS 0 and -1 */
  msgId: number;
  /** from the first transmission to PUBACK / PUBCOMP (0 for QoS 0 and -1) */
  latencyMs: number;
  /** retransmissions it took (DUP=1 copies and PUBREL repeats) */
  retransmissions: number;
}

export type SubscribeTarget = string | { topic: string } | { shortName: string } | { predefinedId: number };

export interface SubscribeResult {
  /** the id the gateway will use (wildcard-free names, predefined); 0 for wildcards and short names (§4.9) */
  topicId: number;
  grantedQos: SubQoS;
}

/** A PUBLISH the node delivered to the application. */
export interface SimMessage {
  /** the topic name; undefined for a predefined id the node has no name for */
  topic: string | undefined;
  topicIdType: PublishTopic['topicIdType'];
  /** the wire topic id (normal or predefined); 0 for short and inline names */
  topicId: number;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  msgId: number;
}

/**
 * What a run's statistics see of a node. Every method is optional to call sites: a node without
 * an observer pays nothing.
 */
export interface NodeObserver {
  /** a request (or a publish of any QoS) left for the first time */
  sent(kind: RequestKind): void;
  /** its answer came after `ms` */
  done(kind: RequestKind, ms: number): void;
  /** it failed with an error code (timeout, rejection, lost gateway, ...) */
  failed(kind: RequestKind, code: string): void;
  /** a publish that never left: no connection, no topic id (the registration failed), ... */
  refused(kind: RequestKind, code: string): void;
  retransmitted(kind: RequestKind): void;
  /** a PUBLISH delivered to the application */
  received(msg: SimMessage): void;
  /** a QoS 2 PUBLISH the node had already delivered (not delivered again, §4.7) */
  duplicate(msg: SimMessage): void;
  /** a frame that did not decode, or a packet nothing expected */
  unexpected(what: Packet | DecodeError): void;
}

export interface ReconnectOptions {
  /** first wait after the gateway is lost; doubles up to `maxDelayMs`, with jitter; default 1000 */
  initialDelayMs?: number;
  /** default 30000 */
  maxDelayMs?: number;
}

export interface DiscoveryOptions {
  /** SEARCHGW radius (§4.2); default 0 (the whole network) */
  radius?: number;
  /** give up after this; default 30000 */
  timeoutMs?: number;
  /** random wait before the first SEARCHGW, T_SEARCHGW (§4.13, 5 s in the spec); default 0 */
  jitterMs?: number;
  /** first repeat interval, doubled after each repeat; default 1000 */
  repeatMs?: number;
}

export interface SimNodeOptions {
  link: Link;
  /** default client id of `connect` and of the wake-up PINGREQ */
  clientId?: string;
  clock?: Clock;
  /** T_RETRY in ms (§4.13: 10-15 s); default 10000 */
  retryMs?: number;
  /** N_RETRY (§4.13: 3-5); default 3 */
  maxRetries?: number;
  /** predefined ids known to this node, for naming incoming PUBLISHes */
  predefinedTopics?: ReadonlyMap<number, string> | Record<number, string>;
  /** find the gateway by SEARCHGW before connecting, and again after it is lost (§4.11) */
  discover?: boolean | DiscoveryOptions;
  /** reconnect after the gateway is lost; default on */
  reconnect?: boolean | ReconnectOptions;
  observer?: NodeObserver;
  /** [0, 1) source for jitter; default Math.random (seed it for reproducible runs) */
  random?: () => number;
}

export interface SimNodeEvents {
  message: [SimMessage];
  state: [NodeState, NodeState];
  /** the gateway is gone (N_RETRY exhausted, or it sent DISCONNECT on its own) */
  lost: [SimError];
  reconnected: [];
  /** the gateway announced a topic id (REGISTER from the gateway, §4.6) */
  register: [{ topicId: number; topicName: string }];
  gateway: [{ gwId: number; from: string | undefined }];
}

/** What `accept` says about an incoming packet, seen by an exchange. */
type Verdict =
  /** not mine */
  | false
  /** the answer: the exchange completes */
  | true
  /** the exchange moved on (a will step): new frame sent, retries and timer restarted */
  | 'progress'
  /** the peer repeated its last step: send the current frame again, no retry counted */
  | 'resend';

/** One request waiting for its answer, supervised by T_RETRY / N_RETRY (§4.13). */
interface Exchange {
  kind: RequestKind;
  frame: Buffer;
  /** what retransmissions send: the frame with DUP=1 where the message has DUP */
  retransmit: (() => Buffer) | undefined;
  broadcast: number | undefined;
  retries: number;
  maxRetries: number;
  delay: (retries: number) => number;
  timer: TimerHandle | undefined;
  started: number;
  msgId: number;
  accept(p: Packet, from: string | undefined): Verdict;
  settle(p: Packet | SimError): void;
  /** losing the gateway is what N_RETRY exhaustion means, except for search and connect */
  losesGateway: boolean;
}

type Lane = 'session' | 'publish' | 'register' | 'subscribe' | 'ping' | 'will';

const RESOLVED: Promise<void> = Promise.resolve();

const PUBLISH_KIND = { '-1': 'publish-1', '0': 'publish0', '1': 'publish1', '2': 'publish2' } as const satisfies Record<QoS, RequestKind>;

const toBuffer = (p: Buffer | string | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p);

const hasWildcard = (name: string): boolean => name.includes('+') || name.includes('#');

function shortNameBytes(name: string): number {
  const b = Buffer.from(name, 'utf8');
  if (b.length !== 2) throw new SimError(SimErrorCode.BAD_ARGUMENT, `short topic name "${name}" must be exactly 2 bytes (§4.5)`);
  return (b[0]! << 8) | b[1]!;
}

function rcError(what: string, rc: number): SimError {
  if (rc === ReturnCode.CONGESTION) {
    return new SimError(SimErrorCode.CONGESTION, `${what}: gateway congested (0x01), wait T_WAIT`, { returnCode: rc });
  }
  const why = rc === ReturnCode.INVALID_TOPIC_ID ? 'invalid topic id' : rc === ReturnCode.NOT_SUPPORTED ? 'not supported' : 'rejected';
  return new SimError(SimErrorCode.REJECTED, `${what}: ${why} (0x${rc.toString(16).padStart(2, '0')})`, { returnCode: rc });
}

export class SimNode extends Emitter<SimNodeEvents> {
  readonly link: Link;
  readonly clock: Clock;
  readonly retryMs: number;
  readonly maxRetries: number;
  #clientId: string | undefined;
  #state: NodeState = 'disconnected';
  #observer: NodeObserver | undefined;
  #random: () => number;
  #predefined: ReadonlyMap<number, string>;
  #discovery: Required<DiscoveryOptions> | undefined;
  #reconnect: Required<ReconnectOptions> | undefined;

  #exchanges: Exchange[] = [];
  #lanes: Partial<Record<Lane, Promise<void>>> = {};
  #queued: Partial<Record<Lane, number>> = {};
  #nextMsgId = 1;

  /** name -> normal id and back, per connection (§4.5: ids are per client) */
  #nameToId = new Map<string, number>();
  #idToName = new Map<number, string>();
  /** QoS 2 PUBLISHes delivered and waiting for PUBREL: never deliver twice (§4.7) */
  #qos2In = new Set<number>();
  /** subscriptions made, replayed after a reconnect whose session was clean */
  #subscriptions = new Map<string, { target: SubscriptionTopic; qos: SubQoS }>();

  #lastConnect: (ConnectOptions & { clientId: string }) | undefined;
  #keepAliveMs = 0;
  #lastSent = 0;
  #keepAliveTimer: TimerHandle | undefined;
  #reconnectTimer: TimerHandle | undefined;
  #reconnectDelay = 0;
  #gatewayKnown: boolean;
  #heardSearch = false;
  /** set while awake: collects what the wake delivers */
  #wakeInbox: SimMessage[] | undefined;

  constructor(options: SimNodeOptions) {
    super();
    this.link = options.link;
    this.clock = options.clock ?? systemClock;
    this.retryMs = options.retryMs ?? 10_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.#clientId = options.clientId;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    const pre = options.predefinedTopics ?? {};
    this.#predefined = pre instanceof Map ? pre : new Map(Object.entries(pre).map(([k, v]) => [Number(k), v]));
    const d = options.discover;
    this.#discovery = d ? { radius: 0, timeoutMs: 30_000, jitterMs: 0, repeatMs: 1000, ...(d === true ? {} : d) } : undefined;
    const r = options.reconnect ?? true;
    this.#reconnect = r ? { initialDelayMs: 1000, maxDelayMs: 30_000, ...(r === true ? {} : r) } : undefined;
    this.#gatewayKnown = this.#discovery === undefined;
    this.link.onFrame((frame, from) => this.#onFrame(frame, from));
  }

  get state(): NodeState {
    return this.#state;
  }

  get clientId(): string | undefined {
    return this.#lastConnect?.clientId ?? this.#clientId;
  }

  /** QoS 1/2 publishes queued or in flight: the §6.6 lane allows one on the wire at a time */
  get publishesPending(): number {
    return this.#queued.publish ?? 0;
  }

  /** the normal topic id the node holds for a name, if any */
  topicIdOf(name: string): number | undefined {
    return this.#nameToId.get(name);
  }

  topicNameOf(id: number): string | undefined {
    return this.#idToName.get(id);
  }

  // ---------------------------------------------------------------- discovery (§4.2)

  /**
   * Broadcasts SEARCHGW until a GWINFO (or an ADVERTISE) arrives, repeating at growing intervals,
   * then points the link at that gateway. Needs a link with `broadcast`.
   */
  search(options: DiscoveryOptions = {}): Promise<{ gwId: number; from: string | undefined }> {
    return this.#serial('session', () => this.#search({ ...(this.#discovery ?? { radius: 0, timeoutMs: 30_000, jitterMs: 0, repeatMs: 1000 }), ...options }));
  }

  async #search(o: Required<DiscoveryOptions>): Promise<{ gwId: number; from: string | undefined }> {
    this.#assertOpen();
    if (!this.link.broadcast) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'this link cannot broadcast SEARCHGW; give the gateway address instead');
    if (o.jitterMs > 0) {
      // §4.2: a random wait first; a SEARCHGW heard meanwhile is as good as our own.
      this.#heardSearch = false;
      await this.#delay(this.#random() * o.jitterMs);
    }
    let from: string | undefined;
    const deadline = this.clock.now() + o.timeoutMs;
    const reply = await this.#exchange<Packet>({
      kind: 'search',
      packet: { type: 'SEARCHGW', radius: o.radius },
      broadcast: o.radius,
      skipFirstSend: this.#heardSearch,
      // Exponential repeats (§4.2) until the search time is used up.
      delay: (n) => Math.max(1, Math.min(o.repeatMs * 2 ** n, deadline - this.clock.now())),
      maxRetries: Math.max(0, Math.ceil(Math.log2(o.timeoutMs / o.repeatMs + 1)) - 1),
      losesGateway: false,
      accept: (p, src) => {
        if (p.type !== 'GWINFO' && p.type !== 'ADVERTISE') return false;
        from = src;
        return true;
      },
    }).catch((err: unknown) => {
      if (err instanceof SimError && err.code === SimErrorCode.TIMEOUT) throw new SimError(SimErrorCode.NO_GATEWAY, `no GWINFO within ${o.timeoutMs} ms`);
      throw err;
    });
    const gwId = reply.type === 'GWINFO' || reply.type === 'ADVERTISE' ? reply.gwId : 0;
    if (from !== undefined) this.link.useGateway?.(from);
    this.#gatewayKnown = true;
    return { gwId, from };
  }

  // ---------------------------------------------------------------- connection (§4.3)

  /**
   * CONNECT, with the will dance when `will` is given (WILLTOPICREQ / WILLMSGREQ answered in
   * turn). From asleep or awake it returns the node to active (§4.12). Rejects with REJECTED or
   * CONGESTION on a CONNACK other than 0x00, TIMEOUT when the gateway does not answer.
   */
  connect(options: ConnectOptions = {}): Promise<void> {
    const clientId = options.clientId ?? this.#clientId;
    if (clientId === undefined || clientId === '') return Promise.reject(new SimError(SimErrorCode.BAD_ARGUMENT, 'connect needs a clientId'));
    const opts = { ...options, clientId };
    return this.#serial('session', () => this.#connect(opts, false));
  }

  async #connect(o: ConnectOptions & { clientId: string }, reconnecting: boolean): Promise<void> {
    this.#assertOpen();
    this.#cancelReconnect();
    if (!this.#gatewayKnown && this.#discovery) await this.#search(this.#discovery);
    const before = this.#state;
    const cleanSession = o.cleanSession ?? true;
    const keepAlive = o.keepAlive ?? 60;
    const will = o.will;
    this.#setState('connecting');
    let reply: Packet;
    try {
      reply = await this.#exchange<Packet>({
        kind: 'connect',
        packet: { type: 'CONNECT', will: will !== undefined, cleanSession, protocolId: PROTOCOL_ID, duration: keepAlive, clientId: o.clientId },
        losesGateway: false,
        accept: (p, _src, ex) => {
          switch (p.type) {
            case 'CONNACK':
              return true;
            case 'WILLTOPICREQ':
              // Without a will of our own the empty WILLTOPIC says "none" (§4.3).
              ex.frame = encode(
                will
                  ? { type: 'WILLTOPIC', qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic }
                  : { type: 'WILLTOPIC', qos: 0, retain: false, willTopic: null },
              );
              return 'progress';
            case 'WILLMSGREQ':
              ex.frame = encode({ type: 'WILLMSG', willMsg: toBuffer(will?.payload) });
              return 'progress';
            default:
              return false;
          }
        },
      });
    } catch (err) {
      if (this.#state === 'connecting') {
        if (reconnecting || before === 'lost') this.#setState('lost');
        else if (before === 'active' || before === 'asleep' || before === 'awake') {
          // A connected node whose gateway stopped answering has lost it (§4.13).
          this.#setState(before);
          if (err instanceof SimError) this.#gatewayLost(err);
        } else this.#setState('disconnected');
      }
      throw err;
    }
    const rc = reply.type === 'CONNACK' ? reply.returnCode : -1;
    if (rc !== ReturnCode.ACCEPTED) {
      this.#setState(before === 'connecting' || reconnecting ? 'disconnected' : before);
      throw rcError('CONNECT', rc);
    }
    this.#lastConnect = { ...o, cleanSession, keepAlive };
    // A clean session drops the gateway's ids and our half-finished QoS 2 receptions. With
    // Clean=0 the ids stay valid on both sides; the gateway re-REGISTERs those it wants (§4.3).
    if (cleanSession) {
      this.#nameToId.clear();
      this.#idToName.clear();
      this.#qos2In.clear();
    }
    this.#keepAliveMs = keepAlive * 1000;
    this.#reconnectDelay = 0;
    this.#setState('active');
    this.#armKeepAlive();
  }

  /** DISCONNECT and wait for the gateway's DISCONNECT (§4.12). No will is published. */
  disconnect(): Promise<void> {
    this.#cancelReconnect();
    return this.#serial('session', async () => {
      const s = this.#state;
      if (s === 'closed' || s === 'disconnected') return;
      if (s === 'lost') {
        this.#setState('disconnected');
        return;
      }
      this.#stopKeepAlive();
      try {
        await this.#exchange({
          kind: 'disconnect',
          packet: { type: 'DISCONNECT' },
          losesGateway: false,
          accept: (p) => p.type === 'DISCONNECT',
        });
      } catch {
        // Leaving anyway: a gateway that does not answer will time the session out.
      }
      this.#failAll(new SimError(SimErrorCode.CLOSED, 'node disconnected'));
      this.#setState('disconnected');
    });
  }

  // ---------------------------------------------------------------- sleep (§4.12)

  /**
   * DISCONNECT with a duration: the gateway buffers for the node until it wakes. Accepts the
   * gateway's DISCONNECT with or without the duration (§4.12: the spec leaves it open).
   */
  sleep(seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 0xffff) {
      return Promise.reject(new SimError(SimErrorCode.BAD_ARGUMENT, `sleep duration ${seconds} must be 1..65535 s (0 would be a plain DISCONNECT, §4.12)`));
    }
    return this.#serial('session', async () => {
      this.#requireState(['active', 'asleep'], 'sleep');
      this.#stopKeepAlive();
      await this.#exchange({
        kind: 'sleep',
        packet: { type: 'DISCONNECT', duration: seconds },
        accept: (p) => p.type === 'DISCONNECT',
      });
      this.#setState('asleep');
    });
  }

  /**
   * Wakes for the buffered messages: PINGREQ with the client id, every PUBLISH (and REGISTER)
   * the gateway flushes is taken and acknowledged, PINGRESP ends the wake and the node is asleep
   * again (§4.12). T_RETRY restarts at every message received. Resolves with the messages.
   */
  wake(): Promise<SimMessage[]> {
    return this.#serial('session', async () => {
      this.#requireState(['asleep'], 'wake');
      const clientId = this.clientId;
      const inbox: SimMessage[] = [];
      this.#wakeInbox = inbox;
      this.#setState('awake');
      try {
        await this.#exchange({
          kind: 'wake',
          packet: clientId ? { type: 'PINGREQ', clientId } : { type: 'PINGREQ' },
          accept: (p) => p.type === 'PINGRESP',
        });
      } finally {
        this.#wakeInbox = undefined;
      }
      if (this.#state === 'awake') this.#setState('asleep');
      return inbox;
    });
  }

  // ---------------------------------------------------------------- topics (§4.6, §4.9)

  /** REGISTER a topic name; resolves with its id (cached: a known name costs nothing). */
  register(name: string): Promise<number> {
    if (name === '' || hasWildcard(name)) return Promise.reject(new SimError(SimErrorCode.BAD_ARGUMENT, `cannot REGISTER "${name}": a topic name, not a filter (§7)`));
    return this.#serial('register', () => this.#register(name));
  }

  async #register(name: string): Promise<number> {
    const known = this.#nameToId.get(name);
    if (known !== undefined) return known;
    this.#requireState(['active'], 'register');
    const msgId = this.#allocMsgId();
    const reply = await this.#exchange({
      kind: 'register',
      msgId,
      packet: { type: 'REGISTER', topicId: 0, msgId, topicName: name },
      accept: (p) => p.type === 'REGACK' && p.msgId === msgId,
    });
    if (reply.type !== 'REGACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to REGISTER');
    if (reply.returnCode !== ReturnCode.ACCEPTED) throw rcError(`REGISTER ${name}`, reply.returnCode);
    this.#remember(name, reply.topicId);
    return reply.topicId;
  }

  subscribe(target: SubscribeTarget, qos: SubQoS = 0): Promise<SubscribeResult> {
    let t: SubscriptionTopic;
    try {
      t = this.#subscriptionTopic(target);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.#serial('subscribe', () => this.#subscribe(t, qos));
  }

  async #subscribe(t: SubscriptionTopic, qos: SubQoS): Promise<SubscribeResult> {
    this.#requireState(['active'], 'subscribe');
    const msgId = this.#allocMsgId();
    const packet: Packet = { type: 'SUBSCRIBE', dup: false, qos, msgId, ...t };
    const reply = await this.#exchange({
      kind: 'subscribe',
      msgId,
      packet,
      // §1.3: DUP is meaningful for SUBSCRIBE; the gateway must answer a repeat idempotently (§4.9).
      retransmit: () => encode({ ...packet, dup: true }),
      accept: (p) => p.type === 'SUBACK' && p.msgId === msgId,
    });
    if (reply.type !== 'SUBACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to SUBSCRIBE');
    if (reply.returnCode !== ReturnCode.ACCEPTED) throw rcError(`SUBSCRIBE ${describeTopic(t)}`, reply.returnCode);
    // §4.9: a wildcard-free name gets the id the gateway will publish with.
    if (t.topicIdType === 'normal' && !hasWildcard(t.topicName) && reply.topicId !== 0) this.#remember(t.topicName, reply.topicId);
    this.#subscriptions.set(describeTopic(t), { target: t, qos });
    return { topicId: reply.topicId, grantedQos: reply.qos };
  }

  unsubscribe(target: SubscribeTarget): Promise<void> {
    let t: SubscriptionTopic;
    try {
      t = this.#subscriptionTopic(target);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.#serial('subscribe', async () => {
      this.#requireState(['active'], 'unsubscribe');
      const msgId = this.#allocMsgId();
      await this.#exchange({
        kind: 'unsubscribe',
        msgId,
        packet: { type: 'UNSUBSCRIBE', msgId, ...t },
        accept: (p) => p.type === 'UNSUBACK' && p.msgId === msgId,
      });
      this.#subscriptions.delete(describeTopic(t));
    });
  }

  #subscriptionTopic(target: SubscribeTarget): SubscriptionTopic {
    if (typeof target === 'string') return { topicIdType: 'normal', topicName: target };
    if ('topic' in target) return { topicIdType: 'normal', topicName: target.topic };
    if ('shortName' in target) {
      shortNameBytes(target.shortName);
      return { topicIdType: 'short', topicName: target.shortName };
    }
    return { topicIdType: 'predefined', topicId: target.predefinedId };
  }

  // ---------------------------------------------------------------- publish (§4.7, §4.8)

  /**
   * PUBLISH at QoS -1, 0, 1 or 2. QoS -1 needs no connection and a predefined id or short name
   * (§4.8). QoS 1 and 2 wait for PUBACK / PUBCOMP, retransmitting with DUP=1 (§4.13), one at a
   * time (§4.7 concurrency); more calls queue. A name is registered first when needed; an
   * "invalid topic id" PUBACK for it drops the id and registers again once.
   */
  async publish(options: PublishOptions): Promise<PublishResult> {
    const qos = options.qos ?? 0;
    const track = { sent: false };
    try {
      return await this.#publish(options, qos, track);
    } catch (err) {
      if (!track.sent) this.#observer?.refused(PUBLISH_KIND[qos], err instanceof SimError ? err.code : 'ERROR');
      throw err;
    }
  }

  async #publish(options: PublishOptions, qos: QoS, track: { sent: boolean }): Promise<PublishResult> {
    const payload = toBuffer(options.payload);
    const retain = options.retain ?? false;
    if ('topic' in options) {
      if (qos === -1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'QoS -1 needs a predefined id or a short name (§4.8)');
      const name = options.topic;
      for (let attempt = 0; ; attempt++) {
        const topicId = this.#nameToId.get(name) ?? (await this.register(name));
        try {
          return await this.#publishOn({ topicIdType: 'normal', topicId }, payload, qos, retain, track);
        } catch (err) {
          // §4.7: an invalid-topic PUBACK means the gateway forgot the id: register again.
          if (attempt > 0 || !(err instanceof SimError) || err.returnCode !== ReturnCode.INVALID_TOPIC_ID) throw err;
          this.#forget(name, topicId);
        }
      }
    }
    let topic: PublishTopic;
    if ('topicId' in options) {
      if (qos === -1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'QoS -1 needs a predefined id or a short name (§4.8)');
      topic = { topicIdType: 'normal', topicId: options.topicId };
    } else if ('shortName' in options) {
      shortNameBytes(options.shortName);
      topic = { topicIdType: 'short', topicName: options.shortName };
    } else {
      topic = { topicIdType: 'predefined', topicId: options.predefinedId };
    }
    return this.#publishOn(topic, payload, qos, retain, track);
  }

  #publishOn(topic: PublishTopic, payload: Buffer, qos: QoS, retain: boolean, track: { sent: boolean }): Promise<PublishResult> {
    if (qos === -1 || qos === 0) {
      // QoS -1 goes out in any state, even unconnected (§4.8); QoS 0 needs a connection.
      if (qos === 0) this.#requireState(['active'], 'publish');
      else this.#assertOpen();
      const p = { type: 'PUBLISH', dup: false, qos, retain, msgId: 0, payload, ...topic } as PublishPacket;
      this.#sendFrame(encode(p));
      track.sent = true;
      this.#observer?.sent(PUBLISH_KIND[qos]);
      return Promise.resolve({ msgId: 0, latencyMs: 0, retransmissions: 0 });
    }
    return this.#serial('publish', () => this.#publishAcked(topic, payload, qos, retain, track));
  }

  async #publishAcked(topic: PublishTopic, payload: Buffer, qos: 1 | 2, retain: boolean, track: { sent: boolean }): Promise<PublishResult> {
    this.#requireState(['active'], 'publish');
    const kind = qos === 1 ? 'publish1' : 'publish2';
    const msgId = this.#allocMsgId();
    const packet = { type: 'PUBLISH', dup: false, qos, retain, msgId, payload, ...topic } as PublishPacket;
    const started = this.clock.now();
    let retransmissions = 0;
    track.sent = true;
    this.#observer?.sent(kind);
    try {
      const first = await this.#exchange({
        kind,
        msgId,
        packet,
        report: false,
        retransmit: () => {
          retransmissions++;
          return encode({ ...packet, dup: true });
        },
        // An error PUBACK answers a QoS 2 PUBLISH too (§4.7).
        accept: (p) => (p.type === 'PUBACK' || (qos === 2 && p.type === 'PUBREC')) && p.msgId === msgId,
      });
      if (first.type === 'PUBACK' && first.returnCode !== ReturnCode.ACCEPTED) throw rcError('PUBLISH', first.returnCode);
      if (first.type === 'PUBREC') {
        // QoS 2, second half: PUBREL until PUBCOMP; a repeated PUBREC means our PUBREL was lost.
        await this.#exchange({
          kind,
          msgId,
          packet: { type: 'PUBREL', msgId },
          report: false,
          retransmit: () => {
            retransmissions++;
            return encode({ type: 'PUBREL', msgId });
          },
          accept: (p) => ((p.type === 'PUBCOMP' || p.type === 'PUBREC') && p.msgId === msgId ? (p.type === 'PUBCOMP' ? true : 'resend') : false),
        });
      }
    } catch (err) {
      this.#observer?.failed(kind, err instanceof SimError ? err.code : 'ERROR');
      throw err;
    }
    const latencyMs = this.clock.now() - started;
    this.#observer?.done(kind, latencyMs);
    return { msgId, latencyMs, retransmissions };
  }

  // ---------------------------------------------------------------- will update (§4.4)

  /** WILLTOPICUPD (and WILLMSGUPD when a payload is given); `null` deletes the will. */
  updateWill(will: Will | null): Promise<void> {
    return this.#serial('will', async () => {
      this.#requireState(['active'], 'updateWill');
      const topic = await this.#exchange({
        kind: 'willupdate',
        packet: will
          ? { type: 'WILLTOPICUPD', qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic }
          : { type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: null },
        accept: (p) => p.type === 'WILLTOPICRESP',
      });
      if (topic.type === 'WILLTOPICRESP' && topic.returnCode !== ReturnCode.ACCEPTED) throw rcError('WILLTOPICUPD', topic.returnCode);
      if (!will) return;
      const msg = await this.#exchange({
        kind: 'willupdate',
        packet: { type: 'WILLMSGUPD', willMsg: toBuffer(will.payload) },
        accept: (p) => p.type === 'WILLMSGRESP',
      });
      if (msg.type === 'WILLMSGRESP' && msg.returnCode !== ReturnCode.ACCEPTED) throw rcError('WILLMSGUPD', msg.returnCode);
    });
  }

  // ---------------------------------------------------------------- keep-alive (§4.11)

  /** PINGREQ now; resolves with the round trip in ms. */
  ping(): Promise<number> {
    return this.#serial('ping', async () => {
      this.#requireState(['active'], 'ping');
      const started = this.clock.now();
      await this.#exchange({ kind: 'ping', packet: { type: 'PINGREQ' }, accept: (p) => p.type === 'PINGRESP' });
      return this.clock.now() - started;
    });
  }

  /**
   * One timer per node, re-armed lazily: a send does not touch it, the timer compares with the
   * time of the last send when it fires (a busy node never pings, an idle one pings once per KA).
   */
  #armKeepAlive(): void {
    this.#stopKeepAlive();
    if (this.#keepAliveMs <= 0 || this.#state !== 'active') return;
    const due = this.#lastSent + this.#keepAliveMs - this.clock.now();
    this.#keepAliveTimer = this.clock.setTimeout(() => this.#keepAliveFired(), Math.max(0, due));
  }

  #keepAliveFired(): void {
    this.#keepAliveTimer = undefined;
    if (this.#state !== 'active') return;
    if (this.clock.now() - this.#lastSent >= this.#keepAliveMs && (this.#queued.ping ?? 0) === 0) {
      // A failed ping has already declared the gateway lost; nothing more to do here.
      this.ping().then(
        () => this.#armKeepAlive(),
        () => {},
      );
      return;
    }
    this.#armKeepAlive();
  }

  #stopKeepAlive(): void {
    this.#keepAliveTimer?.cancel();
    this.#keepAliveTimer = undefined;
  }

  // ---------------------------------------------------------------- lost gateway, reconnect

  #gatewayLost(err: SimError, except?: Exchange): void {
    const s = this.#state;
    if (s === 'closed' || s === 'disconnected' || s === 'lost') return;
    this.#stopKeepAlive();
    this.#setState('lost');
    this.#failAll(new SimError(SimErrorCode.GATEWAY_LOST, `gateway lost: ${err.message}`, { cause: err }), except);
    this.emit('lost', err);
    // §4.11: after N_RETRY failures look for a gateway again before reconnecting.
    if (this.#discovery) this.#gatewayKnown = false;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const r = this.#reconnect;
    if (!r || !this.#lastConnect || this.#state !== 'lost') return;
    const base = this.#reconnectDelay === 0 ? r.initialDelayMs : Math.min(this.#reconnectDelay * 2, r.maxDelayMs);
    this.#reconnectDelay = base;
    // Jitter spreads a fleet that lost the same gateway over the interval.
    const wait = base * (0.5 + this.#random() / 2);
    this.#reconnectTimer = this.clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#serial('session', () => this.#reconnectNow()).catch(() => this.#scheduleReconnect());
    }, wait);
  }

  async #reconnectNow(): Promise<void> {
    const last = this.#lastConnect;
    if (this.#state !== 'lost' || !last) return;
    await this.#connect(last, true);
    // A clean session lost every subscription at the gateway: make them again (§4.3).
    if (last.cleanSession !== false) {
      for (const { target, qos } of [...this.#subscriptions.values()]) {
        await this.#serial('subscribe', () => this.#subscribe(target, qos)).catch(() => {});
      }
    }
    this.emit('reconnected');
  }

  #cancelReconnect(): void {
    this.#reconnectTimer?.cancel();
    this.#reconnectTimer = undefined;
  }

  /** Stops everything and closes the link; pending requests fail with CLOSED. No DISCONNECT is sent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#stopKeepAlive();
    this.#cancelReconnect();
    this.#failAll(new SimError(SimErrorCode.CLOSED, 'node closed'));
    this.#setState('closed');
    await this.link.close();
  }

  /** Sends raw bytes as they are: for misbehaving-node profiles and robustness tests. */
  sendRaw(frame: Buffer): void {
    this.#sendFrame(frame);
  }

  // ---------------------------------------------------------------- incoming

  #onFrame(frame: Buffer, from: string | undefined): void {
    if (this.#state === 'closed') return;
    const p = decode(frame);
    if (p instanceof DecodeError) {
      this.#observer?.unexpected(p);
      return;
    }
    // §4.12: while awake, T_RETRY restarts at every message received.
    if (this.#state === 'awake') for (const ex of this.#exchanges) if (ex.kind === 'wake') this.#armRetry(ex);
    for (const ex of this.#exchanges) {
      const v = ex.accept(p, from);
      if (v === false) continue;
      if (v === true) {
        this.#finish(ex);
        ex.settle(p);
        if (ex.kind === 'search') this.emit('gateway', { gwId: p.type === 'GWINFO' || p.type === 'ADVERTISE' ? p.gwId : 0, from });
      } else {
        if (v === 'progress') ex.retries = 0;
        this.#sendFrame(ex.frame, ex.broadcast);
        this.#armRetry(ex);
      }
      return;
    }
    this.#incoming(p, from);
  }

  /** Packets no request was waiting for: the gateway's own messages. */
  #incoming(p: Packet, from: string | undefined): void {
    switch (p.type) {
      case 'PUBLISH':
        this.#onPublish(p);
        return;
      case 'PUBREL':
        // §7: PUBREL for an unknown MsgId still gets PUBCOMP.
        this.#qos2In.delete(p.msgId);
        this.#send({ type: 'PUBCOMP', msgId: p.msgId });
        return;
      case 'REGISTER':
        // §4.6: the gateway names an id it is about to publish with; always accepted.
        this.#remember(p.topicName, p.topicId);
        this.#send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED });
        this.emit('register', { topicId: p.topicId, topicName: p.topicName });
        return;
      case 'PINGREQ':
        // §4.11: the gateway may ping the client.
        this.#send({ type: 'PINGRESP' });
        return;
      case 'DISCONNECT':
        // §4.12 item 8: an unsolicited DISCONNECT; the client should CONNECT again.
        if (this.#state === 'active' || this.#state === 'asleep' || this.#state === 'awake') {
          this.#gatewayLost(new SimError(SimErrorCode.GATEWAY_LOST, 'the gateway sent DISCONNECT'));
          return;
        }
        break;
      case 'GWINFO':
      case 'ADVERTISE':
        this.emit('gateway', { gwId: p.gwId, from });
        return;
      case 'SEARCHGW':
        // §4.2: another client's search, as good as our own if ours is still waiting.
        this.#heardSearch = true;
        return;
      default:
        break;
    }
    this.#observer?.unexpected(p);
  }

  #onPublish(p: PublishPacket): void {
    let topic: string | undefined;
    let topicId = 0;
    switch (p.topicIdType) {
      case 'normal':
        topicId = p.topicId;
        topic = this.#idToName.get(p.topicId);
        if (topic === undefined) {
          // §4.10: the client answers PUBACK 0x02 for an id it does not know; the gateway
          // must then REGISTER it again.
          if (p.qos === 1 || p.qos === 2) this.#send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID });
          this.#observer?.unexpected(p);
          return;
        }
        break;
      case 'predefined':
        topicId = p.topicId;
        topic = this.#predefined.get(p.topicId);
        break;
      case 'short':
      case 'inline':
        topic = p.topicName;
        break;
    }
    const msg: SimMessage = { topic, topicIdType: p.topicIdType, topicId, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, msgId: p.msgId };
    if (p.qos === 2) {
      // §4.7 mirrored (§4.10): a repeat before PUBREL gets PUBREC again, never a second delivery.
      const repeat = this.#qos2In.has(p.msgId);
      this.#qos2In.add(p.msgId);
      this.#send({ type: 'PUBREC', msgId: p.msgId });
      if (repeat) {
        this.#observer?.duplicate(msg);
        return;
      }
    } else if (p.qos === 1) {
      const wireId = p.topicIdType === 'short' ? shortNameBytes(p.topicName) : topicId;
      this.#send({ type: 'PUBACK', topicId: wireId, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED });
    }
    this.#wakeInbox?.push(msg);
    this.#observer?.received(msg);
    this.emit('message', msg);
  }

  // ---------------------------------------------------------------- exchanges (§4.13)

  /**
   * Sends `packet` and waits for the packet `accept` takes, retransmitting every T_RETRY; after
   * N_RETRY retransmissions it fails with TIMEOUT and, for requests of a connected node, the
   * gateway is declared lost (§4.13).
   */
  #exchange<T extends Packet = Packet>(o: {
    kind: RequestKind;
    packet: Packet;
    msgId?: number;
    retransmit?: () => Buffer;
    accept: (p: Packet, from: string | undefined, ex: Exchange) => Verdict;
    broadcast?: number;
    delay?: (retries: number) => number;
    maxRetries?: number;
    losesGateway?: boolean;
    skipFirstSend?: boolean;
    /** report sent, done and failed to the observer; default true (publishes report themselves) */
    report?: boolean;
  }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const report = o.report ?? true;
      const ex: Exchange = {
        kind: o.kind,
        frame: encode(o.packet),
        retransmit: o.retransmit,
        broadcast: o.broadcast,
        retries: 0,
        maxRetries: o.maxRetries ?? this.maxRetries,
        delay: o.delay ?? (() => this.retryMs),
        timer: undefined,
        started: this.clock.now(),
        msgId: o.msgId ?? 0,
        losesGateway: o.losesGateway ?? true,
        accept: (p, from) => o.accept(p, from, ex),
        settle: (r) => {
          if (r instanceof SimError) {
            if (report) this.#observer?.failed(o.kind, r.code);
            reject(r);
          } else {
            if (report) this.#observer?.done(o.kind, this.clock.now() - ex.started);
            resolve(r as T);
          }
        },
      };
      this.#exchanges.push(ex);
      if (report) this.#observer?.sent(o.kind);
      if (!o.skipFirstSend) this.#sendFrame(ex.frame, ex.broadcast);
      this.#armRetry(ex);
    });
  }

  #armRetry(ex: Exchange): void {
    ex.timer?.cancel();
    ex.timer = this.clock.setTimeout(() => this.#retryFired(ex), ex.delay(ex.retries));
  }

  #retryFired(ex: Exchange): void {
    ex.timer = undefined;
    if (!this.#exchanges.includes(ex)) return;
    if (ex.retries >= ex.maxRetries) {
      this.#finish(ex);
      const err = new SimError(SimErrorCode.TIMEOUT, `no answer to ${ex.kind} after ${ex.retries} retransmissions`);
      ex.settle(err);
      if (ex.losesGateway) this.#gatewayLost(err, ex);
      return;
    }
    ex.retries++;
    this.#observer?.retransmitted(ex.kind);
    if (ex.retransmit) ex.frame = ex.retransmit();
    this.#sendFrame(ex.frame, ex.broadcast);
    this.#armRetry(ex);
  }

  #finish(ex: Exchange): void {
    ex.timer?.cancel();
    ex.timer = undefined;
    const i = this.#exchanges.indexOf(ex);
    if (i >= 0) this.#exchanges.splice(i, 1);
  }

  #failAll(err: SimError, except?: Exchange): void {
    for (const ex of [...this.#exchanges]) {
      if (ex === except) continue;
      this.#finish(ex);
      ex.settle(err);
    }
  }

  /** Runs `fn` after everything queued on `lane` (§6.6: one request of each kind at a time). */
  #serial<T>(lane: Lane, fn: () => Promise<T>): Promise<T> {
    const prev = this.#lanes[lane] ?? RESOLVED;
    this.#queued[lane] = (this.#queued[lane] ?? 0) + 1;
    const run = prev.then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#lanes[lane] = tail;
    void tail.then(() => {
      const n = (this.#queued[lane] ?? 1) - 1;
      this.#queued[lane] = n;
      // Drop the settled chain so an idle node holds no promises.
      if (n === 0 && this.#lanes[lane] === tail) delete this.#lanes[lane];
    });
    return run;
  }

  // ---------------------------------------------------------------- helpers

  #send(p: Packet): void {
    this.#sendFrame(encode(p));
  }

  #sendFrame(frame: Buffer, broadcast?: number): void {
    this.#lastSent = this.clock.now();
    let r: void | Promise<void>;
    try {
      r = broadcast !== undefined && this.link.broadcast ? this.link.broadcast(frame, broadcast) : this.link.send(frame);
    } catch {
      // A frame the medium refused is a lost frame: T_RETRY covers it.
      return;
    }
    if (r) r.catch(ignore);
  }

  /** 1..65535, never 0 (§7), skipping ids still in flight. */
  #allocMsgId(): number {
    for (;;) {
      const id = this.#nextMsgId;
      this.#nextMsgId = id === 0xffff ? 1 : id + 1;
      if (!this.#exchanges.some((e) => e.msgId === id)) return id;
    }
  }

  #remember(name: string, id: number): void {
    const old = this.#idToName.get(id);
    if (old !== undefined && old !== name) this.#nameToId.delete(old);
    this.#nameToId.set(name, id);
    this.#idToName.set(id, name);
  }

  #forget(name: string, id: number): void {
    if (this.#nameToId.get(name) === id) this.#nameToId.delete(name);
    if (this.#idToName.get(id) === name) this.#idToName.delete(id);
  }

  #setState(next: NodeState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.emit('state', next, prev);
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new SimError(SimErrorCode.CLOSED, 'node closed');
  }

  #requireState(ok: NodeState[], what: string): void {
    this.#assertOpen();
    if (!ok.includes(this.#state)) throw new SimError(SimErrorCode.NOT_CONNECTED, `${what} needs state ${ok.join(' or ')}, node is ${this.#state}`);
  }

  #delay(ms: number): Promise<void> {
    return new Promise((res) => this.clock.setTimeout(res, ms));
  }
}

const ignore = (): void => {};

function describeTopic(t: SubscriptionTopic): string {
  switch (t.topicIdType) {
    case 'normal':
      return t.topicName;
    case 'short':
      return `short:${t.topicName}`;
    case 'predefined':
      return `predefined:${t.topicId}`;
  }
}
