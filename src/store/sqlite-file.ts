/**
 * One SQLite file, opened for the gateway alone, with writes grouped into one transaction per
 * event-loop turn and made durable off the event loop.
 *
 * Batches: every write made during a turn of the event loop joins the transaction that is open;
 * it commits in the turn's check phase (`setImmediate`), so a burst of messages costs one commit.
 *
 * Durability without blocking: the WAL is written with `synchronous=NORMAL` (a commit reaches the
 * OS, not yet the disk), and the WAL file is then `fdatasync`ed on libuv's thread pool. `flush()`
 * resolves once a sync that began after the flush's writes were committed has finished: the same
 * guarantee as `synchronous=FULL` (the WAL on the disk before the acknowledgement, a power cut
 * included), but the event loop goes on taking messages during the sync, and whatever commits
 * meanwhile is covered by the next one (group commit). fsync works on the file, not the
 * descriptor, so our own descriptor of the WAL covers SQLite's writes. A checkpoint still syncs
 * the WAL before and the database after copying, as `NORMAL` does, so the file is never damaged;
 * where the WAL cannot be opened (an in-memory database) the file falls back to `FULL`.
 *
 * Exclusivity: `locking_mode=EXCLUSIVE` takes the file's lock at open and keeps it, so a second
 * gateway on the same file is refused at start (two writers would each trust their own memory of
 * it), WAL needs no shared-memory `-shm` file, and the WAL file lives (same inode) until close.
 *
 * Size: deleted rows free their pages for the next inserts, so a steady flow stays at its
 * high-water mark. After a backlog drains (an upstream outage, say), `auto_vacuum=INCREMENTAL` lets
 * `maintain()` hand the free pages back in bounded steps; the WAL is checkpointed every 1000 pages
 * (SQLite's default) and cut back to `journal_size_limit` after each checkpoint, so it does not
 * keep the size of its largest batch either.
 */
