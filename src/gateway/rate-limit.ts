/**
 * Token buckets keyed by peer. They run on the gateway's injected clock so
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
