/**
 * A simulated MQTT-SN client, v1.2 or 2.0 (OASIS CSD01): the device side of the radio, built on
 * the project's codecs and talking through a {@link Link}. The engine is one for both versions;
 * what a version puts on the wire and how it answers lives in its wire module (wire/v12.ts,
 * wire/v2.ts), chosen by the `protocol` option. It follows the client's rules of MQTT-SN.md (discovery
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
 *
 * The node owns this state machine and its verbs; the parts it drives: requests.ts (every
 * request, its answer and T_RETRY / N_RETRY, on src/waitress.ts), lanes.ts (one request per
 * kind), topic-table.ts, topic-requests.ts, publish.ts, will.ts, inbound.ts (the gateway's own
 * messages), discovery.ts, keep-alive.ts, wire/ (the versions). node-types.ts holds the public
 * types, re-exported here.
 */
import { systemClock, type Clock } from '../src/clock.js';
import { DecodeError, type SubQoS, type SubscriptionTopic } from '../src/codec/index.js';
import { DISCOVERY_DEFAULTS, Discovery, type FoundGateway } from './discovery.js';
import { Emitter } from './emitter.js';
import { NO_CONNACK, rcError, SimError, SimErrorCode } from './errors.js';
import { InboundHandler } from './inbound.js';
import { KeepAlive } from './keep-alive.js';
import { Lanes } from './lanes.js';
import { sendOn, type Link } from './link.js';
import type {
  ConnectOptions,
  DisconnectOptions,
  DiscoveryOptions,
  NodeObserver,
  NodeState,
  PublishOptions,
  PublishResult,
  SimMessage,
  SimNodeEvents,
  SimNodeOptions,
  SubscribeResult,
  SubscribeTarget,
  Will,
} from './node-types.js';
import { publish } from './publish.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { resolveNodeOptions } from './node-options.js';
import { Requests, type Incoming } from './requests.js';
import { describeTopic, hasWildcard, TopicTable, withSubscriptionTopic } from './topic-table.js';
import { registerTopic, subscribeTopic, unsubscribeTopic } from './topic-requests.js';
import type { VerbHost } from './verb-host.js';
import { updateWill } from './will.js';
import { wireFor, type Intent, type ProtocolVersion, type Wire } from './wire/index.js';

export type * from './node-types.js';

export class SimNode extends Emitter<SimNodeEvents> {
  readonly link: Link;
  readonly clock: Clock;
  readonly retryMs: number;
  readonly maxRetries: number;
  readonly #wire: Wire;
  #clientId: string | undefined;
  #state: NodeState = 'disconnected';
  #observer: NodeObserver | undefined;
  #random: () => number;
  #discoveryOptions: Required<DiscoveryOptions> | undefined;
  #reconnect: ReconnectBackoff | undefined;

  #requests: Requests;
  #lanes = new Lanes();
  #topics = new TopicTable();
  #inbound: InboundHandler;
  #discovery: Discovery;
  /** what the request conversations (publish, topics, will) may use of the node */
  #verbs: VerbHost;
  /** subscriptions made, replayed after a reconnect whose session was clean */
  #subscriptions = new Map<string, { target: SubscriptionTopic; qos: SubQoS }>();

  #lastConnect: (ConnectOptions & { clientId: string }) | undefined;
  #keepAlive: KeepAlive;
  #lastSent = 0;
  #gatewayKnown: boolean;
  /** set while awake: collects what the wake delivers */
  #wakeInbox: SimMessage[] | undefined;

