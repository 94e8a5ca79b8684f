/**
 * A warn line that a burst must not turn into a flood: the first of a burst is logged at once,
 * the rest are counted, and when the window ends one more line says how many were held back (and
 * the last one's fields), so the tail of a burst is never silent. A steady stream gives one line
 * per window.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { LogThrottle } from '../log-throttle.js';
import type { Logger } from '../logger.js';

/** the throttle's key: one ThrottledWarn is one kind of line */
const KEY = '';

export class ThrottledWarn {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #throttle: LogThrottle;
  /** the line that ends a window with something held back */
  readonly #summary: string;
  #lastFields: object = {};
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, logger: Logger, windowMs: number, summary: string) {
    this.#clock = clock;
    this.#logger = logger;
    this.#throttle = new LogThrottle(clock, windowMs);
    this.#summary = summary;
  }

  warn(fields: object, message: string): void {
    const heldBack = this.#throttle.hit(KEY);
    if (heldBack === undefined) {
      this.#lastFields = fields;
      this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#throttle.windowEnd(KEY) - this.#clock.now());
      return;
    }
    // The window ended before its timer ran (a late timer): its summary goes first.
    if (heldBack > 0) this.#summarise(heldBack);
    this.#logger.warn(fields, message);
  }

  /** Logs what is held back now (the window ended, or the owner closes). */
  flush(): void {
    this.#summarise(this.#throttle.release(KEY));
  }

  #summarise(heldBack: number): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (heldBack > 0) this.#logger.warn({ ...this.#lastFields, heldBack }, this.#summary);
  }
}
