/**
 * One MQTT-SN client as the gateway sees it (MQTT-SN.md §4.12, §5). The state is a single union
 * field, never a set of booleans; everything else is the data the states need.
 */
import type { TimerHandle } from '../clock.js';
import type { Packet, PublishTopic, SnVersion, SubQoS } from '../codec/index.js';
import type { TopicBudget, TopicRegistry } from '../topics/registry.js';
import { DeliveryQueue, type ByteBudget } from './delivery-queue.js';
import { LazySet } from './lazy.js';
import { CountedMap } from './topic-budget.js';
import type { Phase } from './machine.js';
import type { Delivery, Link } from './types.js';
import type { Will } from '../message.js';
import type { Credentials } from '../uplink/port.js';
import type { Waitress } from '../waitress.js';

/**
 * - `await-willtopic` / `await-willmsg`: CONNECT with Will=1 accepted, the will dance is running
 * - `active`: connected, supervised by keep-alive
 * - `asleep`: DISCONNECT with a duration; messages are buffered
 * - `awake`: PINGREQ with client id while asleep; buffered messages are flushing, PINGRESP ends it
 * - `disconnected`: DISCONNECT without duration; no will
 * - `lost`: keep-alive, sleep timer or N_RETRY ran out; the will was published
 */
export type SessionState = Phase['state'];


/** How the client subscribed; decides the topic form of what the gateway sends back. */
export type SubscriptionKind = 'name' | 'wildcard' | 'short' | 'predefined';

export interface Subscription {
  qos: SubQoS;
  kind: SubscriptionKind;
  /** 2.0 No Local [3.7.2.1]: the client's own messages are not delivered to it by this subscription */
  noLocal?: boolean;
  /** 2.0 Retain as Published [3.7.2.3]: live messages keep their publisher's retain flag */
  retainAsPublished?: boolean;
}

/** 2.0 subscription options [3.7.2]; 1.2 has none (all false, retained messages sent on every SUBSCRIBE). */
export interface SubscribeOptions {
  noLocal: boolean;
  retainAsPublished: boolean;
  /** 0 send retained messages, 1 only for a new subscription, 2 never */
  retainHandling: 0 | 1 | 2;
}

/** The gateway's buffer budget: its bytes, and the sessions whose queues hold any (for fair shares, outbox.ts). */
export interface BufferBudget extends ByteBudget {
  readonly holders?: Set<Session>;
}

/** The one request the gateway has outstanding toward a client (§4.7: one at a time). */
export type InFlight =
  | { kind: 'register'; msgId: number; topicId: number; delivery: Delivery; timer: TimerHandle }
  | {
      kind: 'publish';
      msgId: number;
      /** the topic form chosen when it was first sent, reused by retransmissions */
      topic: PublishTopic;
      delivery: Delivery;
      /** QoS 1 waits for PUBACK; QoS 2 for PUBREC, then (after PUBREL) PUBCOMP */
      stage: 'puback' | 'pubrec' | 'pubcomp';
      timer: TimerHandle;
    };
// `timer`: T_RETRY of the request, which the session's waitress runs (outbox.ts); cancelling it
// stops the retransmissions and the time-out, and an answer still settles the request.

/** An answer of the client to the gateway's REGISTER, PUBLISH or PUBREL, as the waitress matches it. */
export interface OutboxAnswer {
  type: 'REGACK' | 'PUBACK' | 'PUBREC' | 'PUBCOMP';
  msgId: number;
}

/** What a CONNECT asked for, kept until the will dance ends in CONNACK. */
export interface PendingConnect {
  cleanSession: boolean;
  keepAliveSec: number;
  willTopic?: { topic: string; qos: SubQoS; retain: boolean };
  timer: TimerHandle;
}

