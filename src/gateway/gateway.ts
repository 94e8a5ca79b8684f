/**
 * The gateway core: driven by `(transport, peer, frame)` and a clock, it keeps the MQTT-SN
 * sessions and meets the local broker core. Transport-agnostic: it never sees a socket.
 *
 * ```
 * transport frame ─► decode ─► dispatch (state guard) ─► handler ─► broker.publish
 * broker message ─► subscription trie ─► session queue ─► outbox ─► encode ─► transport.send
 * ```
 */
import { brokerUplink } from '../broker/uplink.js';
import type { BrokerCore } from '../broker/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import { decode, DecodeError, demultiplex, encode, v2, type Packet } from '../codec/index.js';
import { noopLogger, peerFields, type Logger } from '../logger.js';
import { PredefinedTopics, TopicRegistry, type TopicBudget } from '../topics/registry.js';
import { TopicTrie } from '../topics/trie.js';
import type { SessionStore } from '../store/session-store.js';
import type { Peer, Transport } from '../transport/types.js';
import type { GatewayCore } from './core.js';
import { dispatch } from './dispatch.js';
import { admittedWhileDraining } from './guard.js';
import { Authorizer, type AuthOptions } from './auth.js';
import { abandonInFlight, enqueue, pump } from './outbox.js';
import { Admission } from './admission.js';
import { startLagMonitor, type LagMonitor, type LagProbe } from './event-loop-lag.js';
import { AbsentSessions, silenceLimit } from './expiry.js';
import { isKept, Persistence } from './persistence.js';
import { transition } from './shell.js';
import { wakeUplink } from './dormant.js';
import { restoreSessions } from './restore.js';
import { FanOut } from './fan-out.js';
import { PasswordGate, type PasswordChecker } from './password-gate.js';
import { admittedWhileDrainingV2, decodeV2, newV2Link, onV2Packet } from './wire-v2.js';
import { toV2 } from './wire-v2-out.js';
import { LogThrottle, PeerLineBudget } from '../log-throttle.js';
import { enforceAuth, type Revoked } from './revoke.js';
import { Session } from './session.js';
import { bump, createStats, type GatewayStats, type RefusalReason } from './stats.js';
import type { Delivery, GatewayOptions, Link } from './types.js';
import type { Uplink, UplinkSink } from '../uplink/port.js';

export interface GatewayDeps {
  options: GatewayOptions;
  broker: BrokerCore;
  clock: Clock;
  logger?: Logger;
  /** keeps sessions, queues and QoS 2 state across restarts; without it all is in memory only */
  store?: SessionStore;
  /**
   * Whether the gateway may advertise now. MQTT-SN.md §3: a gateway should advertise only while
   * its broker connection works, so with an upstream this is "the upstream is connected".
   */
  mayAdvertise?: () => boolean;
  /**
   * Where clients' connections, publishes and subscriptions go: the bridge's port in transparent
   * mode (each client its own upstream connection). Default: the broker core answers.
   */
  uplink?: Uplink;
  /** the event loop's mean delay in ms, a pressure signal; default: measured while started */
  eventLoopLag?: LagProbe;
  /** users and passwords 2.0 clients' MQTT-BASIC is checked against, read at each CONNECT (a reload may replace them) */
  passwords?: () => PasswordChecker | undefined;
  /** wall-clock ms since the epoch, for times kept in the store across a restart; default Date.now */
  wallClock?: () => number;
}

export { MQTTSN_ORIGIN } from '../broker/uplink.js';

/**
 * Most publishes handed to the uplink and not yet settled. The broker core (aedes) queues what
 * its subscribers cannot take yet, without a bound: with a local MQTT subscriber slower than the
 * clients, the gateway would grow for as long as the load lasts (issue #19). Over
 * this, QoS 0 and -1 publishes are dropped and counted (`dropped{reason="overloaded"}`), as
 * at-most-once allows; QoS 1 and 2 are not shed (each client has one in flight, so they are
 * bounded by the number of clients). At a few hundred bytes each, a full backlog is a few MB,
 * and a quarter second of the gateway's QoS 0 throughput: enough to ride out a burst.
 */
