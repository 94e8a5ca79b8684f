/**
 * The pieces of off-thread durability: our own descriptor of the WAL (synced on libuv's thread
 * pool after commits), the waiters of `flush()`, and the errors a lost batch or a failed fsync
 * reports.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError, StoreErrorCode } from './errors.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface Waiter extends Deferred {
  /** durable once this many batches are committed and synced */
  upTo: number;
}

/** A descriptor of the WAL (which the write just before created), its directory entry made durable. */
export function openWal(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(`${path}-wal`, 'r');
  } catch {
    return undefined;
  }
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Not every platform syncs a directory; the entry is on the disk at the next checkpoint anyway.
  }
  return fd;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function syncFailed(cause: unknown, path: string): StoreError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(StoreErrorCode.SYNC_FAILED, `store ${path}: fsync failed (${why}); what was written may never reach the disk: nothing is acknowledged any more, check the disk and restart the gateway`, { cause, path });
}

export function lostBatch(cause: unknown, path: string): StoreError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(StoreErrorCode.WRITE_FAILED, `store ${path}: writes could not be committed: ${why}`, { cause, path });
}
