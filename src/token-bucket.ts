/**
 * The one token bucket: the gateway's per-peer limits and the bridge's PUBLISH pacing both use
 * it. It runs on the injected clock, so tests drive it with a fake one.
 */
import type { Clock } from './clock.js';

export interface BucketOptions {
  /** tokens added per second */
  perSecond: number;
  /** bucket size */
  burst: number;
}

/** A token bucket on the gateway's clock, full at start. */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(clock: Clock, rate: BucketOptions) {
    this.#clock = clock;
    this.#perMs = rate.perSecond / 1000;
    this.#burst = rate.burst;
    this.#tokens = rate.burst;
    this.#at = clock.now();
  }

  /** Whole tokens available now. */
  available(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    return Math.floor(this.#tokens);
  }

  /** Takes `n` tokens if there are; false (and nothing taken) otherwise. */
  take(n = 1): boolean {
    if (this.available() < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Whether the bucket has refilled completely (it then says nothing a new, full one would not). */
  full(): boolean {
    this.available();
    return this.#tokens >= this.#burst;
  }

  /** Milliseconds until one token is available (0 when one is). */
  msUntilNext(): number {
    if (this.available() >= 1) return 0;
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#perMs));
  }
}
