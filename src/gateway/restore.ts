/**
 * Sessions brought back from the store at start, each in the MQTT-SN version of the CONNECT that
 * made it: a 2.0 session comes back bound by a 2.0 link (wire-v2.ts), so what the gateway sends
 * it (its buffer when it wakes, REGISTERs, PINGRESP) is 2.0, a CONNECT with Clean Start 0 finds
 * it present, and it expires after its own Session Expiry Interval [3.1.9].
 */
import type { PersistedSession, StoredState } from '../store/session-store.js';
import type { Peer, Transport } from '../transport/types.js';
import type { GatewayCore } from './core.js';
import { reopenUplink, staysDormant } from './dormant.js';
import { enforceAuth } from './revoke.js';
import type { Session } from './session.js';
import type { Link } from './types.js';
import { newV2Link } from './wire-v2.js';

/**
 * Sessions from the store: kept state, queues (with what was in flight), QoS 2 ids. An active
 * client is supervised from now and gets what was in flight again; a sleeper sleeps on.
 */
export function restoreSessions(gw: GatewayCore, transports: readonly Transport[], stored: StoredState): void {
  const now = gw.clock.now();
  for (const p of stored.sessions) {
    const s = gw.createSession(p.clientId);
    s.cleanSession = p.cleanSession;
    s.keepAliveSec = p.keepAliveSec;
    s.sleepSec = p.sleepSec;
    s.will = p.will;
    restoreVersion(s, p);
    for (const sub of p.subscriptions) {
      const options = sub.noLocal === true || sub.retainAsPublished === true ? { noLocal: sub.noLocal === true, retainAsPublished: sub.retainAsPublished === true } : {};
      s.subscriptions.set(sub.filter, { qos: sub.qos, kind: sub.kind, ...options });
      // Its publishes are remembered for the fan-out again (fan-out.ts), or No Local would not hold.
      if (sub.noLocal === true) s.noLocal = true;
      gw.subscriptions.add(sub.filter, s);
    }
    const rejected = s.registry.restore(p.topics);
    if (rejected.length > 0) gw.logger.warn({ clientId: s.clientId, rejected }, 'stored topic ids no longer valid (predefined topics changed?)');
    for (const d of stored.queues.get(p.clientId) ?? []) s.queue.push({ topic: d.topic, payload: d.payload, qos: d.qos, retain: d.retain, seq: d.seq, sent: d.sent });
    for (const id of stored.qos2.get(p.clientId) ?? []) s.qos2Received.add(id);
    const transport = transports.find((t) => t.name === p.transport);
    const peer = p.peerKey === undefined ? undefined : transport?.peerFromKey(p.peerKey);
    if (transport !== undefined && peer !== undefined) gw.bind(s, linkFor(transport, peer, s));
    // An absent client's silence goes on from when it was last heard, so its session expiry does
    // not start again with every restart; unknown (an older store), it counts from now.
    s.lastSeen = p.silentSince === undefined || p.state === 'active' || p.state === 'asleep' ? now : gw.persistence.lastSeenAt(p.silentSince);
    // Restored as stored, not a transition: an active client without a transport to reach it is disconnected.
    const link = s.link;
    s.phase = p.state === 'active' ? (link === undefined ? { state: 'disconnected', link } : { state: 'active', link }) : { state: p.state, link };
    s.uplinkDormant = staysDormant(gw, s, transport);
  }
  if (stored.sessions.length > 0) {
    let dormant = 0;
    for (const s of gw.sessions.values()) if (s.uplinkDormant) dormant++;
    // dormant: behind front ends, upstream connections left closed until each device is heard from (dormant.ts)
    gw.logger.info({ sessions: stored.sessions.length, dormant }, 'sessions restored from the store');
  }
  // Stored under the auth of the last run: checked against today's before anything is sent.
  enforceAuth(gw, 'restore');
  for (const s of gw.sessions.values()) {
    if ((s.reachable || s.state === 'asleep') && !s.uplinkDormant) reopenUplink(gw, s);
    gw.supervise(s);
    // A dormant session sends its device nothing either: the device may be served elsewhere now.
    if (s.state === 'active' && !s.uplinkDormant) gw.pump(s);
  }
}

/** The version and the 2.0 agreements of the CONNECT that made the session (see `PersistedV2`). */
function restoreVersion(s: Session, p: PersistedSession): void {
  if (p.v2 === undefined) return; // 1.2: the Session's defaults are 1.2's
  s.version = '2.0';
  s.sessionExpirySec = p.v2.sessionExpirySec;
  s.awakeLimit = p.v2.awakeLimit;
  s.maxPacketSize = p.v2.maxPacketSize;
  s.allowAddressChange = p.v2.allowAddressChange;
}

/** Where a restored session is reached: a 2.0 one with a fresh 2.0 link, so `send` encodes 2.0. */
function linkFor(transport: Transport, peer: Peer, s: Session): Link {
  return s.version === '2.0' ? { transport, peer, v2: newV2Link() } : { transport, peer };
}
