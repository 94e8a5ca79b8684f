/**
 * The gateway's side of the session store: which sessions are kept, and the calls that keep the
 * store in step with them. Without a store every call is a no-op, so the protocol code has one
 * path whether state is durable or not.
 *
 * A session is kept while it outlives its connection: clean session false, or asleep (a sleeper's
 * buffer must survive a restart whatever its clean-session flag).
 */
import type { Clock } from '../clock.js';
import type { PersistedSession, PersistedSubscription, SessionStore, StoredState } from '../store/session-store.js';
import { isAbsent } from './expiry.js';
import type { Session, Subscription } from './session.js';
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

/**
 * The gateway's monotonic clock and the wall clock, which only the store needs: a monotonic time
 * means nothing to the next process, so times kept across a restart are stored as wall time.
 */
export interface Clocks {
  clock: Pick<Clock, 'now'>;
  /** wall-clock ms since the epoch (Date.now) */
  wall: () => number;
}

/**
 * A wall clock before this is not set (a Raspberry Pi has no battery clock: it boots in 1970 until
 * NTP answers). Times read from it are not stored, nor used to age what was: with them, a session
 * would look decades absent once the clock is set, and expire at the next start.
 */
export const WALL_CLOCK_SET_MS = Date.UTC(2025, 0, 1);

export class Persistence {
  constructor(
    readonly store: SessionStore | undefined,
    readonly clocks: Clocks,
  ) {}

  /**
   * The monotonic `lastSeen` of a client last heard at wall time `silentSince` (stored by the run
   * before): negative when that was before this process started, which only makes it older.
   * A wall clock set back meanwhile counts as no time passed, never as time to come.
   */
  lastSeenAt(silentSince: number): number {
    const wall = this.clocks.wall();
    if (wall < WALL_CLOCK_SET_MS) return this.clocks.clock.now();
    return this.clocks.clock.now() - Math.max(0, wall - silentSince);
  }

  /** Writes the session record, or forgets the session when it is no longer kept. */
  session(s: Session): void {
    if (this.store === undefined) return;
    if (!isKept(s)) {
      this.store.deleteSession(s.clientId);
      return;
    }
    this.store.saveSession(snapshot(s, this.clocks));
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

function snapshot(s: Session, clocks: Clocks): PersistedSession {
  const p: PersistedSession = {
    clientId: s.clientId,
    transport: s.link?.transport.name,
    peerKey: s.link?.peer.key,
    // Awake is a moment inside a sleep; after a restart the client is asleep until it wakes again.
    state: s.state === 'awake' ? 'asleep' : s.state === 'await-willtopic' || s.state === 'await-willmsg' ? 'disconnected' : s.state,
    cleanSession: s.cleanSession,
    keepAliveSec: s.keepAliveSec,
    sleepSec: s.sleepSec,
    will: s.will === undefined ? undefined : { topic: s.will.topic, payload: s.will.payload, qos: s.will.qos, retain: s.will.retain },
    subscriptions: [...s.subscriptions].map(([filter, sub]) => persistedSubscription(filter, sub)),
    topics: s.registry.entries(),
  };
  if (s.version === '2.0') {
    // MQTT-SN 2.0 [3.1.9]: a 2.0 session's own expiry, 0 only for one kept because it sleeps.
    p.v2 = { sessionExpirySec: s.sessionExpirySec ?? 0, awakeLimit: s.awakeLimit, maxPacketSize: s.maxPacketSize, allowAddressChange: s.allowAddressChange };
  }
  // Only while absent: session expiry counts from it (expiry.ts). Active and sleeping clients'
  // lastSeen moves with every message, and storing it would write the row each time; a sleeper
  // gets its whole sleep window again after a restart, as the gateway could not hear it meanwhile.
  const wall = clocks.wall();
  if (isAbsent(s) && wall >= WALL_CLOCK_SET_MS) p.silentSince = Math.round(wall - (clocks.clock.now() - s.lastSeen));
  return p;
}

function persistedSubscription(filter: string, sub: Subscription): PersistedSubscription {
  const x: PersistedSubscription = { filter, qos: sub.qos, kind: sub.kind };
  if (sub.noLocal === true) x.noLocal = true;
  if (sub.retainAsPublished === true) x.retainAsPublished = true;
  return x;
}
