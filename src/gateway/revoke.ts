/**
 * Holds existing sessions to the `auth` in force. Rights are checked when a client asks (CONNECT,
 * SUBSCRIBE, WILLTOPIC); what it was granted before lives on in its session. After a reload that
 * narrows `auth`, and after sessions come back from the store (the file may have changed while
 * the gateway was down), that old state is checked again: clients no longer allowed lose their
 * session, subscriptions and wills no longer allowed are removed.
 */
import { ReasonCode as V2Reason } from '../codec/v2/constants.js';
import { whenAnswered } from './answer.js';
import { uplinkRequest } from './handlers/connection.js';
import type { GatewayCore } from './core.js';
import type { Session } from './session.js';

export interface Revoked {
  sessions: number;
  subscriptions: number;
  wills: number;
}

/** Client ids named in the summary log line; the counts say the rest. */
const NAMED_IN_LOG = 20;

/** Whether a client may keep its session: allowed, and from the peer it is reached at (if any). */
function mayStay(gw: GatewayCore, s: Session): boolean {
  const verdict = gw.auth.connect(s.clientId, s.link?.peer.key ?? '');
  // Without a known peer only the id can be judged; the peer is checked when the client comes back.
  return verdict === 'ok' || (verdict === 'wrongPeer' && s.link === undefined);
}

/** Applies `gw.auth` to every session; counts in `gw.stats.revoked` and logs one line when anything went. */
export function enforceAuth(gw: GatewayCore, when: 'reload' | 'restore'): Revoked {
  const revoked: Revoked = { sessions: 0, subscriptions: 0, wills: 0 };
  const named: { sessions: string[]; subscriptions: string[] } = { sessions: [], subscriptions: [] };
  const note = (list: string[], what: string): void => {
    if (list.length < NAMED_IN_LOG) list.push(what);
  };
  // A copy: dropping a session changes the map being walked.
  for (const s of [...gw.sessions.values()]) {
    if (!mayStay(gw, s)) {
      // Told to go, as after a takeover; no will: this is the operator's doing, not a failure.
      if (s.reachable && s.link !== undefined) gw.send(s.link, { type: 'DISCONNECT' }, V2Reason.NOT_AUTHORIZED);
      gw.dropSession(s);
      revoked.sessions++;
      note(named.sessions, s.clientId);
      continue;
    }
    let changed = false;
    for (const filter of [...s.subscriptions.keys()]) {
      if (gw.auth.maySubscribe(s.clientId, filter)) continue;
      s.subscriptions.delete(filter);
      gw.subscriptions.remove(filter, s);
      // Transparent mode: the subscription is the upstream's too.
      whenAnswered(gw.uplink.unsubscribe(s.clientId, filter), () => undefined, () => undefined);
      revoked.subscriptions++;
      note(named.subscriptions, `${s.clientId} ${filter}`);
      changed = true;
    }
    if (s.will !== undefined && s.will.topic !== '' && !gw.auth.mayPublish(s.clientId, s.will.topic)) {
      s.will = undefined;
      revoked.wills++;
      changed = true;
      // Transparent mode: the upstream holds the will of the live connection, which is opened again without it.
      // A dormant session (dormant.ts) has none yet: it is opened without the will when its device speaks.
      if ((s.reachable || s.state === 'asleep') && !s.uplinkDormant) {
        const req = uplinkRequest(s, { will: undefined, resume: true });
        whenAnswered(gw.uplink.connect(req, gw.uplinkSink(s)), () => undefined, () => undefined);
      }
    }
    if (changed) gw.persistence.session(s);
  }
  gw.stats.revoked.sessions += revoked.sessions;
  gw.stats.revoked.subscriptions += revoked.subscriptions;
  gw.stats.revoked.wills += revoked.wills;
  if (revoked.sessions + revoked.subscriptions + revoked.wills > 0) {
    gw.logger.warn(
      { when, ...revoked, clients: named.sessions, subscriptionsRemoved: named.subscriptions },
      when === 'reload' ? 'auth reloaded: sessions and rights no longer allowed were removed' : 'restored sessions checked against auth: what it no longer allows was removed',
    );
  }
  return revoked;
}
