/**
 * Opening a store file and deciding whether it may be used: refused, with a coded `StoreError`
 * and without changing a byte, when it is not a SQLite database, is damaged, belongs to another
 * program, was written by a newer gateway, or is locked by another process.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from './errors.js';
import { inspect, migrate, SCHEMA_VERSION } from './sqlite-schema.js';

export interface OpenOptions {
  /** How long to wait for another process's lock before failing with `LOCKED`; default 2000 ms (a restart racing its predecessor's exit). */
  lockTimeoutMs?: number;
  /** Run `PRAGMA quick_check` at open, so a damaged file stops the start instead of failing later; default true. */
  check?: boolean;
}

/** The WAL is truncated to this after a checkpoint. */
const WAL_SIZE_LIMIT = 4 * 1024 * 1024;

/**
 * Opens (creating when missing) and checks the file, migrates an older schema, and takes the
 * lock; then hands the database to `use`. Whatever fails, `use` included, closes the database.
 */
export function openDatabase<T>(path: string, options: OpenOptions, use: (db: Database.Database) => T): T {
  let db: Database.Database;
  try {
    createPrivate(path);
    db = new Database(path, { timeout: options.lockTimeoutMs ?? 2000 });
  } catch (err) {
    throw openError(err, path);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const found = inspect(db);
    switch (found.kind) {
      case 'foreign': {
        const what = found.tables.length === 0 ? `application id ${found.applicationId}` : `tables ${found.tables.slice(0, 5).join(', ')}${found.tables.length > 5 ? ', ...' : ''}`;
        throw new StoreError(StoreErrorCode.FOREIGN, `store ${path} is a SQLite database of another program (${what}); point store.path at another file`, { path });
      }
      case 'ours':
        if (found.version > SCHEMA_VERSION) {
          throw new StoreError(
            StoreErrorCode.TOO_NEW,
            `store ${path} has schema version ${found.version}, written by a newer gateway; this one knows up to ${SCHEMA_VERSION}: run the newer version, or move the file away to start empty`,
            { path },
          );
        }
        if (options.check !== false) quickCheck(db, path);
        break;
      case 'empty':
        // Only possible before the first table exists; it is what lets maintain() shrink the file.
        db.pragma('auto_vacuum = INCREMENTAL');
        break;
    }
    // Changing the journal mode writes the header: the first moment another process's lock shows.
    const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
    if (mode !== 'wal') throw new StoreError(StoreErrorCode.OPEN_FAILED, `store ${path} cannot use WAL mode (got ${mode})`, { path });
    db.pragma('synchronous = FULL');
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    migrate(db, found.kind === 'ours' ? found.version : 0);
    return use(db);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw openError(err, path);
  }
}

/**
 * Creates a missing store file readable by its owner alone (0600): it holds every device's
 * messages, wills and session state. SQLite gives the WAL the database file's mode, so the WAL
 * is private too. An empty file is a new database to SQLite; an existing one is left as it is.
 */
function createPrivate(path: string): void {
  if (path === ':memory:' || path === '') return;
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    // EEXIST: there already, left as it is. Anything else (no such folder) is SQLite's to report, in its words.
  }
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** A failure while opening, in the words a person acts on. */
function openError(err: unknown, path: string): StoreError {
  const code = sqliteCode(err) ?? '';
  const why = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(StoreErrorCode.CORRUPT, `store ${path} is not a usable SQLite database (${why}); the gateway does not overwrite it: move it away to start empty, or point store.path elsewhere`, { cause: err, path });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(StoreErrorCode.LOCKED, `store ${path} is in use by another process (another gateway on the same file?)`, { cause: err, path });
  }
  return new StoreError(StoreErrorCode.OPEN_FAILED, `store ${path} cannot be opened for writing: ${why}`, { cause: err, path });
}

/** `PRAGMA quick_check`: the structure of every page, without the cost of checking indexes against tables. */
function quickCheck(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (problems.length > 0) {
    throw new StoreError(StoreErrorCode.CORRUPT, `store ${path} is damaged (${problems.join('; ')}); move it away to start empty, or point store.path elsewhere`, { path });
  }
}
