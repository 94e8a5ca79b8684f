/**
 * The upstream outbound queue on SQLite: the `OutboundQueue` contract, kept across restarts.
 *
 * Reads never touch the file: it is the memory queue, loaded once at open, whose every change is
 * mirrored as one statement in the file's current batch (an INSERT per push, a DELETE per ack or
 * drop), committed with the gateway's other writes, so the `flush()` before a PUBACK covers the
 * message's place in this queue too.
 */
import type Database from 'better-sqlite3';
import { MemoryOutboundQueue } from './memory-queue.js';
import type { SqliteFile } from './sqlite-file.js';
import type { OutboundQueueLimits, QueuedMessage } from './types.js';

interface Row {
  seq: number;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: number;
}

export class SqliteOutboundQueue extends MemoryOutboundQueue {
  readonly #file: SqliteFile;
  readonly #name: string;
  readonly #release: () => void;
  readonly #insert: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #clear: Database.Statement;
  #closed = false;

  /** Use `SqliteStore.outboundQueue()`. */
  constructor(file: SqliteFile, name: string, limits: OutboundQueueLimits, release: () => void) {
    // Seqs come from the file, which hands them out to every table: increasing, never reused.
    super(limits, () => file.nextSeq());
    this.#file = file;
    this.#name = name;
    this.#release = release;
    const db = file.db;
    this.#insert = db.prepare('INSERT INTO outbound (seq, queue, topic, payload, qos, retain) VALUES (?, ?, ?, ?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM outbound WHERE seq = ?');
    this.#clear = db.prepare('DELETE FROM outbound WHERE queue = ?');
    const rows = db.prepare('SELECT seq, topic, payload, qos, retain FROM outbound WHERE queue = ? ORDER BY seq').all(name) as Row[];
    this.restore(rows.map((r) => ({ seq: r.seq, topic: r.topic, payload: r.payload, qos: r.qos, retain: r.retain !== 0 })));
  }

  protected override stored(e: QueuedMessage): void {
    this.#file.write(() => this.#insert.run(e.seq, this.#name, e.topic, e.payload, e.qos, e.retain ? 1 : 0));
    // Lost with its batch: out of memory too, or the client's retry would queue a second copy.
    this.#file.undoIfLost(() => this.ack(e.seq));
  }

  protected override removed(e: QueuedMessage): void {
    this.#file.write(() => this.#delete.run(e.seq));
  }

  protected override cleared(): void {
    this.#file.write(() => this.#clear.run(this.#name));
  }

  /** Detaches from the file (which stays open) once what was written is committed. */
  override close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#release();
    return this.#file.closed ? Promise.resolve() : this.#file.flush();
  }
}