export class Session {
  /** the state, with the link it is reached at; changed only by `transition()` (shell.ts) */
  phase: Phase = { state: 'disconnected', link: undefined };
  /** the MQTT-SN version of the CONNECT that made the session what it is (a CONNECT of the other version starts it clean) */
  version: SnVersion = '1.2';
  /** the session ends with its connection (1.2 clean session; 2.0 Session Expiry Interval 0) */
  cleanSession = true;
  /**
   * 2.0 Session Expiry Interval in seconds [3.1.9]: how long an absent session is kept, 0xFFFFFFFF
   * for ever. Undefined for 1.2, whose kept sessions last `limits.sessionExpirySec`.
   */
  sessionExpirySec: number | undefined;
  /** whether the last CONNECT found this session kept (2.0 CONNACK Session Present [3.2.2.1]) */
  sessionPresent = false;
  keepAliveSec = 0;
  /** sleep duration in seconds while asleep or awake */
  sleepSec = 0;
  /** 2.0 Default Awake Messages [3.1.8]: at most this many messages per wake; undefined (1.2, or 0 in CONNECT): all */
  awakeLimit: number | undefined;
  /** messages sent since the client last woke up */
  awakeSent = 0;
  /** 2.0 Maximum Packet Size [3.1.7]: the largest packet the client takes; 0 (and 1.2): no limit but the medium's */
  maxPacketSize = 0;
  /** 2.0 Net Addr [3.1.2.6]: the client may move to another address by Connection Encapsulation */
  allowAddressChange = false;
  lastSeen = 0;
  will: Will | undefined;
  /**
   * 2.0 MQTT-BASIC user name and password of the last CONNECT [4.11], for the client's own upstream
   * connection (transparent mode). Kept in memory only: a password is not written to the store.
   */
  credentials: Credentials | undefined;
  #pendingConnect: PendingConnect | undefined;
  /** filter (or short name, or the predefined topic's name) -> subscription; counted in `limits.maxTopicBytesTotal` */
  readonly subscriptions: CountedMap<Subscription>;
  /** normal topic ids the client knows in this connection (§4.3: re-REGISTER after a reconnect) */
  readonly confirmedIds = new LazySet<number>();
  /** concrete topics whose REGISTER the client refused: dropped until it subscribes again (§4.6) */
  readonly refusedTopics = new LazySet<string>();
  /** messages waiting for delivery: the sleep buffer while asleep, the send queue while active */
  readonly queue: DeliveryQueue;
  inFlight: InFlight | undefined;
  /** the waitress of the requests toward the client (outbox.ts), made at the first one */
  requests: Waitress<Packet, OutboxAnswer, InFlight> | undefined;
  /**
   * QoS 1/2 PUBLISH of this client whose PUBACK / PUBREC is not sent yet. Nothing is sent to the
   * client meanwhile, so that a client reading its PUBACK first (Paho's `pub0sub1`, any blocking
   * read) does not get its own message before it.
   */
  acksOwed = 0;
  /** QoS 2 message ids received and published, waiting for PUBREL (exactly once, §4.7) */
  readonly qos2Received = new LazySet<number>();
  /** supervision timer: keep-alive while active, sleep duration while asleep */
  supervision: TimerHandle | undefined;
  #nextMsgId = 1;
  /** scratch of the broker fan-out: the dispatch this session was last matched in */
  matchSeq = -1;
  matchQos: SubQoS = 0;
  matchRetain = false;
  /** it has had a No Local subscription: its publishes are remembered for the fan-out (Gateway.publish) */
  noLocal = false;
  /**
   * Restored behind front ends in transparent mode, its upstream connection not opened yet: it is
   * opened when the device speaks to this instance again (restore.ts).
   */
  uplinkDormant = false;
  /** transparent mode: the CONNECT whose upstream connection is being opened; an older answer is stale */
  connectAttempt = 0;

  constructor(
    readonly clientId: string,
    readonly registry: TopicRegistry,
    /** where the queue's bytes are added up with every other session's */
    budget: BufferBudget = { bytes: 0 },
    /** where sessions with a will exchange under way are counted (`limits.maxPendingConnects`) */
    readonly pending: { count: number } = { count: 0 },
    /** where subscription filters are added up with every other session's (the registry shares it) */
    topics: TopicBudget = { bytes: 0, limit: Infinity },
  ) {
    const holders = budget.holders;
    this.queue = new DeliveryQueue(budget, holders === undefined ? undefined : (holding) => (holding ? holders.add(this) : holders.delete(this)));
    this.subscriptions = new CountedMap<Subscription>(topics);
  }

  /** What a CONNECT with a will asked for, while the will exchange runs; counted in `pending`. */
  get pendingConnect(): PendingConnect | undefined {
    return this.#pendingConnect;
  }

  set pendingConnect(p: PendingConnect | undefined) {
    if ((p === undefined) !== (this.#pendingConnect === undefined)) this.pending.count += p === undefined ? -1 : 1;
    this.#pendingConnect = p;
  }

  /** 1..65535, never 0 (§5.3.4); skips the id in flight so a wrap cannot collide with it. */
  nextMsgId(): number {
    let id = this.#nextMsgId;
    if (this.inFlight !== undefined && this.inFlight.msgId === id) id = id === 0xffff ? 1 : id + 1;
    this.#nextMsgId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  get state(): SessionState {
    return this.phase.state;
  }

  get link(): Link | undefined {
    return this.phase.link;
  }

  /** Connected in the sense of "has a live link the gateway may send on". */
  get reachable(): boolean {
    return this.state === 'active' || this.state === 'awake';
  }
}
