/**
 * The one log throttle: a line that a flood can repeat (garbage frames, refused packets, a
 * broker's refusals) is logged at most once per key per interval. The first of a key is logged
 * at once; the rest are counted, and the count is handed to whoever logs next for that key.
 *
 * A leaf module that imports nothing, so every layer can use it (like errors.ts, transport and
 * codec may import it). It reads time through `now()` only: the gateway's Clock fits, and a
 * transport passes `{ now: Date.now }`.
 */
export interface ThrottleClock {
  /** milliseconds */
  now(): number;
}

export class LogThrottle {
  readonly #clock: ThrottleClock;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(clock: ThrottleClock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** undefined: stay quiet; a number: log now, mentioning that many suppressed since the last line. */
  hit(key: string): number | undefined {
    const now = this.#clock.now();
    const e = this.#last.get(key);
    if (e !== undefined && now - e.at < this.#intervalMs) {
      e.suppressed++;
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    // Keys are a fixed, small set chosen by the code, never by a peer, so this map stays small.
    this.#last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }

  /** When the window of `key` ends (no window open: now). */
  windowEnd(key: string): number {
    const e = this.#last.get(key);
    return e === undefined ? this.#clock.now() : e.at + this.#intervalMs;
  }

  /**
   * Takes the count held back for `key` to log it now without waiting for the next line (the
   * window ended, or the owner closes): returns it, and a new window starts now when it was not 0.
   */
  release(key: string): number {
    const e = this.#last.get(key);
    if (e === undefined || e.suppressed === 0) return 0;
    const n = e.suppressed;
    this.#last.set(key, { at: this.#clock.now(), suppressed: 0 });
    return n;
  }
}
