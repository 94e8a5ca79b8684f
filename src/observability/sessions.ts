/**
 * The sessions API's view of a session: what an operator asks when a sensor misbehaves (is it
 * connected, from where, when was it last heard, what does it listen to, which topic ids does
 * it know). Will payloads and message payloads are left out: they are the devices' data.
 */
import type { SnVersion } from '../codec/index.js';
import type { GatewayCore } from '../gateway/core.js';
import type { SessionState, SubscriptionKind } from '../gateway/session.js';
import { inFlightRetries } from '../gateway/outbox.js';

export type SessionsView = Pick<GatewayCore, 'sessions' | 'clock'>;

export interface SessionInfo {
  clientId: string;
  /** the MQTT-SN version it speaks: that of the CONNECT that made the session */
  version: SnVersion;
  state: SessionState;
  /** the transport peer key it is reached at (`udp:192.0.2.7:50001`), null before the first bind */
  peer: string | null;
  /** the name of the transport it is reached over, null before the first bind */
  transport: string | null;
  /** wall-clock time of the last message from it, ISO 8601 */
  lastSeen: string | null;
  cleanSession: boolean;
  /** 2.0: the Session Expiry Interval in seconds (4294967295: never); null for 1.2 (limits.sessionExpirySec) */
  sessionExpirySec: number | null;
  keepAliveSec: number;
  /** while asleep or awake */
  sleepSec: number | null;
  will: { topic: string; qos: number; retain: boolean } | null;
  subscriptions: Array<{ filter: string; qos: number; kind: SubscriptionKind }>;
  registeredTopics: Array<{ id: number; name: string }>;
  /** messages waiting for it: the sleep buffer while asleep, the send queue otherwise */
  queued: number;
  /** whether messages can go to it now (active or awake): `queued` is a send queue, else a buffer */
  reachable: boolean;
  /** the one request the gateway awaits its answer to */
  inFlight: { kind: 'register' | 'publish'; msgId: number; topic: string; retries: number } | null;
}

/** A page of `/api/sessions` when the caller names no `limit`: enough for a person, cheap for the loop. */
export const DEFAULT_SESSIONS_PAGE = 100;
/** The most one request may ask for: a page is built on the event loop, between two datagrams. */
export const MAX_SESSIONS_PAGE = 1000;

export interface SessionsQuery {
  /** only sessions in this state */
  state?: string | undefined;
  /** at most this many, in client id order (DEFAULT_SESSIONS_PAGE when absent) */
  limit?: number | undefined;
  /** only client ids after this one (the `next` of the previous page) */
  after?: string | undefined;
}

export interface SessionsPage {
  sessions: SessionInfo[];
  /** the cursor for the next page (`after`), null on the last page */
  next: string | null;
}

export function describeSession(gateway: SessionsView, clientId: string): SessionInfo | undefined {
  const s = gateway.sessions.get(clientId);
  if (s === undefined) return undefined;
  // The gateway clock is monotonic (performance.now); wall time is derived from the age.
  const ageMs = gateway.clock.now() - s.lastSeen;
  return {
    clientId: s.clientId,
    version: s.version,
    state: s.state,
    peer: s.link?.peer.key ?? null,
    transport: s.link?.transport.name ?? null,
    // 0: never heard. Negative is a client restored from the store, last heard before this process began.
    lastSeen: s.lastSeen !== 0 ? new Date(Date.now() - ageMs).toISOString() : null,
    cleanSession: s.cleanSession,
    sessionExpirySec: s.sessionExpirySec ?? null,
    keepAliveSec: s.keepAliveSec,
    sleepSec: s.state === 'asleep' || s.state === 'awake' ? s.sleepSec : null,
    will: s.will !== undefined && s.will.topic !== '' ? { topic: s.will.topic, qos: s.will.qos, retain: s.will.retain } : null,
    subscriptions: [...s.subscriptions].map(([filter, sub]) => ({ filter, qos: sub.qos, kind: sub.kind })),
    registeredTopics: s.registry
      .entries()
      .map((r) => ({ id: r.id, name: r.name }))
      .sort((a, b) => a.id - b.id),
    queued: s.queue.length,
    reachable: s.reachable,
    inFlight:
      s.inFlight === undefined
        ? null
        : { kind: s.inFlight.kind, msgId: s.inFlight.msgId, topic: s.inFlight.delivery.topic, retries: inFlightRetries(s) },
  };
}

/**
 * One page of sessions in client id order. Only the page is described; the rest is a walk over
 * the ids that keeps the `limit + 1` smallest past the cursor (a bounded heap), so a gateway with
 * 100,000 sessions neither sorts nor serialises them all for one request.
 */
export function describeSessions(gateway: SessionsView, query: SessionsQuery = {}): SessionsPage {
  const limit = query.limit ?? DEFAULT_SESSIONS_PAGE;
  const heap = new BoundedMaxHeap(limit + 1);
  for (const [id, s] of gateway.sessions) {
    if (query.after !== undefined && id <= query.after) continue;
    if (query.state !== undefined && s.state !== query.state) continue;
    heap.offer(id);
  }
  const ids = heap.sorted();
  const more = ids.length > limit;
  const sessions: SessionInfo[] = [];
  for (const id of ids.slice(0, limit)) {
    const info = describeSession(gateway, id);
    if (info !== undefined) sessions.push(info);
  }
  return { sessions, next: more && sessions.length > 0 ? sessions[sessions.length - 1]!.clientId : null };
}

/** Keeps the `capacity` smallest strings offered (code-unit order, as `<` compares). */
class BoundedMaxHeap {
  readonly #items: string[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  offer(item: string): void {
    const a = this.#items;
    if (this.capacity === 0) return;
    if (a.length < this.capacity) {
      a.push(item);
      this.#up(a.length - 1);
    } else if (item < a[0]!) {
      a[0] = item;
      this.#down(0);
    }
  }

  sorted(): string[] {
    return [...this.#items].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  }

  #up(i: number): void {
    const a = this.#items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! >= a[i]!) return;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  #down(i: number): void {
    const a = this.#items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < a.length && a[l]! > a[top]!) top = l;
      if (r < a.length && a[r]! > a[top]!) top = r;
      if (top === i) return;
      [a[top], a[i]] = [a[i]!, a[top]!];
      i = top;
    }
  }
}