import { closeSync, fdatasync, fdatasyncSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { noopLogger, type Logger } from '../logger.js';
import { StoreError, StoreErrorCode } from './errors.js';
import { deferred, lostBatch, openWal, syncFailed, type Waiter } from './sqlite-durability.js';
import { IDENTITY_CHECK_MS, identityOf, systemWatchClock, whatMoved, type FileIdentity, type WatchClock } from './sqlite-identity.js';
import { openDatabase, type OpenOptions } from './sqlite-open.js';
import { SEQ_COUNTER } from './sqlite-schema.js';

export { IDENTITY_CHECK_MS, type WatchClock } from './sqlite-identity.js';

export interface SqliteFileOptions extends OpenOptions {
  logger?: Logger;
  /**
   * The clock the file's identity is checked on (every IDENTITY_CHECK_MS, besides before each
   * acknowledgement); default the system clock. Tests pass a fake one.
   */
  clock?: WatchClock;
  /** `fs.fdatasync`; a unit test passes one that fails, as a dying disk would. */
  fdatasync?: (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;
}

/** Why the store cannot make writes durable now; undefined when it can. */
export interface StoreHealth {
  ok: boolean;
  /** one sentence for /healthz and the log */
  problem?: string | undefined;
  code?: StoreErrorCode | undefined;
}

/** Seqs are reserved on disk this many at a time, so handing one out is not a write of its own. */
const SEQ_BLOCK = 4096;
/** Free pages kept for reuse rather than returned to the file system. */
const KEEP_FREE_PAGES = 256;
/** At most this many pages are returned per maintenance, bounding the pause. */
const VACUUM_STEP_PAGES = 4096;
/** WAL syncs under way at once. */
const MAX_SYNCS = 2;
/** Maintenance runs after a commit at most this often. */
const MAINTAIN_EVERY_MS = 30_000;

interface Batch {
  /** the first write that failed: the whole batch is rolled back */
  error: unknown;
  /** what undoes, in memory, what the batch's writes did there: run newest first when it is lost */
  undo: Array<() => void>;
}

const RESOLVED = Promise.resolve();

export interface SqliteFileStats {
  /** transactions committed */
  commits: number;
  /** WAL syncs finished (each covers every commit before it began) */
  syncs: number;
  /** batches rolled back because a write or the commit failed */
  failedBatches: number;
  /** writes ignored because they came after close() */
  lateWrites: number;
}

export class SqliteFile {
  readonly db: Database.Database;
  readonly path: string;
  readonly stats: SqliteFileStats = { commits: 0, syncs: 0, failedBatches: 0, lateWrites: 0 };
  readonly #logger: Logger;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #setCounter: Database.Statement;
  /** our descriptor of the WAL, synced after commits; undefined: SQLite syncs itself (FULL) */
  readonly #walFd: number | undefined;
  #batch: Batch | undefined;
  /** batches committed so far, and how many of them are known to be on the disk */
  #committed = 0;
  #synced = 0;
  /** syncs under way, and the most commits one of them covers */
  readonly #syncing = new Set<Promise<void>>();
  #syncStarted = 0;
  #waiters: Waiter[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #seq: number;
  #reserved: number;
  #lastMaintain = performance.now();
  /** why acknowledgements stop: sticky for a gone file or a failed fsync, until the next good batch for a failed one */
  #failure: StoreError | undefined;
  #fatal = false;
  /** the probe batch of a failing store: healthy again once it is synced with nothing lost since */
  #probe: { upTo: number; failedBefore: number } | undefined;
  readonly #identity: FileIdentity;
  readonly #fdatasync: NonNullable<SqliteFileOptions['fdatasync']>;
  #watch: { cancel(): void } | undefined;

  private constructor(db: Database.Database, path: string, logger: Logger, options: SqliteFileOptions) {
    this.db = db;
    this.path = path;
    this.#logger = logger;
    this.#fdatasync = options.fdatasync ?? fdatasync;
    this.#begin = db.prepare('BEGIN');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#setCounter = db.prepare('INSERT INTO counter (name, next) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET next = excluded.next');
    const reserved = (db.prepare('SELECT next FROM counter WHERE name = ?').get(SEQ_COUNTER) as { next: number } | undefined)?.next ?? 1;
    const used = db.prepare('SELECT max((SELECT ifnull(max(seq), 0) FROM delivery), (SELECT ifnull(max(seq), 0) FROM outbound)) AS m').get() as { m: number };
    this.#seq = Math.max(reserved, used.m + 1);
    // A first reservation now, synchronously and durably: the hot path starts with seqs in hand,
    // and the write makes SQLite create the WAL that is opened below.
    this.#reserved = this.#seq + SEQ_BLOCK;
    db.pragma('synchronous = FULL');
    this.#setCounter.run(SEQ_COUNTER, this.#reserved);
    this.#walFd = openWal(path);
    if (this.#walFd !== undefined) db.pragma('synchronous = NORMAL');
    // The lock is held from here on (EXCLUSIVE), so the file at the path now is the one we write.
    this.#identity = identityOf(path, this.#walFd);
    const clock = options.clock ?? systemWatchClock;
    const watch = (): void => {
      if (this.checkIdentity() && this.#failure !== undefined) this.#startProbe();
      if (!this.#closed) this.#watch = clock.setTimeout(watch, IDENTITY_CHECK_MS);
    };
    this.#watch = clock.setTimeout(watch, IDENTITY_CHECK_MS);
  }

  /**
   * A failing store (a lost batch) is tried again on the clock, not by whoever writes next: one
   * small write (the seq reservation, rewritten as it is); once it is committed and synced with
   * no batch lost meanwhile, the store is healthy again. Until then it stays failing, so /healthz
   * says so for a while rather than flapping between two messages.
   */
  #startProbe(): void {
    if (this.#closed || this.#probe !== undefined) return;
    const reserved = this.#reserved;
    this.write(() => this.#setCounter.run(SEQ_COUNTER, reserved));
    this.#probe = { upTo: this.#committed + 1, failedBefore: this.stats.failedBatches };
  }

  /** Whether writes can be made durable now, and if not, why (for /healthz). */
  health(): StoreHealth {
    if (this.#failure === undefined) return { ok: true };
    return { ok: false, problem: this.#failure.message, code: this.#failure.code };
  }

  /**
   * Checks that the path (and its WAL) still name the files this store writes: a file deleted or
   * replaced under a running gateway would take every later write with it at the next start.
   * Once it happened, nothing more is acknowledged until a restart opens the file at the path.
   */
  checkIdentity(): boolean {
    if (this.#closed || this.#fatal) return !this.#fatal;
    const moved = whatMoved(this.path, this.#identity);
    if (moved === undefined) return true;
    this.#fail(new StoreError(StoreErrorCode.GONE, `store ${this.path}: ${moved} while the gateway had it open; nothing is acknowledged any more: restart the gateway (it opens the file now at the path)`, { path: this.path }), true);
    return false;
  }

  /** Acknowledgements stop: `fatal` until a restart, else until a later batch is committed and synced. */
  #fail(err: StoreError, fatal: boolean): void {
    const first = this.#failure === undefined || (fatal && !this.#fatal);
    if (fatal) this.#fatal = true;
    if (this.#fatal && !fatal) return; // a fatal failure stays the one reported
    this.#failure = err;
    if (first) this.#logger.error({ err, path: this.path }, fatal ? 'store unusable: acknowledgements stopped until a restart' : 'store failing: acknowledgements stopped until a batch commits again');
    if (fatal) {
      for (const w of this.#waiters.splice(0)) w.reject(err);
    }
  }

  /**
   * Opens (creating when missing) and checks the file, migrates an older schema, and takes the
   * lock. Refuses, with a coded `StoreError` and without changing a byte, a file that is not a
   * SQLite database, is damaged, belongs to another program, or was written by a newer gateway.
   */
  static open(path: string, options: SqliteFileOptions = {}): SqliteFile {
    return openDatabase(path, options, (db) => new SqliteFile(db, path, options.logger ?? noopLogger, options));
  }

  /**
   * Runs `fn`, which writes, inside the batch that is open (opening one). A failing write is not
   * thrown at the caller, whose protocol step must go on: it fails the batch, so the next
   * `flush()` rejects and nothing waiting on it is acknowledged.
   */
  write(fn: () => void): void {
    if (this.#closed) {
      this.stats.lateWrites++;
      return;
    }
    let batch = this.#batch;
    if (batch === undefined) {
      batch = this.#batch = { error: undefined, undo: [] };
      try {
        this.#begin.run();
      } catch (err) {
        batch.error = err;
      }
      setImmediate(() => this.#commitBatch(batch!));
    }
    if (batch.error !== undefined) return;
    try {
      fn();
    } catch (err) {
      batch.error = err;
    }
  }

  /**
   * Registers what undoes, in the caller's memory, the writes it just made, should the open batch
   * be lost (rolled back): memory then agrees with the disk again, so a client's retry of a
   * refused message is not a second copy beside one kept in memory only.
   */
  undoIfLost(fn: () => void): void {
    this.#batch?.undo.push(fn);
  }

  /**
   * Resolves once every write made before the call is on the disk; rejects when its batch was
   * lost, and whenever the store is failing (gone, sync failed, a batch lost and none committed
   * since): an acknowledgement must never rest on a store that cannot keep it.
   */
  flush(since?: number): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError(StoreErrorCode.CLOSED, `store ${this.path} is closed`, { path: this.path }));
    if (this.#fatal) return Promise.reject(this.#failure!);
    if (since !== undefined && this.stats.failedBatches > since) {
      return Promise.reject(this.#failure ?? new StoreError(StoreErrorCode.WRITE_FAILED, `store ${this.path}: a batch was lost since these writes began`, { path: this.path }));
    }
    if (this.#failure !== undefined && this.#batch === undefined) return Promise.reject(this.#failure);
    const upTo = this.#batch === undefined ? this.#committed : this.#committed + 1;
    if (upTo <= this.#synced) return RESOLVED;
    // Committed but not synced, and no batch to start a sync: after a failed sync, try again.
    if (this.#batch === undefined) this.#sync();
    // Under load most flushes of a turn wait for the same batch: they share one promise.
    const last = this.#waiters.at(-1);
    if (last?.upTo === upTo) return last.promise;
    const w: Waiter = { ...deferred(), upTo };
    this.#waiters.push(w);
    return w.promise;
  }

  /** A seq for `delivery` or `outbound`: increasing, never handed out twice in the file's life. */
  nextSeq(): number {
    if (this.#seq >= this.#reserved) {
      const reserved = this.#seq + SEQ_BLOCK;
      this.#reserved = reserved;
      this.write(() => this.#setCounter.run(SEQ_COUNTER, reserved));
    }
    return this.#seq++;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes on disk: the database and its WAL. */
  size(): number {
    let total = 0;
    for (const f of [this.path, `${this.path}-wal`]) {
      try {
        total += statSync(f).size;
      } catch {
        // no WAL right now
      }
    }
    return total;
  }

  /**
   * Gives free pages back to the file system (beyond a few kept for reuse) and checkpoints the
   * WAL. Runs between batches, never inside one.
   */
  maintain(): void {
    if (!this.#closed && this.#batch === undefined) this.#maintain();
  }

  #maintain(): void {
    this.#lastMaintain = performance.now();
    try {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free > KEEP_FREE_PAGES) this.db.pragma(`incremental_vacuum(${Math.min(free - KEEP_FREE_PAGES, VACUUM_STEP_PAGES)})`);
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      // Space not returned yet is no loss; the next maintenance tries again.
      this.#logger.warn({ err, path: this.path }, 'store maintenance failed');
    }
  }

  /** Commits what is pending, waits until it is on the disk, gives back free space, and closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#watch?.cancel();
    const batch = this.#batch;
    if (batch !== undefined) this.#commitBatch(batch);
    this.#closed = true;
    // A sync under way uses the descriptor: it must end before the descriptor does.
    while (this.#syncing.size > 0) await Promise.all(this.#syncing);
    if (this.#committed > this.#synced) {
      try {
        if (this.#walFd !== undefined) fdatasyncSync(this.#walFd);
        this.#settle(this.#committed, undefined);
      } catch (err) {
        this.#settle(this.#committed, err);
      }
    }
    this.#maintain();
    this.db.close();
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    if (batch?.error !== undefined) throw lostBatch(batch.error, this.path);
  }

  #commitBatch(batch: Batch): void {
    if (this.#batch !== batch) return; // committed already (by close)
    this.#batch = undefined;
    let failure = batch.error;
    if (failure === undefined) {
      try {
        this.#commit.run();
        this.stats.commits++;
      } catch (err) {
        failure = err;
      }
    }
    if (failure === undefined) {
      this.#committed++;
      this.#sync();
      if (performance.now() - this.#lastMaintain >= MAINTAIN_EVERY_MS) this.maintain();
      return;
    }
    if (this.db.inTransaction) {
      try {
        this.#rollback.run();
      } catch {
        // SQLite rolled it back itself
      }
    }
    this.stats.failedBatches++;
    batch.error = failure;
    const err = lostBatch(failure, this.path);
    this.#logger.error({ err }, 'store writes lost: nothing of this batch is acknowledged');
    // The disk has none of the batch: memory forgets it too, newest first.
    for (const undo of batch.undo.reverse()) {
      try {
        undo();
      } catch (undoErr) {
        this.#logger.error({ err: undoErr }, 'undoing a lost write in memory failed');
      }
    }
    this.#probe = undefined;
    this.#fail(err, false);
    // Those who waited for this batch (always the last in line): it will never be durable.
    const last = this.#waiters.at(-1);
    if (last?.upTo === this.#committed + 1) {
      this.#waiters.pop();
      last.reject(err);
    }
  }

  /**
   * Starts a sync of everything committed, unless enough are under way (the end of one starts the
   * next). Two may overlap: a batch committed just after a sync began need not wait for it to end
   * before its own can start.
   */
  #sync(): void {
    if (this.#committed <= this.#syncStarted || this.#syncing.size >= MAX_SYNCS) return;
    const upTo = this.#committed;
    this.#syncStarted = upTo;
    const fd = this.#walFd;
    if (fd === undefined) {
      // synchronous=FULL: the commit itself was the sync.
      this.#settle(upTo, undefined);
      return;
    }
    const done = new Promise<void>((resolve) => {
      this.#fdatasync(fd, (err) => {
        this.#syncing.delete(done);
        this.stats.syncs++;
        // fsync covers the file as it was when the call began, whichever call ends first.
        this.#settle(upTo, err ?? undefined);
        resolve();
        if (err) {
          // Not on the disk, as far as we know: the next flush() syncs again rather than trusting it.
          this.#syncStarted = Math.min(this.#syncStarted, this.#synced);
        } else if (!this.#closed) {
          this.#sync();
        }
      });
    });
    this.#syncing.add(done);
  }

  /** Commits up to `upTo` are synced (or failed to be): their waiters hear of it. */
  #settle(upTo: number, err: unknown): void {
    // Nothing is acknowledged from a file that is no longer the one at the path.
    if (err === undefined && !this.checkIdentity()) err = this.#failure;
    if (err === undefined) {
      this.#synced = Math.max(this.#synced, upTo);
      // The probe of a failing store went through: it works again (a disk that had filled up has room).
      if (this.#probe !== undefined && upTo >= this.#probe.upTo && this.stats.failedBatches === this.#probe.failedBefore && !this.#fatal) {
        this.#probe = undefined;
        this.#failure = undefined;
        this.#logger.info({ path: this.path }, 'store working again: acknowledgements resume');
      }
    }
    const lost = err === undefined ? undefined : err instanceof StoreError && err.code === StoreErrorCode.GONE ? err : syncFailed(err, this.path);
    // fsync failing once means pages the OS held may be dropped, and a second fsync can report
    // success over the loss (Linux clears the error): no acknowledgement can rest on this file again.
    if (lost !== undefined && !this.#fatal) this.#fail(lost, true);
    // Waiters are in line by `upTo`: the ones served are at the front.
    let n = 0;
    for (const w of this.#waiters) {
      if (w.upTo > upTo) break;
      if (lost === undefined) w.resolve();
      else w.reject(lost);
      n++;
    }
    if (n > 0) this.#waiters.splice(0, n);
  }
}
