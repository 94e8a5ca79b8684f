/**
 * A session's queue of deliveries that keeps count of its bytes, and adds them to a budget
 * shared by every session: the gateway holds the sum of all queues without walking them, so
 * `limits.maxBufferedBytesTotal` can be checked on every message.
 */
import type { Delivery } from './types.js';

/** Bytes queued across every session of one gateway. */
export interface ByteBudget {
  bytes: number;
}

/** Told when a queue starts holding bytes (true) and when it holds none any more (false). */
export type HoldingListener = (holding: boolean) => void;

/** What a queued message costs: its payload and topic (the rest is a small constant per message). */
export function deliveryBytes(d: Delivery): number {
  return d.payload.length + d.topic.length;
}

export class DeliveryQueue implements Iterable<Delivery> {
  readonly #items: Delivery[] = [];
  readonly #budget: ByteBudget;
  readonly #onHolding: HoldingListener | undefined;
  #bytes = 0;

  constructor(budget: ByteBudget, onHolding?: HoldingListener) {
    this.#budget = budget;
    this.#onHolding = onHolding;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Bytes of this queue (payloads and topics). */
  get bytes(): number {
    return this.#bytes;
  }

  push(d: Delivery): void {
    this.#items.push(d);
    this.#add(deliveryBytes(d));
  }

  unshift(d: Delivery): void {
    this.#items.unshift(d);
    this.#add(deliveryBytes(d));
  }

  shift(): Delivery | undefined {
    const d = this.#items.shift();
    if (d !== undefined) this.#add(-deliveryBytes(d));
    return d;
  }

  /** Takes `d` out wherever it is (a lost store write undone); false when it is not queued. */
  remove(d: Delivery): boolean {
    const i = this.#items.indexOf(d);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    this.#add(-deliveryBytes(d));
    return true;
  }

  /** Empties the queue and gives its bytes back to the budget. */
  clear(): void {
    this.#items.length = 0;
    this.#add(-this.#bytes);
  }

  [Symbol.iterator](): Iterator<Delivery> {
    return this.#items[Symbol.iterator]();
  }

  #add(n: number): void {
    if (n === 0) return;
    const before = this.#bytes;
    this.#bytes += n;
    this.#budget.bytes += n;
    if ((before === 0) !== (this.#bytes === 0)) this.#onHolding?.(this.#bytes > 0);
  }
}
