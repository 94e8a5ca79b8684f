/**
 * User name and password checks for clients of the local MQTT listener (aedes' `authenticate`
 * hook). MQTT-SN sessions and the bridge use the broker in process and are not affected.
 */
import type { AuthenticateError, Client } from 'aedes';
import type { BrokerLogger } from './local-broker.js';
import type { PasswordTable } from './passwords.js';

export interface ListenerAuthOptions {
  users: PasswordTable;
  /** a CONNECT without a user name is let in; one with a user name must still be right */
  allowAnonymous: boolean;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 used here. */
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export type RefusalReason = 'noCredentials' | 'badCredentials' | 'busy';

export interface ListenerAuthStats {
  accepted: number;
  refused: Record<RefusalReason, number>;
}

/**
 * scrypt checks waiting or running at once. Each costs ~16 MiB and tens of milliseconds on the
 * libuv pool; a flood of CONNECTs beyond this is refused (CONNACK 3) rather than queued, so it
 * can neither exhaust memory nor delay the rightful clients for long.
 */
const MAX_PENDING_CHECKS = 32;

/** At most one refusal line per interval; the next one says how many were left out. */
const LOG_INTERVAL_MS = 10_000;

type AuthenticateHook = (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void) => void;

export function listenerAuthenticator(options: ListenerAuthOptions, logger: BrokerLogger): { authenticate: AuthenticateHook; stats: ListenerAuthStats } {
  const stats: ListenerAuthStats = { accepted: 0, refused: { noCredentials: 0, badCredentials: 0, busy: 0 } };
  let pending = 0;
  let lastLog = -Infinity;
  let leftOut = 0;

  const refuse = (client: Client, username: string | undefined, reason: RefusalReason, done: (err: AuthenticateError, ok: null) => void): void => {
    stats.refused[reason]++;
    const returnCode = reason === 'busy' ? SERVER_UNAVAILABLE : reason === 'noCredentials' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD;
    const now = Date.now();
    if (now - lastLog >= LOG_INTERVAL_MS) {
      const address = (client.conn as { remoteAddress?: string }).remoteAddress;
      logger.warn({ clientId: client.id, username, address, reason, returnCode, refused: { ...stats.refused }, suppressed: leftOut }, 'local MQTT client refused');
      lastLog = now;
      leftOut = 0;
    } else {
      leftOut++;
    }
    // The codes are aedes' `AuthErrorCode`, a const enum its typings cannot hand over at run time.
    const err: AuthenticateError = Object.assign(new Error(`local MQTT client refused: ${reason}`), { returnCode });
    done(err, null);
  };

  const authenticate: AuthenticateHook = (client, username, password, done) => {
    if (username === undefined) {
      if (options.allowAnonymous) {
        stats.accepted++;
        done(null, true);
      } else refuse(client, undefined, 'noCredentials', done);
      return;
    }
    if (pending >= MAX_PENDING_CHECKS) {
      refuse(client, username, 'busy', done);
      return;
    }
    pending++;
    // A missing password is checked as an empty one: the same cost as any wrong guess.
    options.users.check(username, password ?? Buffer.alloc(0)).then(
      (ok) => {
        pending--;
        if (ok && password !== undefined) {
          stats.accepted++;
          done(null, true);
        } else refuse(client, username, 'badCredentials', done);
      },
      (err: unknown) => {
        pending--;
        logger.error({ err, username }, 'password check failed');
        refuse(client, username, 'busy', done);
      },
    );
  };
  return { authenticate, stats };
}
