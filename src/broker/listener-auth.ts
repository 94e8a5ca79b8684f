/**
 * Who may use the local MQTT listener: user name and password checks (aedes' `authenticate`
 * hook) and, optionally, per-user publish / subscribe rights. MQTT-SN sessions and the bridge use
 * the broker in process and are not affected.
 */
import type { AuthenticateError, Client, Subscription } from 'aedes';
import { LogThrottle } from '../log-throttle.js';
import { peerFields } from '../logger.js';
import type { BrokerLogger } from './local-broker.js';
import type { PasswordTable } from './passwords.js';

/**
 * Per-user rights. The broker core does not know the rule format: the composition root hands in
 * the gateway's own ACL checker, so listener and MQTT-SN rules mean the same thing.
 */
export interface ListenerAcl {
  /** `user` is '' for a client let in without a user name */
  mayPublish(user: string, topic: string): boolean;
  maySubscribe(user: string, filter: string): boolean;
}

export interface ListenerAuthOptions {
  users: PasswordTable;
  /** a CONNECT without a user name is let in; one with a user name must still be right */
  allowAnonymous: boolean;
  /** absent: a client that is let in may publish and subscribe anywhere */
  acl?: ListenerAcl | undefined;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 used here. */
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export type RefusalReason = 'noCredentials' | 'badCredentials' | 'busy';

export interface ListenerAuthStats {
  accepted: number;
  refused: Record<RefusalReason, number>;
  /** publishes dropped and subscriptions refused by the ACL */
  denied: { publish: number; subscribe: number };
}

/**
 * scrypt checks waiting or running at once. Each costs ~16 MiB and tens of milliseconds on the
 * libuv pool; a flood of CONNECTs beyond this is refused (CONNACK 3) rather than queued, so it
 * can neither exhaust memory nor delay the rightful clients for long.
 */
const MAX_PENDING_CHECKS = 32;

/**
 * scrypt checks running at once; the others wait their turn. libuv's pool has 4 threads, and
 * the store's fsync runs there too: with every thread in scrypt, durable acknowledgements (MQTT-SN
 * PUBACK included) would wait for a wrong-password flood to end. Two threads stay for the store.
 */
export const MAX_RUNNING_CHECKS = 2;

/** At most one line per kind of refusal per interval; the next one says how many were left out. */
const LISTENER_LOG_INTERVAL_MS = 10_000;

/** The broker's throttle for lines a client can repeat: on wall time, the broker has no injected clock. */
export const quietLog = (): LogThrottle => new LogThrottle({ now: Date.now }, LISTENER_LOG_INTERVAL_MS);

type Done = (err: AuthenticateError | null, ok: boolean | null) => void;

const addressOf = (client: Client): string | undefined => (client.conn as { remoteAddress?: string }).remoteAddress;

export class ListenerGuard {
  readonly stats: ListenerAuthStats = { accepted: 0, refused: { noCredentials: 0, badCredentials: 0, busy: 0 }, denied: { publish: 0, subscribe: 0 } };
  #options: ListenerAuthOptions;
  readonly #logger: BrokerLogger;
  /** the user name each client was let in with ('' for none) */
  readonly #users = new WeakMap<Client, string>();
  #pending = 0;
  #running = 0;
  /** checks waiting for one of the `MAX_RUNNING_CHECKS` slots, oldest first */
  readonly #waiting: Array<() => void> = [];
  readonly #quiet = quietLog();

  constructor(options: ListenerAuthOptions, logger: BrokerLogger) {
    this.#options = options;
    this.#logger = logger;
  }

  /** Users for the CONNECTs from now on (SIGHUP); clients already in stay. */
  replaceUsers(users: PasswordTable): void {
    this.#options = { ...this.#options, users };
  }

  /** aedes' `authenticate` hook. */
  readonly authenticate = (client: Client, username: string | undefined, password: Buffer | undefined, done: Done): void => {
    if (username === undefined) {
      if (this.#options.allowAnonymous) this.#accept(client, '', done);
      else this.#refuse(client, undefined, 'noCredentials', done);
      return;
    }
    if (this.#pending >= MAX_PENDING_CHECKS) {
      this.#refuse(client, username, 'busy', done);
      return;
    }
    this.#pending++;
    // Checked against the users of the moment the check starts (a reload may come meanwhile).
    const run = (): void => {
      this.#running++;
      // A missing password is checked as an empty one: the same cost as any wrong guess.
      this.#options.users.check(username, password ?? Buffer.alloc(0)).then(
        (ok) => {
          this.#checked();
          if (ok && password !== undefined) this.#accept(client, username, done);
          else this.#refuse(client, username, 'badCredentials', done);
        },
        (err: unknown) => {
          this.#checked();
          this.#logger.error({ err, username }, 'password check failed');
          this.#refuse(client, username, 'busy', done);
        },
      );
    };
    if (this.#running < MAX_RUNNING_CHECKS) run();
    else this.#waiting.push(run);
  };

  #checked(): void {
    this.#pending--;
    this.#running--;
    this.#waiting.shift()?.();
  }

  /** Whether a client's publish may go out; a refused one is counted and logged here. */
  mayPublish(client: Client, topic: string): boolean {
    const acl = this.#options.acl;
    if (acl === undefined) return true;
    const user = this.#users.get(client) ?? '';
    if (acl.mayPublish(user, topic)) return true;
    this.stats.denied.publish++;
    const leftOut = this.#quiet.hit('publish');
    if (leftOut !== undefined) this.#logger.info({ ...peerFields({ clientId: client.id, username: user, topic }), denied: { ...this.stats.denied }, suppressed: leftOut }, 'local MQTT publish dropped: not in the ACL');
    return false;
  }

  /** aedes' `authorizeSubscribe` hook: a refused filter gets SUBACK 0x80. */
  readonly authorizeSubscribe = (client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void => {
    const acl = this.#options.acl;
    const user = this.#users.get(client) ?? '';
    if (acl === undefined || acl.maySubscribe(user, sub.topic)) {
      done(null, sub);
      return;
    }
    this.stats.denied.subscribe++;
    const leftOut = this.#quiet.hit('subscribe');
    if (leftOut !== undefined) this.#logger.info({ ...peerFields({ clientId: client.id, username: user, filter: sub.topic }), denied: { ...this.stats.denied }, suppressed: leftOut }, 'local MQTT subscription refused: not in the ACL');
    done(null, null);
  };

  #accept(client: Client, user: string, done: Done): void {
    this.stats.accepted++;
    this.#users.set(client, user);
    done(null, true);
  }

  #refuse(client: Client, username: string | undefined, reason: RefusalReason, done: Done): void {
    this.stats.refused[reason]++;
    const returnCode = reason === 'busy' ? SERVER_UNAVAILABLE : reason === 'noCredentials' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD;
    const leftOut = this.#quiet.hit('refusal');
    if (leftOut !== undefined) {
      this.#logger.warn(
        { ...peerFields({ clientId: client.id, username }), address: addressOf(client), reason, returnCode, refused: { ...this.stats.refused }, suppressed: leftOut },
        'local MQTT client refused',
      );
    }
    // The codes are aedes' `AuthErrorCode`, a const enum its typings cannot hand over at run time.
    const err: AuthenticateError = Object.assign(new Error(`local MQTT client refused: ${reason}`), { returnCode });
    done(err, null);
  }
}
