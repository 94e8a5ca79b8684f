/**
 * How long a session may stay silent before it ends, by state: keep-alive while active (with an
 * idle limit when keep-alive is 0 and the client is not on the allow-list), the sleep duration
 * while asleep, and `limits.sessionExpirySec` while absent (disconnected or lost, kept because of
 * clean session false). Absent sessions are also the ones evicted, oldest first, when
 * `limits.maxSessions` is reached: a returning client finds its session gone, which clean session
 * false never promised for ever (MQTT 3.1.1 leaves session lifetime to the server).
 */
import type { GatewayCore } from './core.js';
import type { Session } from './session.js';

/** Session Expiry Interval meaning "never" [3.1.9]. */
export const NEVER_EXPIRES = 0xffffffff;
/** 2.0's supervision factor for Keep Alive and Sleep Duration. */
const V2_SILENCE_FACTOR = 1.5;

export type SilenceEnd = { ms: number; then: 'lose' | 'expire' };

/** Disconnected or lost, and not in the middle of a new CONNECT. */
export function isAbsent(s: Session): boolean {
  return (s.state === 'disconnected' || s.state === 'lost') && s.pendingConnect === undefined;
}

/** What ends the session after how long without a message, or undefined: nothing by time. */
export function silenceLimit(gw: GatewayCore, s: Session): SilenceEnd | undefined {
  // MQTT-SN-3.1.6-2, -4.14.2-1: 1.5 times keep alive (or sleep duration) is 2.0's rule, not a setting.
  const keepAliveFactor = s.version === '2.0' ? V2_SILENCE_FACTOR : gw.options.timers.keepAliveFactor;
  const { sessionExpirySec, idleSessionSec } = gw.options.limits;
  switch (s.state) {
    case 'active':
      if (s.keepAliveSec > 0) return { ms: s.keepAliveSec * 1000 * keepAliveFactor, then: 'lose' };
      // Keep-alive 0 is "no supervision", as in MQTT (MQTT-SN 1.2 §6.3 leaves it open); only a
      // client an operator listed may hold a session that way for ever.
      if (idleSessionSec > 0 && !gw.auth.listed(s.clientId)) return { ms: idleSessionSec * 1000, then: 'lose' };
      return undefined;
    case 'asleep':
      return s.sleepSec > 0 ? { ms: s.sleepSec * 1000 * keepAliveFactor, then: 'lose' } : undefined;
    case 'disconnected':
    case 'lost':
      if (!isAbsent(s)) return undefined;
      // 2.0 [3.1.9]: the client's Session Expiry Interval, 0xFFFFFFFF for ever (limits.maxSessions
      // may still evict it, oldest absent first, as it may a 1.2 session).
      if (s.sessionExpirySec !== undefined) return s.sessionExpirySec === NEVER_EXPIRES ? undefined : { ms: s.sessionExpirySec * 1000, then: 'expire' };
      return sessionExpirySec > 0 ? { ms: sessionExpirySec * 1000, then: 'expire' } : undefined;
    case 'awake': // flushing its buffer, the wake ends it (PINGRESP) and supervision resumes
    case 'await-willtopic': // the will exchange has its own timer (timers.connectTimeoutMs)
    case 'await-willmsg':
      return undefined;
  }
}

/** Absent sessions in the order they became absent: the first is the one to evict. */
export class AbsentSessions {
  readonly #order = new Map<string, Session>();

  /** Keeps `s` in the order if it is absent (where it was, if it was already), out of it if not. */
  update(s: Session): void {
    if (isAbsent(s)) {
      if (this.#order.get(s.clientId) !== s) this.#order.set(s.clientId, s);
    } else if (this.#order.get(s.clientId) === s) {
      this.#order.delete(s.clientId);
    }
  }

  delete(s: Session): void {
    if (this.#order.get(s.clientId) === s) this.#order.delete(s.clientId);
  }

  /** The absent session that has been absent longest, dropping entries that came back meanwhile. */
  oldest(sessions: ReadonlyMap<string, Session>): Session | undefined {
    for (const [id, s] of this.#order) {
      if (isAbsent(s) && sessions.get(id) === s) return s;
      this.#order.delete(id);
    }
    return undefined;
  }

  get size(): number {
    return this.#order.size;
  }
}
