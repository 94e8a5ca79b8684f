/**
 * Token buckets keyed by peer, and a log throttle. Both run on the gateway's injected clock so
 * tests drive them with a fake one.
 *
 * A UDP peer key includes the source port, which anyone on the path can vary freely: a flood of
 * spoofed ports must not grow the map without bound. A bucket that has refilled completely says
 * nothing a missing bucket would not (a new peer starts full), so full buckets are deleted by a
 * sweep. The sweep is amortised over `take`: it runs at most once per refill period, or when the
 * map has doubled since the last sweep, so its O(n) cost is paid by at least n/2 calls.
 */
import type { Clock } from '../clock.js';

export interface BucketOptions {
  /** tokens added per second */
  perSecond: number;
  /** bucket size */
  burst: number;
}

interface Bucket {
  tokens: number;
  /** clock time of `tokens` */
  at: number;
}

/** Below this many buckets a sweep is not worth it before the refill period is over. */
const MIN_SWEEP_SIZE = 1024;

export class PeerRateLimiter {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  /** time for an empty bucket to become full: after that long idle, every bucket is evictable */
  readonly #refillMs: number;
  readonly #buckets = new Map<string, Bucket>();
  #lastSweep: number;
  #sweepAtSize = MIN_SWEEP_SIZE;

  constructor(clock: Clock, options: BucketOptions) {
    this.#clock = clock;
    this.#perMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#refillMs = options.burst / this.#perMs;
    this.#lastSweep = clock.now();
  }

  /** Takes one token for `key`; false when its bucket is empty (the caller refuses the request). */
  take(key: string): boolean {
    const now = this.#clock.now();
    if (this.#buckets.size >= this.#sweepAtSize || (this.#buckets.size > 0 && now - this.#lastSweep >= this.#refillMs)) this.#sweep(now);
    const b = this.#buckets.get(key);
    if (b === undefined) {
      // A new peer starts with a full bucket, less this request.
      if (this.#burst >= 1) this.#buckets.set(key, { tokens: this.#burst - 1, at: now });
      return this.#burst >= 1;
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(key);
    }
    this.#lastSweep = now;
    this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#buckets.size * 2);
  }
}

/**
 * At most one log line per reason per interval, so a flood of refused packets cannot flood the
 * log too. `hit` says whether to log now and how many were suppressed since the last line.
 */
export class LogThrottle {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** undefined: stay quiet; a number: log now, mentioning that many suppressed since the last line. */
  hit(reason: string): number | undefined {
    const now = this.#clock.now();
    const e = this.#last.get(reason);
    if (e !== undefined && now - e.at < this.#intervalMs) {
      e.suppressed++;
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    // Reasons are a fixed, small set chosen by the code, never by a peer, so this map stays small.
    this.#last.set(reason, { at: now, suppressed: 0 });
    return suppressed;
  }
}
