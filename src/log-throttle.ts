/**
 * The one log throttle: a line that a flood can repeat (garbage frames, refused packets, a
 * broker's refusals) is logged at most once per key per interval. The first of a key is logged
 * at once; the rest are counted, and the count is handed to whoever logs next for that key.
 *
 * With a `burst`, the first `burst` lines of a key in a window are logged, not only the first:
 * per-client lines (connected, asleep, awake) say each event while they are few, and turn into a
 * count when a peer makes them many.
 *
 * A leaf module that imports nothing but types, so every layer can use it (like errors.ts,
 * transport and codec may import it). It reads time through `now()` only: the gateway's Clock
 * fits, and a transport passes `{ now: Date.now }`.
 */
import { peerFields, type Logger } from './logger.js';

export interface ThrottleClock {
  /** milliseconds */
  now(): number;
}

export class LogThrottle {
  readonly #clock: ThrottleClock;
  readonly #intervalMs: number;
  readonly #burst: number;
  readonly #last = new Map<string, { at: number; passed: number; suppressed: number }>();

  /** `burst`: lines of a key logged per window before the rest are counted (default 1) */
  constructor(clock: ThrottleClock, intervalMs: number, burst = 1) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#burst = Math.max(1, burst);
  }

  /** undefined: stay quiet; a number: log now, mentioning that many suppressed since the last line. */
  hit(key: string): number | undefined {
    const now = this.#clock.now();
    const e = this.#last.get(key);
    if (e !== undefined && now - e.at < this.#intervalMs) {
      // Within the burst nothing has been held back yet: the count starts after it.
      if (e.passed < this.#burst) {
        e.passed++;
        return 0;
      }
      e.suppressed++;
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    // Keys are a fixed, small set chosen by the code, never by a peer, so this map stays small.
    this.#last.set(key, { at: now, passed: 1, suppressed: 0 });
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
    // The line that reports the count is one of the new window's.
    this.#last.set(key, { at: this.#clock.now(), passed: 1, suppressed: 0 });
    return n;
  }
}

/**
 * Per-client lines of one kind ("client asleep") logged one by one per window; beyond, a count at
 * the window's end. 20 per 10 s says every event of a small site, and bounds a peer cycling sleep
 * and wake as fast as it can to about two lines a second per kind.
 */
export const PEER_LINE_INTERVAL_MS = 10_000;
export const PEER_LINE_BURST = 20;

export interface SummaryClock extends ThrottleClock {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/**
 * Lines a peer drives (one per CONNECT, sleep, wake-up...): per kind (the message, a fixed
 * string of the code) the first `burst` of a window are logged, the rest counted, and when the
 * window ends one line says how many of that kind were held back and the last one's fields. So
 * a device cycling sleep and wake 2000 times in a second costs a few dozen lines, not 4000, and
 * the count is never lost. Every string field is bounded and escaped (`peerFields`).
 */
export class PeerLineBudget {
  readonly #clock: SummaryClock;
  readonly #logger: Pick<Logger, 'info' | 'warn'>;
  readonly #throttle: LogThrottle;
  /** per kind held back: the level and the last fields, and the timer that ends its window */
  readonly #held = new Map<string, { level: 'info' | 'warn'; fields: object; timer: { cancel(): void } | undefined }>();

  constructor(clock: SummaryClock, logger: Pick<Logger, 'info' | 'warn'>, intervalMs = PEER_LINE_INTERVAL_MS, burst = PEER_LINE_BURST) {
    this.#clock = clock;
    this.#logger = logger;
    this.#throttle = new LogThrottle(clock, intervalMs, burst);
  }

  info(fields: object, message: string): void {
    this.#line('info', fields, message);
  }

  warn(fields: object, message: string): void {
    this.#line('warn', fields, message);
  }

  /** Logs every count held back now (the owner stops). */
  flush(): void {
    for (const message of [...this.#held.keys()]) this.#summarise(message, this.#throttle.release(message));
  }

  #line(level: 'info' | 'warn', fields: object, message: string): void {
    const bounded = peerFields(fields);
    const heldBack = this.#throttle.hit(message);
    if (heldBack === undefined) {
      const h = this.#held.get(message);
      if (h !== undefined) {
        h.fields = bounded;
        return;
      }
      const timer = this.#clock.setTimeout(() => this.#summarise(message, this.#throttle.release(message)), this.#throttle.windowEnd(message) - this.#clock.now());
      this.#held.set(message, { level, fields: bounded, timer });
      return;
    }
    // The window ended before its timer ran (a late timer): its count goes first.
    if (heldBack > 0) this.#summarise(message, heldBack);
    this.#logger[level](bounded, message);
  }

  #summarise(message: string, heldBack: number): void {
    const h = this.#held.get(message);
    h?.timer?.cancel();
    this.#held.delete(message);
    if (heldBack > 0 && h !== undefined) this.#logger[h.level]({ ...h.fields, heldBack }, `${message} (and more like it, held back: see heldBack)`);
  }
}
