/**
 * The sessions API's view of a session: what an operator asks when a sensor misbehaves (is it
 * connected, from where, when was it last heard, what does it listen to, which topic ids does
 * it know). Will payloads and message payloads are left out: they are the devices' data.
 */
import type { GatewayCore } from '../gateway/core.js';
import type { SessionState, SubscriptionKind } from '../gateway/session.js';

export type SessionsView = Pick<GatewayCore, 'sessions' | 'clock'>;

export interface SessionInfo {
  clientId: string;
  state: SessionState;
  /** the transport peer key it is reached at (`udp:192.0.2.7:50001`), null before the first bind */
  peer: string | null;
  /** the name of the transport it is reached over, null before the first bind */
  transport: string | null;
  /** wall-clock time of the last message from it, ISO 8601 */
  lastSeen: string | null;
  cleanSession: boolean;
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

export interface SessionsQuery {
  /** only sessions in this state */
  state?: string | undefined;
  /** at most this many, in client id order */
  limit?: number | undefined;
}

export function describeSession(gateway: SessionsView, clientId: string): SessionInfo | undefined {
  const s = gateway.sessions.get(clientId);
  if (s === undefined) return undefined;
  // The gateway clock is monotonic (performance.now); wall time is derived from the age.
  const ageMs = gateway.clock.now() - s.lastSeen;
  return {
    clientId: s.clientId,
    state: s.state,
    peer: s.link?.peer.key ?? null,
    transport: s.link?.transport.name ?? null,
    lastSeen: s.lastSeen > 0 ? new Date(Date.now() - ageMs).toISOString() : null,
    cleanSession: s.cleanSession,
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
        : { kind: s.inFlight.kind, msgId: s.inFlight.msgId, topic: s.inFlight.delivery.topic, retries: s.inFlight.retries },
  };
}

export function describeSessions(gateway: SessionsView, query: SessionsQuery = {}): SessionInfo[] {
  const ids = [...gateway.sessions.keys()].sort();
  const out: SessionInfo[] = [];
  for (const id of ids) {
    if (query.limit !== undefined && out.length >= query.limit) break;
    const info = describeSession(gateway, id);
    if (info === undefined || (query.state !== undefined && info.state !== query.state)) continue;
    out.push(info);
  }
  return out;
}
