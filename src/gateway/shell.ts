/**
 * The thin shell around the session machine (machine.ts): it applies `step` to a session and runs
 * the effects, the only place where a session's state changes. Timers, the store, sends and the
 * uplink are reached through the gateway core.
 */
import type { GatewayCore } from './core.js';
import { wakeUplink } from './dormant.js';
import { isAbsent } from './expiry.js';
import { step, type Effect, type SessionEvent } from './machine.js';
import { abandonInFlight } from './outbox.js';
import type { Session } from './session.js';

export function transition(gw: GatewayCore, s: Session, event: SessionEvent): void {
  if (s.uplinkDormant) {
    // A sleeper's wake may come from a new address (§4.12.2), where the frame found no session.
    if (event.type === 'wake') wakeUplink(gw, s);
    // A CONNECT is here: it opens the connection itself (handlers/connection.ts).
    else if (event.type === 'willRequested' || event.type === 'accepted' || event.type === 'refused') s.uplinkDormant = false;
  }
  const { phase, effects } = step(s.phase, event);
  s.phase = phase;
  for (const e of effects) run(gw, s, e);
  // A kept session left without its client starts the clock of limits.sessionExpirySec.
  if (isAbsent(s) && gw.sessions.get(s.clientId) === s) gw.supervise(s);
}

function run(gw: GatewayCore, s: Session, e: Effect): void {
  switch (e.type) {
    case 'send':
      if (s.link !== undefined) gw.send(s.link, e.packet, e.v2Reason);
      return;
    case 'touch':
      s.lastSeen = gw.clock.now();
      return;
    case 'supervise':
      return gw.supervise(s);
    case 'unsupervise':
      s.supervision?.cancel();
      s.supervision = undefined;
      return;
    case 'abandonInFlight':
      return abandonInFlight(gw, s, e.keep === 'always' || !s.cleanSession);
    case 'store':
      gw.persistence.session(s);
      if (e.queue) for (const d of s.queue) gw.persistence.queued(s, d);
      return;
    case 'pump':
      return gw.pump(s);
    case 'end':
      return end(gw, s, e);
  }
}

/** The connection is over: the will of a lost client, then a clean session goes and a kept one is stored. */
function end(gw: GatewayCore, s: Session, e: Extract<Effect, { type: 'end' }>): void {
  switch (e.how) {
    case 'abandoned':
      gw.clientLog.info({ clientId: s.clientId }, 'will dance not finished in time: connection abandoned');
      if (s.cleanSession) gw.dropSession(s);
      return;
    case 'disconnected':
      gw.clientLog.info({ clientId: s.clientId }, 'client disconnected');
      // The uplink connection ends the same way, with DISCONNECT: no will.
      void gw.uplink.disconnect(s.clientId, true);
      break;
    case 'lost': {
      if (s.uplinkDormant) {
        // Never heard from since the restart: its device may be alive behind another instance,
        // and this instance holds no upstream connection whose will it could stand for.
        gw.clientLog.info({ clientId: s.clientId, reason: e.reason }, 'restored session not heard from: lost, without its will (its device may be served by another instance)');
        break;
      }
      gw.clientLog.info({ clientId: s.clientId, reason: e.reason }, 'client lost');
      // An empty will topic (a WILLMSGUPD without a will) is never published.
      const will = s.will !== undefined && s.will.topic !== '' ? s.will : undefined;
      if (will !== undefined) gw.stats.willsPublished++;
      // Dropped without DISCONNECT: the will is published by the uplink (transparent: the upstream
      // broker, as for any MQTT client that vanished).
      gw.uplink.disconnect(s.clientId, false, will)?.then(
        () => gw.clientLog.info({ clientId: s.clientId, topic: will?.topic }, 'will published'),
        (err: unknown) => gw.clientLog.warn({ clientId: s.clientId, err }, 'will could not be published'),
      );
      break;
    }
  }
  if (s.cleanSession) gw.dropSession(s);
  else gw.persistence.session(s);
}
