/**
 * The gateway's side of the session store: which sessions are kept, and the calls that keep the
 * store in step with them. Without a store every call is a no-op, so the protocol code has one
 * path whether state is durable or not.
 *
 * A session is kept while it outlives its connection: clean session false, or asleep (a sleeper's
 * buffer must survive a restart whatever its clean-session flag).
 */
import type { PersistedSession, SessionStore, StoredState } from '../store/session-store.js';
import type { Session } from './session.js';
import type { Delivery } from './types.js';

export function isKept(s: Session): boolean {
  return !s.cleanSession || s.state === 'asleep' || s.state === 'awake';
}

/** Tells the uplink, once, that the gateway is finished with `d` (Delivery.settled). */
export function letGo(d: Delivery): void {
  const settled = d.settled;
  d.settled = undefined;
  settled?.();
}

export class Persistence {
  constructor(readonly store: SessionStore | undefined) {}

  /** Writes the session record, or forgets the session when it is no longer kept. */
  session(s: Session): void {
    if (this.store === undefined) return;
    if (!isKept(s)) {
      this.store.deleteSession(s.clientId);
      return;
    }
    this.store.saveSession(snapshot(s));
  }

  forget(s: Session): void {
    this.store?.deleteSession(s.clientId);
  }

  /** A message queued for a kept session is stored before anything acknowledges it. */
  queued(s: Session, d: Delivery): void {
    if (this.store === undefined || !isKept(s) || d.seq !== undefined) return;
    d.seq = this.store.enqueue(s.clientId, { topic: d.topic, payload: d.payload, qos: d.qos, retain: d.retain });
    // Lost with its batch (disk full, I/O error): the publisher hears PUBACK 0x01 and sends it
    // again, so the copy kept in memory only goes, or the subscriber would get it twice.
    this.store.undoIfLost?.(() => {
      if (d.sent === undefined) s.queue.remove(d);
      d.seq = undefined;
    });
  }

  sent(s: Session, d: Delivery, msgId: number, stage: 'puback' | 'pubrec' | 'pubcomp'): void {
    d.sent = { msgId, stage };
    if (this.store !== undefined && d.seq !== undefined) this.store.markSent(s.clientId, d.seq, d.sent);
  }

  /** Delivered or dropped: out of the store, and the uplink told (see `letGo`). */
  done(s: Session, d: Delivery): void {
    if (this.store !== undefined && d.seq !== undefined) this.store.dequeue(s.clientId, d.seq);
    d.seq = undefined;
    letGo(d);
  }

  qos2Added(s: Session, msgId: number): void {
    if (!isKept(s) || this.store === undefined) return;
    this.store.addQos2(s.clientId, msgId);
    // Lost: the id is not held on disk, so memory must not hold it either (the retry is published, once).
    this.store.undoIfLost?.(() => s.qos2Received.delete(msgId));
  }

  qos2Released(s: Session, msgId: number): void {
    this.store?.removeQos2(s.clientId, msgId);
  }

  /** Where the store's count of lost batches stands: pass it to `durable()` after the writes. */
  mark(): number {
    return this.store?.lostBatches?.() ?? 0;
  }

  /**
   * Resolves once everything written so far is durable; with `since` (a `mark()` taken before
   * the writes), rejects when a batch was lost in between, even one the store has recovered from.
   */
  durable(since?: number): Promise<void> {
    return this.store === undefined ? Promise.resolve() : this.store.flush(since);
  }

  load(): Promise<StoredState | undefined> {
    return this.store === undefined ? Promise.resolve(undefined) : this.store.load();
  }
}

function snapshot(s: Session): PersistedSession {
  return {
    clientId: s.clientId,
    transport: s.link?.transport.name,
    peerKey: s.link?.peer.key,
    // Awake is a moment inside a sleep; after a restart the client is asleep until it wakes again.
    state: s.state === 'awake' ? 'asleep' : s.state === 'await-willtopic' || s.state === 'await-willmsg' ? 'disconnected' : s.state,
    cleanSession: s.cleanSession,
    keepAliveSec: s.keepAliveSec,
    sleepSec: s.sleepSec,
    will: s.will === undefined ? undefined : { topic: s.will.topic, payload: s.will.payload, qos: s.will.qos, retain: s.will.retain },
    subscriptions: [...s.subscriptions].map(([filter, sub]) => ({ filter, qos: sub.qos, kind: sub.kind })),
    topics: s.registry.entries(),
  };
}
