/**
 * Admission: limits that bite under pressure, not on an idle gateway (issue #16 §1).
 *
 * ```
 * frame ─► datagram(peer) ── under pressure, over datagramsPerAddress ─► dropped before decode
 * CONNECT, PUBLISH, REGISTER ─► rates.* ── under pressure, over the bucket ─► 0x01 / dropped
 * new session ─► victimFor(peer) ── table full ─► evict a session that did nothing since CONNACK
 * ```
 *
 * Every request takes its token whether or not the gateway is under pressure, so the buckets
 * carry each source's recent history: when pressure comes, a source that has been flooding is
 * held back at once while quiet ones still have their burst. Buckets are per network address
 * (`Peer.address ?? Peer.key`: UDP without the source port, a forwarder as its own address, so
 * node ids a sender makes up cannot escape them), which is the fair share: each address gets the
 * same budget of what is left.
 *
 * Sessions that did nothing since their CONNACK ("idle" here: no message of any kind after the
 * CONNECT that created them) are what a CONNECT flood leaves behind; they hold nothing a client
 * relies on, so when the table is full a newcomer takes the place of one rather than being
 * refused. The victim is the oldest idle session of the newcomer's own address
 * when that address holds at least its share of idle sessions (a flooder recycles its own), else
 * the oldest idle session of all.
 */
import type { Clock } from '../clock.js';
import type { Peer } from '../transport/types.js';
import type { LagProbe } from './event-loop-lag.js';
import type { BucketOptions } from '../token-bucket.js';
import { PeerRateLimiter } from './rate-limit.js';
import type { Session } from './session.js';
import type { GatewayOptions } from './types.js';

/** Why the gateway counts as under pressure; `undefined` when it does not. */
export type PressureReason = 'sessions' | 'pendingConnects' | 'connectRate' | 'eventLoopLag' | 'bufferedBytes';

/** What admission reads of the gateway, live. */
export interface AdmissionGauges {
  sessions(): number;
  pendingConnects(): number;
  bufferedBytes(): number;
  lagMs: LagProbe;
}

/** CONNECTs of all clients per second, over a sliding second made of two fixed halves. */
class RateWindow {
  readonly #clock: Clock;
  #start: number;
  #current = 0;
  #previous = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#start = clock.now();
  }

  hit(): void {
    this.#roll();
    this.#current++;
  }

  perSecond(): number {
    const elapsed = this.#roll();
    // The previous second weighs what is left of it in the sliding window.
    return this.#previous * (1 - elapsed / 1000) + this.#current;
  }

  #roll(): number {
    const now = this.#clock.now();
    let elapsed = now - this.#start;
    if (elapsed >= 1000) {
      this.#previous = elapsed >= 2000 ? 0 : this.#current;
      this.#current = 0;
      this.#start = now - (elapsed % 1000);
      elapsed %= 1000;
    }
    return elapsed;
  }
}

/**
 * A {@link PeerRateLimiter} whose refusals count only when `enforced()` says so: the token is
 * always taken, so the bucket keeps the source's history for when pressure comes.
 */
export class AdaptiveLimiter {
  readonly #bucket: PeerRateLimiter;
  readonly #enforced: () => boolean;

  constructor(bucket: PeerRateLimiter, enforced: () => boolean) {
    this.#bucket = bucket;
    this.#enforced = enforced;
  }

  /** Takes one token for `key`; false when its bucket is empty and the limit is enforced now. */
  take(key: string): boolean {
    return this.#bucket.take(key) || !this.#enforced();
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.#bucket.size;
  }
}

export class Admission {
  /** `limits.rate`, one bucket map per request kind; what the handlers take tokens from */
  readonly rates: {
    readonly connect: AdaptiveLimiter;
    /** keyed by `Peer.address ?? Peer.key`: all source ports of one host share it */
    readonly connectByAddress: AdaptiveLimiter;
    readonly register: AdaptiveLimiter;
    readonly publish: AdaptiveLimiter;
    /** frames of any kind per network address, before decoding: only ever under pressure */
    readonly datagrams: AdaptiveLimiter;
    /** keyed by client id: each will update may reopen an upstream connection, so it holds always */
    readonly willUpdate: AdaptiveLimiter;
  };
  /** sessions created by a CONNECT that did nothing since, oldest first, with their address */
  readonly #idle = new Map<Session, string>();
  readonly #idleByAddress = new Map<string, Set<Session>>();
  readonly #connects: RateWindow;
  readonly #options: GatewayOptions['limits'];
  readonly #gauges: AdmissionGauges;

