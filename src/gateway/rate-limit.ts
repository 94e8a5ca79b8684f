/**
 * The shared token bucket (src/token-bucket.ts) keyed by peer, on the gateway's injected clock so
 * tests drive it with a fake one.
 *
 * A UDP peer key includes the source port, which anyone on the path can vary freely: a flood of
 * spoofed ports must not grow the map without bound. A bucket that has refilled completely says
 * nothing a missing bucket would not (a new peer starts full), so full buckets are deleted by a
 * sweep. The sweep is amortised over `take`: it runs at most once per refill period, or when the
 * map has doubled since the last sweep, so its O(n) cost is paid by at least n/2 calls.
 */
import type { Clock } from '../clock.js';
import { TokenBucket, type BucketOptions } from '../token-bucket.js';

/** Below this many buckets a sweep is not worth it before the refill period is over. */
const MIN_SWEEP_SIZE = 1024;

export class PeerRateLimiter {
  readonly #clock: Clock;
  readonly #options: BucketOptions;
  /** time for an empty bucket to become full: after that long idle, every bucket is evictable */
  readonly #refillMs: number;
  readonly #buckets = new Map<string, TokenBucket>();
  #lastSweep: number;
  #sweepAtSize = MIN_SWEEP_SIZE;

  constructor(clock: Clock, options: BucketOptions) {
    this.#clock = clock;
    this.#options = options;
    this.#refillMs = (options.burst * 1000) / options.perSecond;
    this.#lastSweep = clock.now();
  }

  /** Takes one token for `key`; false when its bucket is empty (the caller refuses the request). */
  take(key: string): boolean {
    const now = this.#clock.now();
    if (this.#buckets.size >= this.#sweepAtSize || (this.#buckets.size > 0 && now - this.#lastSweep >= this.#refillMs)) this.#sweep(now);
    const b = this.#buckets.get(key);
    if (b !== undefined) return b.take();
    // A new peer starts with a full bucket, less this request; a bucket that cannot give even one is not kept.
    const fresh = new TokenBucket(this.#clock, this.#options);
    if (!fresh.take()) return false;
    this.#buckets.set(key, fresh);
    return true;
  }

  /** Buckets held now (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.full()) this.#buckets.delete(key);
    }
    this.#lastSweep = now;
    this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#buckets.size * 2);
  }
}
