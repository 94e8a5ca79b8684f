/**
 * A warn line that a burst must not turn into a flood: the first of a burst is logged at once,
 * the rest are counted, and when the window ends one more line says how many were held back (and
 * the last one's fields), so the tail of a burst is never silent. A steady stream gives one line
 * per window.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';

export class ThrottledWarn {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #windowMs: number;
  /** the line that ends a window with something held back */
  readonly #summary: string;
  #lastAt = -Infinity;
  #heldBack = 0;
  #lastFields: object = {};
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, logger: Logger, windowMs: number, summary: string) {
    this.#clock = clock;
    this.#logger = logger;
    this.#windowMs = windowMs;
    this.#summary = summary;
  }

  warn(fields: object, message: string): void {
    const now = this.#clock.now();
    if (now - this.#lastAt >= this.#windowMs) {
      this.#lastAt = now;
      this.#logger.warn(fields, message);
      return;
    }
    this.#heldBack++;
    this.#lastFields = fields;
    this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#lastAt + this.#windowMs - now);
  }

  /** Logs what is held back now (the window ended, or the owner closes). */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#heldBack === 0) return;
    this.#logger.warn({ ...this.#lastFields, heldBack: this.#heldBack }, this.#summary);
    this.#heldBack = 0;
    this.#lastAt = this.#clock.now();
  }
}
