/**
 * A typed listener list, smaller than EventEmitter (thousands of nodes keep one each) and
 * without its trap: an 'error' with no listener must not throw out of a socket callback.
 */
type Listener<A extends unknown[]> = (...args: A) => void;

export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  #listeners: { [K in keyof E]?: Listener<E[K]>[] } = {};

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const list = this.#listeners[event];
    // Replaced, never mutated, so that an emit in progress is not disturbed.
    this.#listeners[event] = list ? [...list, fn] : [fn];
    return () => this.off(event, fn);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    const list = this.#listeners[event];
    if (list) this.#listeners[event] = list.filter((l) => l !== fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, (...args: E[K]) => {
      off();
      fn(...args);
    });
    return off;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.#listeners[event];
    if (!list) return;
    for (const fn of list) {
      try {
        fn(...args);
      } catch (err) {
        // A listener bug must not break the protocol engine; surface it without throwing.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