export const MAX_PUBLISH_BACKLOG = 10_000;

/**
 * Node fires a timer of more than 2^31-1 ms at once: longer silences (a 2.0 Session Expiry
 * Interval of days, up to 136 years) are waited for in steps of this, the check re-arming.
 */
const MAX_TIMER_DELAY_MS = 0x7fffffff;

/** Drops of one kind are logged at most once per this interval, with a count of those held back. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class Gateway implements GatewayCore {
  readonly options: GatewayOptions;
  readonly clock: Clock;
  readonly broker: BrokerCore;
  readonly logger: Logger;
  readonly clientLog: PeerLineBudget;
  readonly stats: GatewayStats = createStats();
  predefined: PredefinedTopics;
  readonly persistence: Persistence;
  readonly sessions = new Map<string, Session>();
  readonly byPeer = new Map<string, Session>();
  readonly subscriptions = new TopicTrie<Session>();
  auth: Authorizer;
  readonly rates: GatewayCore['rates'];
  readonly admission: Admission;
  readonly uplink: Uplink;
  readonly buffered = { bytes: 0, holders: new Set<Session>() };
  readonly pendingConnects = { count: 0 };
  readonly topicBytes: TopicBudget;
  readonly #absent = new AbsentSessions();
  readonly passwords: () => PasswordChecker | undefined;
  readonly passwordGate = new PasswordGate();

  #transports: Transport[] = [];
  #detach: Array<() => void> = [];
  #unsubscribeBroker: (() => Promise<void>) | undefined;
  #advertiseTimer: TimerHandle | undefined;
  #noBroadcast = new Set<Transport>();
  readonly #fanOut = new FanOut(this.subscriptions, (s, d) => enqueue(this, s, d));
  readonly #mayAdvertise: () => boolean;
  readonly #refusalLog: LogThrottle;
  #running = false;
  #draining = false;
  #drainRefused = 0;
  /** publishes handed to the uplink and not settled yet; see MAX_PUBLISH_BACKLOG */
  #publishBacklog = 0;
  readonly #settled = (): void => { this.#publishBacklog--; };
  #lag: LagMonitor | undefined;
  readonly #lagProbe: boolean;

  constructor(deps: GatewayDeps) {
    this.options = deps.options;
    this.clock = deps.clock;
    this.broker = deps.broker;
    this.logger = deps.logger ?? noopLogger;
    this.clientLog = new PeerLineBudget(this.clock, this.logger);
    this.predefined = new PredefinedTopics(deps.options.predefinedTopics);
    this.persistence = new Persistence(deps.store, { clock: this.clock, wall: deps.wallClock ?? Date.now });
    this.topicBytes = { bytes: 0, limit: deps.options.limits.maxTopicBytesTotal };
    this.#mayAdvertise = deps.mayAdvertise ?? ((): boolean => true);
    this.auth = new Authorizer(deps.options.auth);
    this.passwords = deps.passwords ?? ((): undefined => undefined);
    this.uplink = deps.uplink ?? brokerUplink(deps.broker);
    const lag = deps.eventLoopLag ?? ((): number => this.#lag?.lagMs() ?? 0);
    this.admission = new Admission(this.clock, deps.options.limits, {
      sessions: () => this.sessions.size,
      pendingConnects: () => this.pendingConnects.count,
      bufferedBytes: () => this.buffered.bytes,
      lagMs: lag,
    });
    this.#lagProbe = deps.eventLoopLag === undefined;
    this.rates = this.admission.rates;
    this.#refusalLog = new LogThrottle(this.clock, REFUSAL_LOG_INTERVAL_MS);
  }

  refused(reason: RefusalReason, why: string, fields: object): void {
    bump(this.stats.dropped, reason);
    // Keyed by the message, a fixed string of the code, so each kind of drop has its own budget.
    const suppressed = this.#refusalLog.hit(why);
    if (suppressed === undefined) return;
    fields = peerFields(fields);
    // Refusals of unknown clients are routine on a shared radio; rate limiting or a full buffer means something is wrong.
    // A rate limit refuses only under pressure (admission.ts): the line says which pressure.
    if (reason === 'rateLimited' || reason === 'shed') this.logger.warn({ ...fields, reason, suppressed, pressure: this.admission.pressure() ?? 'none (limits.rate.enforce "always")' }, why);
    else if (reason === 'bufferedBytesFull' || reason === 'congestion' || reason === 'overloaded') this.logger.warn({ ...fields, reason, suppressed }, why);
    else this.logger.info({ ...fields, reason, suppressed }, why);
  }

  /**
   * Replaces the predefined topics (a reload). Handlers read the table on every message, so it
   * applies at once; registries keep skipping the old ids, which is harmless because normal and
   * predefined ids are separate namespaces (MQTT-SN.md §4.5). Throws on a bad table, changing nothing.
   */
  setPredefinedTopics(table: Readonly<Record<string, string>>): void {
    this.predefined = new PredefinedTopics(table);
  }

  /**
   * Replaces `auth` (a reload): the allow-list, QoS -1 rules, ACL and takeover policy apply to
   * the next request at once, and existing sessions are held to them (see revoke.ts). Throws on
   * bad options before anything changes.
   */
  setAuth(options: AuthOptions): Revoked {
    this.auth = new Authorizer(options);
    return enforceAuth(this, 'reload');
  }

  /** Starts taking frames from a transport (open it yourself). Several may be attached. */
  attach(transport: Transport): void {
    this.#transports.push(transport);
    this.#detach.push(transport.on('frame', (peer, frame) => this.handleFrame(transport, peer, frame)));
  }

  /**
   * Rebuilds the stored sessions (attach the transports first: a session comes back at the peer
   * it was reached at), subscribes to the broker core and starts advertising.
   */
  async start(): Promise<void> {
    const stored = await this.persistence.load();
    if (stored !== undefined) restoreSessions(this, this.#transports, stored);
    this.#unsubscribeBroker = await this.uplink.listen((msg) => this.#fanOut.message(msg));
    this.#running = true;
    if (this.#lagProbe) this.#lag ??= startLagMonitor();
    if (this.options.timers.advertiseIntervalSec > 0) this.#advertise();
  }

  /** Stops timers and detaches; sessions are left as they are (a durable store keeps them). */
  async stop(): Promise<void> {
    for (const off of this.#detach) off();
    this.#detach = [];
    await this.#quiesce();
    this.clientLog.flush();
  }

  /**
   * A graceful stop begins: no more ADVERTISE, broker messages or T_RETRY, and from now on the
   * dispatcher admits only what completes work already accepted (guard.ts). Frames still come in;
   * `stop()` ends that. See drain.ts for the wait.
   */
  async startDraining(): Promise<void> {
    this.#draining = true;
    await this.#quiesce();
  }

  /** Frames refused because the gateway is draining. */
  get drainRefused(): number {
    return this.#drainRefused;
  }

  async #quiesce(): Promise<void> {
    this.#running = false;
    this.#lag?.stop();
    this.#lag = undefined;
    this.#advertiseTimer?.cancel();
    for (const s of this.sessions.values()) {
      s.supervision?.cancel();
      s.pendingConnect?.timer.cancel();
      s.inFlight?.timer.cancel();
    }
    await this.#unsubscribeBroker?.();
    this.#unsubscribeBroker = undefined;
  }

  /**
   * One frame from a transport: tell its version, decode, guard by state, dispatch. Never throws.
   * A peer with a Virtual Connection is read in its session's version; any other's frame is
   * classified by the demultiplexer (codec/demux.ts, MQTT-SN-2.0.md §7).
   */
  handleFrame(transport: Transport, peer: Peer, frame: Buffer): void {
    // Under pressure, a source over its share is shed here, unread: decoding is most of what a
    // flood of garbage or CONNECTs costs, and the socket drains faster for everyone else.
    if (!this.admission.datagram(peer)) {
      this.refused('shed', 'frames over limits.rate.datagramsPerAddress dropped before decoding', { peer: peer.key, address: peer.address });
      return;
    }
    const s = this.byPeer.get(peer.key);
    const withVc = s !== undefined && s.state !== 'disconnected' && s.state !== 'lost' ? s.version : undefined;
    if (demultiplex(frame, { session: withVc, isSleeping12Client: this.#isSleeping12Client }).version === '2.0') {
      const p = decodeV2(frame);
      // The 2.0 state of this address follows its frames: the session's, or a new one for a stranger.
      const link = { transport, peer, v2: s?.link?.v2 ?? newV2Link() };
      if (this.#admitted(link, s, frame, p, (x) => admittedWhileDrainingV2(x, s))) this.#handled(link, p.type, () => onV2Packet(this, link, s, p));
      return;
    }
    const p = decode(frame);
    const link = { transport, peer };
    if (this.#admitted(link, s, frame, p, (x) => admittedWhileDraining(x, s))) this.#handled(link, p.type, () => dispatch(this, link, s, p));
  }

  readonly #isSleeping12Client = (clientId: string): boolean => {
    const s = this.sessions.get(clientId);
    return s !== undefined && s.version === '1.2' && (s.state === 'asleep' || s.state === 'awake');
  };

  /** What every decoded frame goes through, whatever its version: draining, malformed input, counts, supervision. */
  #admitted<P extends { type: string }>(link: Link, s: Session | undefined, frame: Buffer, p: P | DecodeError, draining: (p: P) => boolean): p is P {
    if (this.#draining && (p instanceof DecodeError || !draining(p))) {
      this.#drainRefused++;
      return false;
    }
    if (p instanceof DecodeError) {
      bump(this.stats.decodeErrors, p.code);
      const fields = { peer: link.peer.key, code: p.code, detail: p.message, bytes: frame.subarray(0, 64).toString('hex'), version: link.v2 === undefined ? '1.2' : '2.0' };
      // Every frame at debug; from a connected client a dropped frame may be a device about to
      // hang, so the operator is told at info too (rate limited). Noise from addresses with no
      // session stays at debug.
      this.logger.debug(fields, 'malformed frame dropped');
      if (s !== undefined && s.state !== 'disconnected' && s.state !== 'lost') this.refused('decode', 'malformed frame from a connected client dropped', { ...fields, clientId: s.clientId });
      else bump(this.stats.dropped, 'decode');
      return false;
    }
    bump(this.stats.packetsIn, p.type as keyof GatewayStats['packetsIn']);
    // §4.11: any message from the client restarts its supervision.
    if (s !== undefined) {
      s.lastSeen = this.clock.now();
      if (p.type !== 'CONNECT') {
        this.admission.active(s); // a client at work after its CONNECT is no longer evictable
        wakeUplink(this, s); // a dormant restored session's device is back (dormant.ts); a CONNECT opens its own
      }
    }
    if (p.type === 'CONNECT') this.admission.connectSeen();
    return true;
  }

  #handled(link: Link, type: string, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      // A handler defect costs this one message, never the gateway.
      this.logger.error({ peer: link.peer.key, type, err }, 'handler failed');
    }
  }

  /** The one place that picks the encoder: a 2.0 link gets the 2.0 form of the packet (wire-v2.ts). */
  send(link: Link, packet: Packet, v2Reason?: number): void {
    if (link.v2 !== undefined) {
      const translated = toV2(packet, link.v2, this.byPeer.get(link.peer.key), v2Reason);
      // The will exchange and 1.2's error PUBACK to a QoS 0 PUBLISH have no 2.0 form: never sent to a 2.0 client.
      if (translated !== undefined) this.sendV2(link, translated);
      else this.logger.debug({ peer: link.peer.key, type: packet.type }, '1.2 message without a 2.0 form not sent to a 2.0 client');
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encode(packet);
    } catch (err) {
      bump(this.stats.dropped, 'tooLarge');
      this.logger.warn({ peer: link.peer.key, type: packet.type, err }, 'message could not be encoded');
      return;
    }
    this.#transmit(link, packet.type, bytes);
  }

  sendV2(link: Link, packet: v2.Packet): void {
    let bytes: Buffer;
    try {
      bytes = v2.encode(packet);
    } catch (err) {
      bump(this.stats.dropped, 'tooLarge');
      this.logger.warn({ peer: link.peer.key, type: packet.type, err, version: '2.0' }, 'message could not be encoded');
      return;
    }
    this.#transmit(link, packet.type, bytes);
  }

  #transmit(link: Link, type: keyof GatewayStats['packetsOut'], bytes: Buffer): void {
    bump(this.stats.packetsOut, type);
    link.transport.send(link.peer, bytes).catch((err: unknown) => {
      bump(this.stats.dropped, 'sendFailed');
      this.logger.debug({ peer: link.peer.key, type, err }, 'send failed');
    });
  }

  createSession(clientId: string): Session {
    const limits = this.options.limits;
    const registry = new TopicRegistry(this.predefined, limits.maxRegistrationsPerClient, this.topicBytes);
    const s = new Session(clientId, registry, this.buffered, this.pendingConnects, this.topicBytes);
    this.sessions.set(clientId, s);
    return s;
  }

  bind(s: Session, link: Link): void {
    const old = s.link;
    const moved = old !== undefined && old.peer.key !== link.peer.key;
    if (moved && this.byPeer.get(old.peer.key) === s) this.byPeer.delete(old.peer.key);
    transition(this, s, { type: 'moved', link });
    this.byPeer.set(link.peer.key, s);
    // A kept session that moved (a sleeper waking from a new address) is found there after a restart.
    if (moved && isKept(s)) this.persistence.session(s);
  }

  dropSession(s: Session): void {
    this.admission.active(s);
    this.#absent.delete(s);
    s.supervision?.cancel();
    s.pendingConnect?.timer.cancel();
    s.pendingConnect = undefined;
    abandonInFlight(this, s, false);
    for (const filter of s.subscriptions.keys()) this.subscriptions.remove(filter, s);
    s.subscriptions.clear();
    s.registry.clear(); // its names go back to limits.maxTopicBytesTotal
    s.queue.clear(); // its bytes go back to limits.maxBufferedBytesTotal
    if (this.sessions.get(s.clientId) === s) {
      this.sessions.delete(s.clientId);
      void this.uplink.disconnect(s.clientId, true);
    }
    this.persistence.forget(s);
    if (s.link !== undefined && this.byPeer.get(s.link.peer.key) === s) this.byPeer.delete(s.link.peer.key);
  }

  /**
   * Ends a client's session from outside (the dashboard's admin action): the client gets a
   * DISCONNECT, and the session ends as after its own plain DISCONNECT, without the will
   * (MQTT-SN.md §4.12.6). Returns false when there is no session of that client id.
   */
  closeSession(clientId: string): boolean {
    const s = this.sessions.get(clientId);
    if (s === undefined) return false;
    s.pendingConnect?.timer.cancel();
    s.pendingConnect = undefined;
    if (s.link !== undefined) this.send(s.link, { type: 'DISCONNECT' }, v2.ReasonCode.ADMINISTRATIVE_ACTION);
    transition(this, s, { type: 'disconnect' });
    return true;
  }

  /**
   * Supervision by silence (expiry.ts): keep-alive (active), sleep duration (asleep), session
   * expiry (absent). The timer is not reset on every message: it fires at the earliest possible
   * end and re-arms from `lastSeen`, so a busy client costs no timer churn. The limit is read
   * again when it fires, so a state change in between is never judged by the old state's limit.
   */
  supervise(s: Session): void {
    s.supervision?.cancel();
    s.supervision = undefined;
    this.#absent.update(s);
    const first = silenceLimit(this, s);
    if (first === undefined) return;
    const check = (): void => {
      s.supervision = undefined;
      const limit = silenceLimit(this, s);
      if (limit === undefined || this.sessions.get(s.clientId) !== s) return;
      const idle = this.clock.now() - s.lastSeen;
      if (idle < limit.ms) {
        s.supervision = this.clock.setTimeout(check, Math.min(limit.ms - idle, MAX_TIMER_DELAY_MS));
      } else if (limit.then === 'expire') {
        this.stats.sessionsEnded.expired++;
        this.logger.info({ clientId: s.clientId, absentForSec: Math.round(idle / 1000) }, `absent session expired (${s.sessionExpirySec === undefined ? 'limits.sessionExpirySec' : 'its 2.0 Session Expiry Interval'})`);
        this.dropSession(s);
      } else {
        const reason = s.state === 'asleep' ? 'sleep duration exceeded' : s.keepAliveSec > 0 ? 'keep-alive timeout' : 'idle with keep-alive 0 (limits.idleSessionSec)';
        this.lose(s, reason);
      }
    };
    s.supervision = this.clock.setTimeout(check, Math.min(Math.max(0, first.ms - (this.clock.now() - s.lastSeen)), MAX_TIMER_DELAY_MS));
  }

  evictOldestAbsent(): boolean {
    const s = this.#absent.oldest(this.sessions);
    if (s === undefined) return false;
    this.stats.sessionsEnded.evicted++;
    this.logger.info({ clientId: s.clientId, absentForSec: Math.round((this.clock.now() - s.lastSeen) / 1000) }, 'absent session evicted to make room (limits.maxSessions)');
    this.dropSession(s);
    return true;
  }

  lose(s: Session, reason: string): void {
    s.pendingConnect?.timer.cancel();
    s.pendingConnect = undefined;
    transition(this, s, { type: 'lose', reason });
  }

  enqueue(s: Session, d: Delivery): void {
    enqueue(this, s, d);
  }

  pump(s: Session): void {
    pump(this, s);
  }

  publish(d: Delivery, from: Session | undefined): Promise<void> {
    if (d.qos === 0 && this.#publishBacklog >= MAX_PUBLISH_BACKLOG) {
      this.refused('overloaded', 'QoS 0 PUBLISH dropped: the broker core is behind (a slow subscriber?)', { clientId: from?.clientId, backlog: this.#publishBacklog });
      return Promise.resolve();
    }
    this.#publishBacklog++;
    this.#fanOut.published(d.payload, from);
    const settled = this.uplink.publish(from?.clientId, { topic: d.topic, payload: d.payload, qos: d.qos, retain: d.retain });
    settled.then(this.#settled, this.#settled);
    return settled;
  }

  /** Publishes handed to the uplink and not settled yet (bounded for QoS 0 by MAX_PUBLISH_BACKLOG). */
  get publishBacklog(): number {
    return this.#publishBacklog;
  }

  uplinkSink(s: Session): UplinkSink {
    return {
      message: (msg, done) => {
        // A message for a session that has since ended is acknowledged and dropped, as a broker would.
        if (this.sessions.get(s.clientId) !== s) return done();
        // The upstream ack waits until the client has it (or it is dropped): see UplinkSink.
        this.enqueue(s, { topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, settled: done });
      },
    };
  }

  /** §4.2: ADVERTISE on every transport that can broadcast, every T_ADV. */
  #advertise(): void {
    if (!this.#running) return;
    const duration = this.options.timers.advertiseIntervalSec;
    const bytes = encode({ type: 'ADVERTISE', gwId: this.options.gatewayId, duration });
    for (const t of this.#mayAdvertise() ? this.#transports : []) {
      if (this.#noBroadcast.has(t) || t.state !== 'open') continue;
      t.broadcast(bytes).then(
        () => bump(this.stats.packetsOut, 'ADVERTISE'),
        () => this.#noBroadcast.add(t), // this medium or its config has no broadcast: stop trying
      );
    }
    this.#advertiseTimer = this.clock.setTimeout(() => this.#advertise(), duration * 1000);
  }
}
