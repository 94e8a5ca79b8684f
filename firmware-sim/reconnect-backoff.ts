/**
 * When a node that lost its gateway tries again: a delay that doubles from `initialDelayMs` up to
 * `maxDelayMs`, each wait jittered to 50-100 % of it so a fleet that lost the same gateway does
 * not come back in one burst. A successful CONNECT starts the doubling over (`reset`).
 */
import type { Clock, TimerHandle } from '../src/clock.js';
import type { ReconnectOptions } from './node-types.js';

export class ReconnectBackoff {
  #delay = 0;
  #timer: TimerHandle | undefined;

  constructor(
    private readonly options: Required<ReconnectOptions>,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  /** Runs `attempt` after the next delay; a pending attempt is replaced. */
  schedule(attempt: () => void): void {
    this.cancel();
    const o = this.options;
    this.#delay = this.#delay === 0 ? o.initialDelayMs : Math.min(this.#delay * 2, o.maxDelayMs);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      attempt();
    }, this.#delay * (0.5 + this.random() / 2));
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  reset(): void {
    this.#delay = 0;
  }
}
