/**
 * The outbound queue in memory: lost on restart, so it suits tests and sites that accept that.
 * It is also the in-memory half of the SQLite queue, which mirrors every change to its file
 * through the three hooks (`stored`, `removed`, `cleared`), so the bookkeeping lives once.
 */
import { sizeOf, type Message, type OutboundQueue, type OutboundQueueLimits, type PushResult, type QueuedMessage } from './types.js';

interface Entry extends QueuedMessage {
  readonly size: number;
  live: boolean;
}

/** Dead entries at the front are cut off once this many, so ack and shift cost O(1) on average. */
const COMPACT_AFTER = 1024;

/**
 * Entries sorted by seq (increasing, not necessarily consecutive: a durable queue shares its
 * counter with other tables), found by binary search. An entry acked out of order stays as a dead
 * slot until the head passes it.
 */
export class MemoryOutboundQueue implements OutboundQueue {
  readonly limits: OutboundQueueLimits;
  readonly #nextSeq: () => number;
  #entries: Entry[] = [];
  #head = 0;
  #size = 0;
  #bytes = 0;
  #dropped = 0;

  /** `nextSeq` hands out the seqs (default: 1, 2, 3, ... for this queue alone). */
  constructor(limits: OutboundQueueLimits, nextSeq?: () => number) {
    if (!(limits.maxMessages >= 1) || !(limits.maxBytes >= 1)) throw new RangeError('maxMessages and maxBytes must be at least 1');
    this.limits = { maxMessages: limits.maxMessages, maxBytes: limits.maxBytes };
    let seq = 0;
    this.#nextSeq = nextSeq ?? ((): number => ++seq);
  }

  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(msg: Message): PushResult {
    const size = sizeOf(msg);
    if (size > this.limits.maxBytes) {
      // Evicting everything would still not make room; the newcomer is the one to go.
      this.#dropped++;
      return { queued: undefined, dropped: 1 };
    }
    let dropped = 0;
    while (this.#size >= this.limits.maxMessages || this.#bytes + size > this.limits.maxBytes) {
      this.#removeHead();
      dropped++;
    }
    this.#dropped += dropped;
    const entry = this.#append({ seq: this.#nextSeq(), topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain });
    this.stored(entry);
    return { queued: entry, dropped };
  }

  peek(limit: number, afterSeq = 0): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    const entries = this.#entries;
    for (let i = this.#firstAfter(afterSeq); i < entries.length && out.length < limit; i++) {
      const e = entries[i]!;
      if (e.live) out.push(e);
    }
    return out;
  }

  shift(): QueuedMessage | undefined {
    return this.#size === 0 ? undefined : this.#removeHead();
  }

  ack(seq: number): boolean {
    const e = this.#entries[this.#firstAfter(seq - 1)];
    if (e === undefined || e.seq !== seq || !e.live) return false;
    this.#kill(e);
    this.#advance();
    return true;
  }

  clear(): void {
    this.cleared();
    this.#entries = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
  }

  close(): Promise<void> {
    this.clear();
    return Promise.resolve();
  }

  /** Hook: an entry was queued. */
  protected stored(_e: QueuedMessage): void {}
  /** Hook: an entry left the queue (acked, shifted or dropped by a limit). */
  protected removed(_e: QueuedMessage): void {}
  /** Hook: every entry left the queue at once. */
  protected cleared(): void {}

  /**
   * Puts back entries kept elsewhere (a file), oldest first, without the `stored` hook; then,
   * where the limits were lowered since, drops the oldest as a push would have.
   */
  protected restore(entries: Iterable<QueuedMessage>): void {
    for (const e of entries) this.#append(e);
    while (this.#size > this.limits.maxMessages || this.#bytes > this.limits.maxBytes) {
      this.#removeHead();
      this.#dropped++;
    }
  }

  #append(m: QueuedMessage): Entry {
    const entry: Entry = { seq: m.seq, topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain, size: sizeOf(m), live: true };
    this.#entries.push(entry);
    this.#size++;
    this.#bytes += entry.size;
    return entry;
  }

  /** Index of the first entry at or after the head with `seq > afterSeq`. */
  #firstAfter(afterSeq: number): number {
    const entries = this.#entries;
    let lo = this.#head;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #kill(e: Entry): void {
    e.live = false;
    this.#size--;
    this.#bytes -= e.size;
    this.removed(e);
  }

  /** Takes out the oldest live entry; the caller knows there is one. */
  #removeHead(): Entry {
    const e = this.#entries[this.#head]!;
    this.#kill(e);
    this.#advance();
    return e;
  }

  /** Moves the head past dead entries, and cuts the dead prefix off once it is long. */
  #advance(): void {
    const entries = this.#entries;
    while (this.#head < entries.length && !entries[this.#head]!.live) this.#head++;
    if (this.#head === entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
