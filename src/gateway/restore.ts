/**
 * Sessions brought back from the store at start. Wave-2 hook for MQTT-SN 2.0: the store keeps no
 * protocol version yet, so every session comes back as 1.2 (a 2.0 client is then served again
 * once it CONNECTs anew); with the version stored, set `s.version`, `sessionExpirySec`,
 * `awakeLimit`, `maxPacketSize`, `allowAddressChange` and the subscription options here, and bind
 * a 2.0 session with `v2: newV2Link()` (wire-v2.ts).
 */
import type { StoredState } from '../store/session-store.js';
import type { Transport } from '../transport/types.js';
import type { GatewayCore } from './core.js';
import { enforceAuth } from './revoke.js';

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
    for (const sub of p.subscriptions) {
      s.subscriptions.set(sub.filter, { qos: sub.qos, kind: sub.kind });
      gw.subscriptions.add(sub.filter, s);
    }
    const rejected = s.registry.restore(p.topics);
    if (rejected.length > 0) gw.logger.warn({ clientId: s.clientId, rejected }, 'stored topic ids no longer valid (predefined topics changed?)');
    for (const d of stored.queues.get(p.clientId) ?? []) s.queue.push({ topic: d.topic, payload: d.payload, qos: d.qos, retain: d.retain, seq: d.seq, sent: d.sent });
    for (const id of stored.qos2.get(p.clientId) ?? []) s.qos2Received.add(id);
    const transport = transports.find((t) => t.name === p.transport);
    const peer = p.peerKey === undefined ? undefined : transport?.peerFromKey(p.peerKey);
    if (transport !== undefined && peer !== undefined) gw.bind(s, { transport, peer });
    s.lastSeen = now;
    // Restored as stored, not a transition: an active client without a transport to reach it is disconnected.
    const link = s.link;
    s.phase = p.state === 'active' ? (link === undefined ? { state: 'disconnected', link } : { state: 'active', link }) : { state: p.state, link };
  }
  if (stored.sessions.length > 0) gw.logger.info({ sessions: stored.sessions.length }, 'sessions restored from the store');
  // Stored under the auth of the last run: checked against today's before anything is sent.
  enforceAuth(gw, 'restore');
  for (const s of gw.sessions.values()) {
    if (s.reachable || s.state === 'asleep') {
      // Reopened in the background: the client is not waiting for a CONNACK.
      const subscriptions = [...s.subscriptions].map(([filter, sub]) => ({ filter, qos: sub.qos }));
      const req = { clientId: s.clientId, cleanSession: s.cleanSession, keepAliveSec: s.keepAliveSec, will: s.will, resume: true, subscriptions };
      void gw.uplink.connect(req, gw.uplinkSink(s), true);
    }
    gw.supervise(s);
    if (s.state === 'active') gw.pump(s);
  }
}
