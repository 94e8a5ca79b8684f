/**
 * Storage interfaces. Each has a memory implementation (tests, and setups that accept losing state
 * on restart) and will get a SQLite one; both pass the same conformance suite in `test/store/`.
 */

import type { Message } from '../message.js';

/** What the upstream queue holds: the one message shape of src/message.ts. */
export type { Message };

/** A message in the queue, with its place in line. */
export interface QueuedMessage extends Message {
  /**
   * Position in the queue: strictly increasing in push order, never reused while the queue lives
   * (a durable queue keeps counting across restarts), never 0, so 0 can mean "before the first".
   */
  readonly seq: number;
}

export interface OutboundQueueLimits {
  /** entries kept at most */
  readonly maxMessages: number;
  /** sum of `sizeOf` over the entries, at most */
  readonly maxBytes: number;
}

export interface PushResult {
  /** the entry as queued, or `undefined` when the message alone is larger than `maxBytes` */
  readonly queued: QueuedMessage | undefined;
  /** entries dropped to make room (the oldest first), plus the message itself when it did not fit */
  readonly dropped: number;
}

/**
 * Messages bound for the upstream, oldest first, kept until the upstream acknowledged them.
 *
 * Entries are not taken out when they are sent: the sender reads ahead with `peek(limit, afterSeq)`
 * and removes an entry with `ack(seq)` once the upstream has it, in whatever order acks come. What
 * is sent and not yet acked when a connection drops is therefore still here to be sent again, and
 * a durable implementation keeps it across a restart.
 *
 * Bounded by count and by bytes. A push that would exceed either limit drops the oldest entries
 * first (in flight or not: the newest data is what a site wants when the link comes back) and
 * counts them in `dropped`. Calls are synchronous, so the sender's bookkeeping and the queue never
 * disagree between two calls.
 */
export interface OutboundQueue {
  readonly limits: OutboundQueueLimits;
  /** entries in the queue */
  readonly size: number;
  /** sum of `sizeOf` over the entries */
  readonly bytes: number;
  /** entries dropped by the limits since the queue was created (a durable queue: since it was opened) */
  readonly dropped: number;

  /** Appends a message, dropping the oldest entries when needed to stay within the limits. */
  push(msg: Message): PushResult;
  /** Up to `limit` entries with `seq > afterSeq` (default 0: from the oldest), oldest first; nothing is removed. */
  peek(limit: number, afterSeq?: number): QueuedMessage[];
  /** Removes and returns the oldest entry. */
  shift(): QueuedMessage | undefined;
  /** Removes the entry `seq` wherever it is; false when there is none (already acked or dropped). */
  ack(seq: number): boolean;
  /** Removes every entry (not counted as dropped). */
  clear(): void;
  /** Releases the storage. The queue is not used afterwards. */
  close(): Promise<void>;
}

/** What an entry costs against `maxBytes`: its topic in UTF-8 and its payload. */
export function sizeOf(msg: Message): number {
  return Buffer.byteLength(msg.topic, 'utf8') + msg.payload.length;
}
