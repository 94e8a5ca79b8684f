/**
 * The file-identity watch: whether the path (and its WAL) still name the files a store writes
 * (same device and inode), since a file deleted or replaced under a running gateway would take
 * every later write with it at the next start.
 */
import { fstatSync, statSync, type Stats } from 'node:fs';

/** The part of the gateway's Clock the file uses (store/ imports no gateway module). */
export interface WatchClock {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

/** How often an idle store checks that its path still names the file it writes. */
export const IDENTITY_CHECK_MS = 5000;

/** Unref'd, so the watch alone never keeps the process alive. */
export const systemWatchClock: WatchClock = { setTimeout: (fn: () => void, ms: number) => { const t = setTimeout(fn, ms); t.unref(); return { cancel: () => clearTimeout(t) }; } };

export interface FileIdentity {
  db: Stats;
  wal: Stats | undefined;
}

export function identityOf(path: string, walFd: number | undefined): FileIdentity {
  return { db: statSync(path), wal: walFd === undefined ? undefined : fstatSync(walFd) };
}

/** How the database or its WAL at `path` differ from `known`, or undefined when they are the same. */
export function whatMoved(path: string, known: FileIdentity): string | undefined {
  return changed(path, known.db) ?? (known.wal === undefined ? undefined : changed(`${path}-wal`, known.wal));
}

/** How the file at `path` differs from `known` (deleted, replaced), or undefined when it is the same. */
function changed(path: string, known: Stats): string | undefined {
  let now: Stats;
  try {
    now = statSync(path);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} was deleted` : `${path} cannot be checked (${(err as Error).message})`;
  }
  return now.dev === known.dev && now.ino === known.ino ? undefined : `${path} was replaced by another file`;
}
