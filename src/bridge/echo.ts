/**
 * MQTT 3.1.1 has no "no local": a broker sends a client's own message back to it when the client
 * is subscribed to the topic. With a `both` rule (or an `out` and an `in` rule that overlap)
 * every message the bridge sends up would come back down and reach local subscribers a second
 * time. The origin tag already keeps such an echo from going up again (no loop); this filter
 * keeps it from coming down as a duplicate.
 *
 * It remembers, for a short while, each message sent to an upstream topic the bridge is
 * subscribed to, and takes the first matching message (same topic, same payload) from upstream
 * as its echo. A broker delivers a client's echo in order and within milliseconds; the window
 * only bounds the memory spent on echoes that never come (the broker dropped a QoS 0 message, an
 * ACL hides the topic). The price of a stale entry is one identical message from another
 * publisher on the same topic, within the window, taken for the echo.
 */
import type { Clock } from '../clock.js';

interface Sent {
  readonly topic: string;
  readonly payload: Buffer;
  readonly at: number;
  taken: boolean;
}

export interface EchoFilterOptions {
  /** how long an echo is waited for */
  windowMs: number;
  /** entries kept at most; the oldest goes first */
  maxEntries: number;
}

export class EchoFilter {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  /** by topic, oldest first */
  readonly #byTopic = new Map<string, Sent[]>();
  /** every entry, oldest first, for expiry */
  #order: Sent[] = [];
  #head = 0;
  #live = 0;

  constructor(clock: Clock, options: EchoFilterOptions) {
    this.#clock = clock;
    this.#windowMs = options.windowMs;
    this.#maxEntries = options.maxEntries;
  }

  /** Entries waiting for their echo. */
  get size(): number {
    return this.#live;
  }

  /** A message went up to a topic the bridge is subscribed to. */
  sent(topic: string, payload: Buffer): void {
    const now = this.#clock.now();
    this.#expire(now);
    if (this.#live >= this.#maxEntries) this.#evictOldest();
    const entry: Sent = { topic, payload, at: now, taken: false };
    this.#order.push(entry);
    const list = this.#byTopic.get(topic);
    if (list === undefined) this.#byTopic.set(topic, [entry]);
    else list.push(entry);
    this.#live++;
  }

  /** Whether a message from upstream is the echo of one sent; if so it is used up. */
  take(topic: string, payload: Buffer): boolean {
    const list = this.#byTopic.get(topic);
    if (list === undefined) return false;
    const now = this.#clock.now();
    this.#expire(now);
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (!e.taken && e.payload.equals(payload)) {
        this.#remove(e, list, i);
        return true;
      }
    }
    return false;
  }

  /** Forgets everything (a new session upstream: old echoes will not come). */
  clear(): void {
    this.#byTopic.clear();
    this.#order = [];
    this.#head = 0;
    this.#live = 0;
  }

  #expire(now: number): void {
    while (this.#head < this.#order.length) {
      const e = this.#order[this.#head]!;
      if (!e.taken && now - e.at < this.#windowMs) break;
      if (!e.taken) this.#remove(e, this.#byTopic.get(e.topic), -1);
      this.#head++;
    }
    this.#compact();
  }

  #evictOldest(): void {
    while (this.#head < this.#order.length) {
      const e = this.#order[this.#head++]!;
      if (!e.taken) {
        this.#remove(e, this.#byTopic.get(e.topic), -1);
        break;
      }
    }
    this.#compact();
  }

  #remove(e: Sent, list: Sent[] | undefined, index: number): void {
    e.taken = true;
    this.#live--;
    if (list === undefined) return;
    const i = index >= 0 ? index : list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byTopic.delete(e.topic);
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }
}
