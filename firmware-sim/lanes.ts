/**
 * One request of each kind at a time (MQTT-SN.md §6.6): work on a lane runs after everything
 * queued before it on that lane, and lanes do not wait for each other.
 */
export type Lane = 'session' | 'publish' | 'register' | 'subscribe' | 'ping' | 'will';

const RESOLVED: Promise<void> = Promise.resolve();

export class Lanes {
  #tails: Partial<Record<Lane, Promise<void>>> = {};
  #queued: Partial<Record<Lane, number>> = {};

  /** calls queued or running on `lane` */
  queued(lane: Lane): number {
    return this.#queued[lane] ?? 0;
  }

  /** Runs `fn` after everything queued on `lane`; its failure does not stop the lane. */
  serial<T>(lane: Lane, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails[lane] ?? RESOLVED;
    this.#queued[lane] = (this.#queued[lane] ?? 0) + 1;
    const run = prev.then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#tails[lane] = tail;
    void tail.then(() => {
      const n = (this.#queued[lane] ?? 1) - 1;
      this.#queued[lane] = n;
      // Drop the settled chain so an idle node holds no promises.
      if (n === 0 && this.#tails[lane] === tail) delete this.#tails[lane];
    });
    return run;
  }
}