  constructor(clock: Clock, limits: GatewayOptions['limits'], gauges: AdmissionGauges) {
    const r = limits.rate;
    this.#connects = new RateWindow(clock);
    this.#options = limits;
    this.#gauges = gauges;
    const pressed = (): boolean => this.pressure() !== undefined;
    const enforced = r.enforce === 'always' ? (): boolean => true : pressed;
    const limiter = (o: BucketOptions, when: () => boolean): AdaptiveLimiter => new AdaptiveLimiter(new PeerRateLimiter(clock, o), when);
    this.rates = {
      connect: limiter(r.connectPerPeer, enforced),
      connectByAddress: limiter(r.connectPerAddress, enforced),
      register: limiter(r.registerPerPeer, enforced),
      publish: limiter(r.publishPerPeer, enforced),
      // Dropping unread is for a gateway that is falling behind, never a fixed cap (enforce: "always" too).
      datagrams: limiter(r.datagramsPerAddress, pressed),
      willUpdate: limiter(r.willUpdatePerClient, (): boolean => true),
    };
  }

  /** Why the gateway is under pressure now, or `undefined`. Cheap: a few comparisons. */
  pressure(): PressureReason | undefined {
    const l = this.#options;
    const p = l.pressure;
    if (this.#gauges.sessions() * 100 >= l.maxSessions * p.sessionsPercent) return 'sessions';
    if (this.#gauges.pendingConnects() * 100 >= l.maxPendingConnects * p.pendingConnectsPercent) return 'pendingConnects';
    if (this.#connects.perSecond() > p.connectsPerSecond) return 'connectRate';
    if (l.maxBufferedBytesTotal > 0 && this.#gauges.bufferedBytes() * 100 >= l.maxBufferedBytesTotal * p.bufferedBytesPercent) return 'bufferedBytes';
    if (this.#gauges.lagMs() > p.eventLoopLagMs) return 'eventLoopLag';
    return undefined;
  }

  /** Whether a frame from `peer` may be decoded: false only under pressure (the cheapest drop there is). */
  datagram(peer: Peer): boolean {
    return this.rates.datagrams.take(peer.address ?? peer.key);
  }

  /** Counts a CONNECT for the gateway-wide rate (a pressure signal). */
  connectSeen(): void {
    this.#connects.hit();
  }

  /**
   * A CONNECT from `peer` needs a new session. With the table full, returns the idle session to
   * evict for it (the caller ends it), or `undefined` when the table has room or nothing is idle
   * (then the newcomer is refused).
   */
  victimFor(peer: Peer): Session | undefined {
    if (this.#gauges.sessions() < this.#options.maxSessions || this.#idle.size === 0) return undefined;
    const own = this.#idleByAddress.get(peer.address ?? peer.key);
    if (own !== undefined && own.size * this.#idleByAddress.size >= this.#idle.size) return own.values().next().value;
    return this.#idle.keys().next().value;
  }

  /** A CONNECT created `s`: it is idle until its client sends anything else. */
  created(s: Session, peer: Peer): void {
    const address = peer.address ?? peer.key;
    this.#idle.set(s, address);
    let set = this.#idleByAddress.get(address);
    if (set === undefined) this.#idleByAddress.set(address, (set = new Set()));
    set.add(s);
  }

  /** `s` sent something after its CONNECT, or ended: it is no longer a candidate for eviction. */
  active(s: Session): void {
    const address = this.#idle.get(s);
    if (address === undefined) return;
    this.#idle.delete(s);
    const set = this.#idleByAddress.get(address);
    set?.delete(s);
    if (set?.size === 0) this.#idleByAddress.delete(address);
  }

  /** Sessions that did nothing since CONNACK (for tests and metrics). */
  get idleSessions(): number {
    return this.#idle.size;
  }
}