  constructor(options: SimNodeOptions) {
    super();
    this.link = options.link;
    this.#wire = wireFor(options.protocol ?? '1.2');
    this.clock = options.clock ?? systemClock;
    this.retryMs = options.retryMs ?? 10_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.#clientId = options.clientId;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    const { predefined, discovery, reconnect } = resolveNodeOptions(options);
    this.#discoveryOptions = discovery;
    this.#reconnect = reconnect && new ReconnectBackoff(reconnect, this.clock, this.#random);
    this.#gatewayKnown = this.#discoveryOptions === undefined;
    this.#requests = new Requests({
      wire: this.#wire,
      clock: this.clock,
      retryMs: this.retryMs,
      maxRetries: this.maxRetries,
      observer: this.#observer,
      sendFrame: (frame, broadcast) => this.#sendFrame(frame, broadcast),
      lost: (err) => this.#gatewayLost(err),
    });
    this.#discovery = new Discovery({ link: this.link, clock: this.clock, random: this.#random, requests: this.#requests });
    this.#inbound = new InboundHandler({
      topics: this.#topics,
      predefined,
      observer: this.#observer,
      connected: () => this.#state === 'active' || this.#state === 'asleep' || this.#state === 'awake',
      send: (p) => this.#send(p),
      deliver: (msg) => {
        this.#wakeInbox?.push(msg);
        this.#observer?.received(msg);
        this.emit('message', msg);
      },
      registered: (topicId, topicName) => this.emit('register', { topicId, topicName }),
      gateway: (gwId, from) => this.emit('gateway', { gwId, from }),
      lost: (err) => this.#gatewayLost(err),
      heardSearch: () => this.#discovery.heardSearch(),
      wakeup: () => this.emit('wakeup'),
    });
    this.#verbs = {
      clock: this.clock,
      observer: this.#observer,
      requests: this.#requests,
      lanes: this.#lanes,
      topics: this.#topics,
      wire: this.#wire,
      sendFrame: (frame) => this.#sendFrame(frame),
      requireState: (ok, what) => this.#requireState(ok, what),
      assertOpen: () => this.#assertOpen(),
      register: (name) => this.register(name),
    };
    this.#keepAlive = new KeepAlive({
      clock: this.clock,
      lastSent: () => this.#lastSent,
      active: () => this.#state === 'active',
      pinging: () => this.#lanes.queued('ping') > 0,
      ping: () => this.ping(),
    });
    this.link.onFrame((frame, from) => this.#onFrame(frame, from));
  }

  get state(): NodeState {
    return this.#state;
  }

  /** the MQTT-SN version this node speaks */
  get protocol(): ProtocolVersion {
    return this.#wire.version;
  }

  /** the node's version on the wire (stateless): bytes to bend for robustness tests (see `sendRaw`) */
  get wire(): Wire {
    return this.#wire;
  }

  get clientId(): string | undefined {
    return this.#lastConnect?.clientId ?? this.#clientId;
  }

  /** QoS 1/2 publishes queued or in flight: the §6.6 lane allows one on the wire at a time */
  get publishesPending(): number {
    return this.#lanes.queued('publish');
  }

  /** the normal topic id the node holds for a name, if any */
  topicIdOf(name: string): number | undefined {
    return this.#topics.idOf(name);
  }

  topicNameOf(id: number): string | undefined {
    return this.#topics.nameOf(id);
  }

  // ---------------------------------------------------------------- discovery (§4.2)

  /**
   * Broadcasts SEARCHGW until a GWINFO (or an ADVERTISE) arrives, repeating at growing intervals,
   * then points the link at that gateway. Needs a link with `broadcast`.
   */
  search(options: DiscoveryOptions = {}): Promise<FoundGateway> {
    return this.#lanes.serial('session', () => this.#search({ ...(this.#discoveryOptions ?? DISCOVERY_DEFAULTS), ...options }));
  }

  async #search(o: Required<DiscoveryOptions>): Promise<FoundGateway> {
    this.#assertOpen();
    const found = await this.#discovery.search(o);
    this.#gatewayKnown = true;
    return found;
  }

  // ---------------------------------------------------------------- connection (§4.3)

  /**
   * CONNECT, with the will as the version carries it (1.2: WILLTOPICREQ / WILLMSGREQ answered in
   * turn; 2.0: inside CONNECT). From asleep or awake it returns the node to active (§4.12).
   * Rejects with REJECTED or CONGESTION on a refusing CONNACK, TIMEOUT when the gateway does not
   * answer (2.0 never retransmits a CONNECT, MQTT-SN-4.4.2-1: it times out after one T_RETRY).
   */
  connect(options: ConnectOptions = {}): Promise<void> {
    const clientId = options.clientId ?? this.#clientId;
    if (clientId === undefined || clientId === '') return Promise.reject(new SimError(SimErrorCode.BAD_ARGUMENT, 'connect needs a clientId'));
    const opts = { ...options, clientId };
    return this.#lanes.serial('session', () => this.#connect(opts, false));
  }

  async #connect(o: ConnectOptions & { clientId: string }, reconnecting: boolean): Promise<void> {
    this.#assertOpen();
    this.#reconnect?.cancel();
    if (!this.#gatewayKnown && this.#discoveryOptions) await this.#search(this.#discoveryOptions);
    const before = this.#state;
    const cleanSession = o.cleanSession ?? true;
    const keepAlive = o.keepAlive ?? 60;
    // A 1.2 session without Clean lasts until a clean CONNECT; 2.0 says so with "never expires" [3.1.9].
    const sessionExpiry = o.sessionExpiry ?? (cleanSession ? undefined : 0xffffffff);
    this.#setState('connecting');
    let reply: Incoming['packet'];
    try {
      ({ packet: reply } = await this.#requests.exchange({
        kind: 'connect',
        packet: { type: 'CONNECT', clientId: o.clientId, cleanStart: cleanSession, keepAlive, will: o.will, sessionExpiry, auth: o.auth },
        losesGateway: false,
      }));
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
    const result = reply.type === 'CONNACK' ? reply.result : NO_CONNACK;
    if (result.meaning !== 'accepted') {
      this.#setState(before === 'connecting' || reconnecting ? 'disconnected' : before);
      throw rcError('CONNECT', result);
    }
    // 2.0 [3.2.11]: a gateway may name a node that connected without a client id.
    const clientId = reply.type === 'CONNACK' && reply.assignedClientId !== undefined ? reply.assignedClientId : o.clientId;
    this.#lastConnect = { ...o, clientId, cleanSession, keepAlive };
    // A clean session drops the gateway's ids and our half-finished QoS 2 receptions. With
    // Clean=0 the ids stay valid on both sides; the gateway re-REGISTERs those it wants (§4.3).
    if (cleanSession) {
      this.#topics.clear();
      this.#inbound.clearSession();
    }
    // 2.0 MQTT-SN-3.2.6-1: a Server Keep Alive replaces the node's.
    this.#keepAlive.periodMs = (reply.type === 'CONNACK' && reply.keepAlive !== undefined ? reply.keepAlive : keepAlive) * 1000;
    this.#reconnect?.reset();
    this.#setState('active');
    this.#keepAlive.arm();
  }

  /**
   * DISCONNECT; 1.2 waits for the gateway's DISCONNECT (§4.12), 2.0 leaves at once (a DISCONNECT
   * is never answered [3.13]). No will is published unless `withWill` (2.0 Reason Code 0x04).
   */
  disconnect(options: DisconnectOptions = {}): Promise<void> {
    const intent = { type: 'DISCONNECT', withWill: options.withWill ?? false } as const;
    try {
      this.#wire.encode(intent);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.#reconnect?.cancel();
    return this.#lanes.serial('session', async () => {
      const s = this.#state;
      if (s === 'closed' || s === 'disconnected') return;
      if (s === 'lost') {
        this.#setState('disconnected');
        return;
      }
      this.#keepAlive.stop();
      try {
        if (this.#requests.answered(intent)) await this.#requests.exchange({ kind: 'disconnect', packet: intent, losesGateway: false });
        else this.#sendFrame(this.#wire.encode(intent));
      } catch {
        // Leaving anyway: a gateway that does not answer will time the session out.
      }
      this.#requests.failAll(new SimError(SimErrorCode.CLOSED, 'node disconnected'));
      this.#setState('disconnected');
    });
  }

  // ---------------------------------------------------------------- sleep (§4.12)

  /**
   * 1.2: DISCONNECT with a duration, answered by DISCONNECT with or without it (§4.12: the spec
   * leaves it open). 2.0: SLEEPREQ answered by SLEEPRESP [3.15, 3.16]. The gateway then buffers
   * for the node until it wakes.
   */
  sleep(seconds: number): Promise<void> {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 0xffff) {
      return Promise.reject(new SimError(SimErrorCode.BAD_ARGUMENT, `sleep duration ${seconds} must be 1..65535 s (0 would be a plain DISCONNECT, §4.12)`));
    }
    return this.#lanes.serial('session', async () => {
      this.#requireState(['active', 'asleep'], 'sleep');
      this.#keepAlive.stop();
      const { packet: reply } = await this.#requests.exchange({ kind: 'sleep', packet: { type: 'SLEEP', duration: seconds } });
      if (reply.type === 'SLEEPRESP' && reply.result.meaning !== 'accepted') {
        this.#keepAlive.arm();
        throw rcError('SLEEPREQ', reply.result);
      }
      this.#setState('asleep');
    });
  }

  /**
   * Wakes for the buffered messages: PINGREQ (1.2: with the client id; 2.0: with a packet id, the
   * gateway knows the sleeper by its address [3.11]), every PUBLISH (and REGISTER) the gateway
   * flushes is taken and acknowledged, PINGRESP ends the wake and the node is asleep again (§4.12,
   * CSD01 [4.14.2]). T_RETRY restarts at every message received. Resolves with the messages.
   */
  wake(): Promise<SimMessage[]> {
    return this.#lanes.serial('session', async () => {
      this.#requireState(['asleep'], 'wake');
      const clientId = this.clientId;
      const inbox: SimMessage[] = [];
      this.#wakeInbox = inbox;
      this.#setState('awake');
      try {
        await this.#requests.exchange({ kind: 'wake', packet: { type: 'WAKE', clientId } });
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
    return this.#lanes.serial('register', () => registerTopic(this.#verbs, name));
  }

  subscribe(target: SubscribeTarget, qos: SubQoS = 0): Promise<SubscribeResult> {
    return withSubscriptionTopic(target, (t) => this.#lanes.serial('subscribe', () => this.#subscribe(t, qos)));
  }

  async #subscribe(t: SubscriptionTopic, qos: SubQoS): Promise<SubscribeResult> {
    const granted = await subscribeTopic(this.#verbs, t, qos);
    this.#subscriptions.set(describeTopic(t), { target: t, qos });
    return granted;
  }

  unsubscribe(target: SubscribeTarget): Promise<void> {
    return withSubscriptionTopic(target, (t) =>
      this.#lanes.serial('subscribe', async () => {
        await unsubscribeTopic(this.#verbs, t);
        this.#subscriptions.delete(describeTopic(t));
      }),
    );
  }

  // ---------------------------------------------------------------- publish (§4.7, §4.8)

  /**
   * PUBLISH at QoS -1, 0, 1 or 2. QoS -1 needs no connection and a predefined id or short name
   * (§4.8). QoS 1 and 2 wait for PUBACK / PUBCOMP, retransmitting with DUP=1 (§4.13), one at a
   * time (§4.7 concurrency); more calls queue. A name is registered first when needed; an
   * "invalid topic id" PUBACK for it drops the id and registers again once.
   */
  publish(options: PublishOptions): Promise<PublishResult> {
    return publish(this.#verbs, options);
  }

  // ---------------------------------------------------------------- will update (§4.4)

  /** WILLTOPICUPD (and WILLMSGUPD when a payload is given); `null` deletes the will. 1.2 only: 2.0 has no update. */
  updateWill(will: Will | null): Promise<void> {
    return this.#lanes.serial('will', () => updateWill(this.#verbs, will));
  }

  // ---------------------------------------------------------------- keep-alive (§4.11)

  /** PINGREQ now; resolves with the round trip in ms. */
  ping(): Promise<number> {
    return this.#lanes.serial('ping', async () => {
      this.#requireState(['active'], 'ping');
      const started = this.clock.now();
      await this.#requests.exchange({ kind: 'ping', packet: { type: 'PINGREQ' } });
      return this.clock.now() - started;
    });
  }

  // ---------------------------------------------------------------- lost gateway, reconnect

  #gatewayLost(err: SimError): void {
    const s = this.#state;
    if (s === 'closed' || s === 'disconnected' || s === 'lost') return;
    this.#keepAlive.stop();
    this.#setState('lost');
    this.#requests.failAll(new SimError(SimErrorCode.GATEWAY_LOST, `gateway lost: ${err.message}`, { cause: err }));
    this.emit('lost', err);
    // §4.11: after N_RETRY failures look for a gateway again before reconnecting.
    if (this.#discoveryOptions) this.#gatewayKnown = false;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (!this.#reconnect || !this.#lastConnect || this.#state !== 'lost') return;
    this.#reconnect.schedule(() => {
      this.#lanes.serial('session', () => this.#reconnectNow()).catch(() => this.#scheduleReconnect());
    });
  }

  async #reconnectNow(): Promise<void> {
    const last = this.#lastConnect;
    if (this.#state !== 'lost' || !last) return;
    await this.#connect(last, true);
    // A clean session lost every subscription at the gateway: make them again (§4.3).
    if (last.cleanSession !== false) {
      for (const { target, qos } of [...this.#subscriptions.values()]) {
        await this.#lanes.serial('subscribe', () => this.#subscribe(target, qos)).catch(() => {});
      }
    }
    this.emit('reconnected');
  }

  /** Stops everything and closes the link; pending requests fail with CLOSED. No DISCONNECT is sent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#keepAlive.stop();
    this.#reconnect?.cancel();
    this.#requests.failAll(new SimError(SimErrorCode.CLOSED, 'node closed'));
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
    const p = this.#wire.decode(frame);
    if (p instanceof DecodeError) {
      this.#observer?.unexpected(p);
      return;
    }
    // §4.12: while awake, T_RETRY restarts at every message received.
    if (this.#state === 'awake') this.#requests.restartTimers('wake');
    const taken = this.#requests.offer({ packet: p, from });
    if (!taken) this.#inbound.handle(p, from);
    else if (taken.completed && taken.kind === 'search') this.emit('gateway', { gwId: p.type === 'GWINFO' || p.type === 'ADVERTISE' ? p.gwId : 0, from });
  }

  // ---------------------------------------------------------------- helpers

  #send(p: Intent): void {
    let frame: Buffer;
    try {
      frame = this.#wire.encode(p);
    } catch {
      // An answer this version cannot carry (none the inbound side sends today) is not sent.
      return;
    }
    this.#sendFrame(frame);
  }

  #sendFrame(frame: Buffer, broadcast?: number): void {
    this.#lastSent = this.clock.now();
    sendOn(this.link, frame, broadcast);
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
}

