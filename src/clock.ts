/**
 * Time and timers behind an interface, so every protocol timer (keep-alive, sleep, T_RETRY,
 * ADVERTISE) runs on a fake clock in tests without real waiting.
 */

export interface TimerHandle {
  /** Cancels the timer; safe to call twice or after it fired. */
  cancel(): void;
}

export interface Clock {
  /** milliseconds, monotonic */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/**
 * A Node timer as a `TimerHandle`. A class rather than `{ cancel: () => clearTimeout(t) }`: every
 * session keeps one armed (`Gateway.supervise`), and the closure and its context cost about 80 bytes
 * more each than this one-field object (issue #19, bytes per idle session).
 */
class NodeTimer implements TimerHandle {
  readonly #timer: NodeJS.Timeout;

  constructor(fn: () => void, ms: number) {
    this.#timer = setTimeout(fn, ms);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}

/** The real clock: `performance.now()` and unref'd Node timers (a timer never keeps the process alive). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => new NodeTimer(fn, ms),
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. Timers due at the same instant fire in the order they were
 * set, and a timer set while advancing fires in the same `advance` if it falls due.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in time order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: FakeTimer | undefined;
      for (const t of this.#timers) if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.#now = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.#now = target;
  }

  /** Timers still waiting (for tests that check nothing is left running). */
  pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
}
