/**
 * The upstream outbound queue on SQLite: the `OutboundQueue` contract, kept across restarts.
 *
 * Reads never touch the file: the entries are mirrored in memory (loaded once at open), so `peek`,
 * `size` and `bytes` cost what they cost in the memory queue. Each change is one statement in the
 * file's current batch (an INSERT per push, a DELETE per ack or drop), committed with the gateway's
 * other writes, so the `flush()` before a PUBACK covers the message's place in this queue too.
 */
import type Database from 'better-sqlite3';
import type { SqliteFile } from './sqlite-file.js';
import { sizeOf, type OutboundMessage, type OutboundQueue, type OutboundQueueLimits, type PushResult, type QueuedMessage } from './types.js';

interface Entry extends QueuedMessage {
  readonly size: number;
  live: boolean;
}

interface Row {
  seq: number;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: number;
}

/** Dead entries at the front are cut off once this many, so ack and shift cost O(1) on average. */
const COMPACT_AFTER = 1024;

/**
 * Entries sorted by seq (seqs are increasing but not consecutive: the file hands them out to
 * every table), found by binary search. An entry acked out of order stays as a dead slot until
 * the head passes it.
 */
export class SqliteOutboundQueue implements OutboundQueue {
  readonly limits: OutboundQueueLimits;
  readonly #file: SqliteFile;
  readonly #name: string;
  readonly #release: () => void;
  readonly #insert: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #clear: Database.Statement;
  #entries: Entry[] = [];
  #head = 0;
  #size = 0;
  #bytes = 0;
  #dropped = 0;
  #closed = false;

  /** Use `SqliteStore.outboundQueue()`. */
  constructor(file: SqliteFile, name: string, limits: OutboundQueueLimits, release: () => void) {
    if (!(limits.maxMessages >= 1) || !(limits.maxBytes >= 1)) throw new RangeError('maxMessages and maxBytes must be at least 1');
    this.limits = { maxMessages: limits.maxMessages, maxBytes: limits.maxBytes };
    this.#file = file;
    this.#name = name;
    this.#release = release;
    const db = file.db;
    this.#insert = db.prepare('INSERT INTO outbound (seq, queue, topic, payload, qos, retain) VALUES (?, ?, ?, ?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM outbound WHERE seq = ?');
    this.#clear = db.prepare('DELETE FROM outbound WHERE queue = ?');
    const rows = db.prepare('SELECT seq, topic, payload, qos, retain FROM outbound WHERE queue = ? ORDER BY seq').all(name) as Row[];
    for (const r of rows) {
      const msg = { topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain !== 0 };
      const size = sizeOf(msg);
      this.#entries.push({ seq: r.seq, ...msg, size, live: true });
      this.#size++;
      this.#bytes += size;
    }
    // Limits lowered since the last run: the oldest go, as they would have on push.
    while (this.#size > this.limits.maxMessages || this.#bytes > this.limits.maxBytes) {
      this.#removeHead();
      this.#dropped++;
    }
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
      this.#dropped++;
      return { queued: undefined, dropped: 1 };
    }
    let dropped = 0;
    while (this.#size >= this.limits.maxMessages || this.#bytes + size > this.limits.maxBytes) {
      this.#removeHead();
      dropped++;
    }
    this.#dropped += dropped;
    const entry: Entry = { seq: this.#file.nextSeq(), topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, size, live: true };
    this.#file.write(() => this.#insert.run(entry.seq, this.#name, entry.topic, entry.payload, entry.qos, entry.retain ? 1 : 0));
    this.#entries.push(entry);
    this.#size++;
    this.#bytes += size;
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
    const i = this.#firstAfter(seq - 1);
    const e = this.#entries[i];
    if (e === undefined || e.seq !== seq || !e.live) return false;
    this.#kill(e);
    this.#advance();
    return true;
  }

  clear(): void {
    this.#file.write(() => this.#clear.run(this.#name));
    this.#entries = [];
    this.#head = 0;
    this.#size = 0;
    this.#bytes = 0;
  }

  /** Detaches from the file (which stays open) once what was written is committed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#release();
    return this.#file.closed ? Promise.resolve() : this.#file.flush();
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
    this.#file.write(() => this.#delete.run(e.seq));
  }

  /** Takes out the oldest live entry; the caller knows there is one. */
  #removeHead(): Entry {
    const e = this.#entries[this.#head]!;
    this.#kill(e);
    this.#advance();
    return e;
  }

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
