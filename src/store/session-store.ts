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

/**
 * What a 2.0 session (OASIS MQTT-SN 2.0 CSD01) agreed in its CONNECT and still needs after a
 * restart: the gateway answers it in 2.0 and holds it to these. Left out on purpose: Retain
 * Handling (used once, when the SUBSCRIBE is answered); whether topic aliases are retained across
 * a sleep [3.15.2.1] (the gateway tells every alias again by REGISTER before its next use after a
 * restart anyway, as after a reconnect: correct whichever the client asked for); the Packet
 * Identifiers of the last CONNECT and PINGREQ and the one request owed an answer (a restart ends
 * that exchange; the client retries with a new one).
 */
export interface PersistedV2 {
  /** Session Expiry Interval in seconds [3.1.9]; 0xFFFFFFFF: never */
  sessionExpirySec: number;
  /** Default Awake Messages [3.1.8]: at most this many messages per wake; undefined: all */
  awakeLimit: number | undefined;
  /** Maximum Packet Size [3.1.7]; 0: no limit but the medium's */
  maxPacketSize: number;
  /** Net Addr [3.1.2.6]: the client may move by Connection Encapsulation */
  allowAddressChange: boolean;
}

export interface PersistedSession {
  clientId: string;
  /**
   * Present exactly when the session speaks MQTT-SN 2.0 (its CONNECT was 2.0); absent: 1.2, as
   * every session stored before the store kept the version.
   */
  v2?: PersistedV2;
  /**
   * Wall-clock ms (since the epoch) the client was last heard, kept while it is absent
   * (disconnected or lost): its session expiry counts from there across a restart, as it did
   * before. Absent when unknown (a store written before it was kept): counted from the restart.
   */
  silentSince?: number;
  /** the transport it was last reached on (its `name`) and the peer key there */
  transport: string | undefined;
  peerKey: string | undefined;
  state: PersistedState;
  cleanSession: boolean;
  keepAliveSec: number;
  sleepSec: number;
  will: Will | undefined;
  /** `noLocal` / `retainAsPublished`: 2.0 subscription options [3.7.2], present only when set */
  subscriptions: PersistedSubscription[];
  topics: Array<{ id: number; name: string }>;
}

export interface PersistedSubscription {
  filter: string;
  qos: 0 | 1 | 2;
  kind: 'name' | 'wildcard' | 'short' | 'predefined';
  noLocal?: true;
  retainAsPublished?: true;
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
