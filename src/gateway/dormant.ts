/**
 * Dormant restored sessions: behind front ends, a session brought back from the store opens its
 * device's upstream connection only once the device speaks to this instance again (issue #21).
 */
import type { Transport } from '../transport/types.js';
import type { GatewayCore } from './core.js';
import type { Session } from './session.js';

/**
 * Behind front ends a restored session's upstream connection waits for its device. While this
 * instance was down the front end moved the device to another instance, which opened the device's
 * own upstream connection under the same client id, and keeps it there after this one returns
 * (src/frontend/affinity.ts). Reopening it here would take the broker session from the instance
 * serving the device (MQTT 3.1.1 §3.1.4: the broker closes the older connection, giving no
 * reason); that one reconnects, and the two take it from each other until this copy times out,
 * whose unclean end may even have the broker publish the will of a device alive elsewhere. A
 * device that speaks here again is served here: its connection is opened then (`wakeUplink`).
 * Only where each client has its own upstream connection (transparent mode) and the transport has
 * front ends: a single gateway reopens at once, so its sleepers' messages are buffered while they
 * sleep. A rule, not an option: with front ends any eager reopening can steal a session, and
 * without them nothing can be stolen, so no setting would choose better.
 */
export function staysDormant(gw: GatewayCore, s: Session, transport: Transport | undefined): boolean {
  return gw.uplink.clientConnections === true && transport?.behindFrontEnds === true && (s.reachable || s.state === 'asleep');
}

/**
 * The device of a dormant session spoke to this instance (any message but CONNECT, which opens
 * its own connection): the connection is opened as at a restore, and what the broker queued for
 * the session flows from then on. A sleeper's first wake is answered as any wake: PINGRESP once
 * its buffer is sent, not held for the upstream CONNACK. The broker sends what it queued some time
 * after CONNACK with no mark of the end, so holding the wake would cost the device radio time
 * without promising those messages in it; they land in the sleep buffer (the upstream ack waits
 * for the device, so the broker keeps them meanwhile) and go at the next wake, like anything
 * published while it sleeps.
 */
export function wakeUplink(gw: GatewayCore, s: Session): void {
  if (!s.uplinkDormant) return;
  s.uplinkDormant = false;
  // A session lost meanwhile (its keep-alive ran out here) is not reopened: its device CONNECTs.
  if (gw.sessions.get(s.clientId) !== s || !(s.reachable || s.state === 'asleep')) return;
  gw.logger.debug({ clientId: s.clientId }, 'restored session heard from: its upstream connection is opened');
  reopenUplink(gw, s);
  // What it held at the restart goes now (restore.ts held it back); a sleeper's goes with its wake.
  if (s.state === 'active') gw.pump(s);
}

/** Reopened in the background: the client is not waiting for a CONNACK. */
export function reopenUplink(gw: GatewayCore, s: Session): void {
  const subscriptions = [...s.subscriptions].map(([filter, sub]) => ({ filter, qos: sub.qos }));
  const req = { clientId: s.clientId, cleanSession: s.cleanSession, keepAliveSec: s.keepAliveSec, will: s.will, resume: true, subscriptions };
  void gw.uplink.connect(req, gw.uplinkSink(s), true);
}
