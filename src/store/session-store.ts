/**
 * What the gateway keeps of its MQTT-SN sessions across a restart or a power cut: sessions that
 * outlive their connection (clean session false, or asleep), the messages queued for them, the
 * QoS 2 ids they sent and await PUBREL for, and the local broker's retained messages.
 *
 * Writes are synchronous calls that the implementation batches; `flush()` resolves once every
 * write made before it is durable. The gateway acknowledges a QoS 1/2 message (PUBACK, PUBREC)
 * only after such a flush, so an acknowledged message is never lost.
 */

export type PersistedState = 'active' | 'asleep' | 'disconnected' | 'lost';

import type { Message, Will } from '../message.js';

export type { Will };

export interface PersistedSession {
  clientId: string;
  /** the transport it was last reached on (its `name`) and the peer key there */
  transport: string | undefined;
  peerKey: string | undefined;
  state: PersistedState;
  cleanSession: boolean;
  keepAliveSec: number;
  sleepSec: number;
  will: Will | undefined;
  subscriptions: Array<{ filter: string; qos: 0 | 1 | 2; kind: 'name' | 'wildcard' | 'short' | 'predefined' }>;
  topics: Array<{ id: number; name: string }>;
}

export interface PersistedDelivery extends Message {
  /** place in the client's queue: increasing, never reused while the store lives */
  seq: number;
  /**
   * Set once the gateway sent it: the MsgId used and how far the QoS flow got, so a restart
   * resends with the same MsgId (DUP) or, after PUBREC, sends PUBREL instead (MQTT-SN.md §4.7).
   */
  sent?: { msgId: number; stage: 'puback' | 'pubrec' | 'pubcomp' };
}

/** Retained by definition, so without the flag. */
export type RetainedMessage = Omit<Message, 'retain'>;

export interface StoredState {
  sessions: PersistedSession[];
  /** by client id, oldest first */
  queues: Map<string, PersistedDelivery[]>;
  /** by client id: QoS 2 MsgIds received and published, waiting for PUBREL */
  qos2: Map<string, number[]>;
  retained: RetainedMessage[];
}

export interface SessionStore {
  /** Everything stored, to rebuild from at start. */
  load(): Promise<StoredState>;
  /** Replaces the session record (its queue and QoS 2 ids are kept apart). */
  saveSession(s: PersistedSession): void;
  /** Forgets a session with its queue and QoS 2 ids. */
  deleteSession(clientId: string): void;
  /** Appends to a client's queue; returns the entry's seq. */
  enqueue(clientId: string, d: Omit<PersistedDelivery, 'seq' | 'sent'>): number;
  /** Records that an entry was sent, or moved on in its QoS flow. */
  markSent(clientId: string, seq: number, sent: NonNullable<PersistedDelivery['sent']>): void;
  /** Removes an entry: delivered, or dropped by a limit. */
  dequeue(clientId: string, seq: number): void;
  addQos2(clientId: string, msgId: number): void;
  removeQos2(clientId: string, msgId: number): void;
  /** Sets (or, with an empty payload, clears) a retained message of the local broker. */
  setRetained(msg: RetainedMessage): void;
  /**
   * Resolves when every write made before the call is durable. With `since` (a `lostBatches()`
   * taken before the writes), rejects too when any batch was lost since: the caller's writes may
   * have been in it, even if the store works again by now.
   */
  flush(since?: number): Promise<void>;
  /** Batches lost so far (a store that cannot lose one: always 0). */
  lostBatches?(): number;
  /** Runs `fn` should the writes just made be lost, so memory forgets what the disk never got. */
  undoIfLost?(fn: () => void): void;
  close(): Promise<void>;
}
