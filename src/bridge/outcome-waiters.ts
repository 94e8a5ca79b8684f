/**
 * Promises of one outcome still to come, all settled with it at once: the CONNECTs of a device
 * that wait for the one upstream connection attempt made for them, or for a debounced reopening.
 *
 * Not the waitress (src/waitress.ts): there every request has its own answer, matched to it, and
 * its own T_RETRY; here there is nothing to send again and no time-out of our own (see
 * client-link.ts), and every waiter gets the same outcome.
 */
export class OutcomeWaiters<T> {
  #waiting: Array<(outcome: T) => void> = [];

  wait(): Promise<T> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Settles everyone waiting now; later waiters wait for the next outcome. */
  settle(outcome: T): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w(outcome);
  }
}
