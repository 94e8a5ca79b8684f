/**
 * The outbound queue in memory: lost on restart, so it suits tests and sites that accept that.
 * The SQLite queue keeps the same contract on disk.
 */
import { sizeOf, type OutboundMessage, type OutboundQueue, type OutboundQueueLimits, type PushResult, type QueuedMessage } from './types.js';

interface Entry extends QueuedMessage {
  readonly size: number;
}

/** Compaction waits for this many dead slots, so it costs O(1) per message on average. */
const COMPACT_AFTER = 1024;

/**
 * Seqs are handed out consecutively, so an entry's slot is `seq - #firstSeq`: ack and peek find
 * their place without a search. Acked entries leave a hole (`undefined`) until the head passes
 * them; the slots before the head are cut off once they are many.
 */
export class MemoryOutboundQueue implements OutboundQueue {
  readonly limits: OutboundQueueLimits;
  #slots: Array<Entry | undefined> = [];
  #head = 0;
  /** seq of `#slots[0]` */
  #firstSeq = 1;
  #nextSeq = 1;
  #size = 0;
  #bytes = 0;
  #dropped = 0;

  constructor(limits: OutboundQueueLimits) {
    if (!(limits.maxMessages >= 1) || !(limits.maxBytes >= 1)) throw new RangeError('maxMessages and maxBytes must be at least 1');
    this.limits = { maxMessages: limits.maxMessages, maxBytes: limits.maxBytes };
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

  push(msg: OutboundMessage): PushResult {
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
    const entry: Entry = { seq: this.#nextSeq++, topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, size };
    this.#slots.push(entry);
    this.#size++;
    this.#bytes += size;
    return { queued: entry, dropped };
  }

  peek(limit: number, afterSeq = 0): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    const slots = this.#slots;
    for (let i = Math.max(this.#head, afterSeq - this.#firstSeq + 1); i < slots.length && out.length < limit; i++) {
      const e = slots[i];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  shift(): QueuedMessage | undefined {
    return this.#size === 0 ? undefined : this.#removeHead();
  }

  ack(seq: number): boolean {
    const i = seq - this.#firstSeq;
    if (!Number.isInteger(i) || i < this.#head || i >= this.#slots.length) return false;
    const e = this.#slots[i];
    if (e === undefined) return false;
    this.#slots[i] = undefined;
    this.#size--;
    this.#bytes -= e.size;
    this.#advance();
    return true;
  }

  clear(): void {
    this.#firstSeq = this.#nextSeq;
    this.#slots = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
  }

  close(): Promise<void> {
    this.clear();
    return Promise.resolve();
  }

  /** Takes out the oldest live entry; the caller knows there is one. */
  #removeHead(): Entry {
    const e = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#size--;
    this.#bytes -= e.size;
    this.#advance();
    return e;
  }

  /** Moves the head past holes, and drops the dead prefix once it is long. */
  #advance(): void {
    const slots = this.#slots;
    while (this.#head < slots.length && slots[this.#head] === undefined) this.#head++;
    if (this.#head === slots.length) {
      this.#firstSeq += slots.length;
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= slots.length) {
      this.#firstSeq += this.#head;
      this.#slots = slots.slice(this.#head);
      this.#head = 0;
    }
  }
}
