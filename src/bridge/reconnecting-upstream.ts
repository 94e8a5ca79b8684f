/**
 * One upstream connection over time, as both bridge modes keep it: attempts, the live
 * connection, backoff with jitter after a failure or loss (never under the profile's reconnect
 * floor), the error classified for status and log, and a guard that ignores events of
 * connections no longer current (an ack MQTT.js fails after the close, say, must not touch the
 * next connection). What to do on each event, and what to log, stays with the owner.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { classifyUpstreamError, type BridgeError } from './errors.js';
import { profileReconnectDelay, type UpstreamProfile } from './profiles/index.js';
import type { BridgeCounters, BridgeStatus, UpstreamState } from './types.js';
import type { UpstreamConnection, UpstreamConnector, Message } from './upstream.js';

export interface ConnectionLoss {
  error: BridgeError;
  /** the connection had been established (a loss), not an attempt that failed */
  established: boolean;
  /** it was the connection in use (connected) until now */
  wasConnected: boolean;
  /** when it is tried again; undefined when it is not (see `retries`) */
  retryInMs: number | undefined;
}

export interface ReconnectingUpstreamDeps {
  connector: UpstreamConnector;
  clock: Clock;
  /** [0, 1) for the backoff jitter */
  random: () => number;
  reconnect: BackoffOptions;
  profile: UpstreamProfile | undefined;
  /** connects, disconnects and connectFailures are counted here */
  counters: BridgeCounters;
  /** `afterFailure`: attempts had failed, or a connection was lost, since the last success */
  connected: (conn: UpstreamConnection, sessionPresent: boolean, afterFailure: boolean) => void;
  /** a message on the current connection (a stale one's are acknowledged and dropped) */
  message: (msg: Message, done: () => void) => void;
  closed: (loss: ConnectionLoss) => void;
  /** whether a connection that failed or was lost is tried again; default always */
  retries?: (error: BridgeError, established: boolean) => boolean;
}

/**
 * The wait before attempt `attempt` (1 = the first retry): the backoff, never under the profile's
 * floor. Each connection has its own client id, so a service's per-client-id limits hold for each.
 */
export function reconnectDelay(profile: UpstreamProfile | undefined, reconnect: BackoffOptions, attempt: number, random: () => number): number {
  return profileReconnectDelay(profile, backoffDelay(attempt, reconnect, random), random);
}

export type ReconnectingState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export class ReconnectingUpstream {
  readonly #deps: ReconnectingUpstreamDeps;
  #state: ReconnectingState = 'idle';
  /** the connection whose events count */
  #conn: UpstreamConnection | undefined;
  #timer: TimerHandle | undefined;
  /** failed attempts and losses since the last success */
  attempts = 0;
  lastError: BridgeStatus['lastError'];
  /** when the next attempt is due (clock ms), while waiting */
  nextAttemptAt: number | undefined;
  /** since when the state shown in status holds (an outage counts from its first failure) */
  since: { mono: number; wall: number };

  constructor(deps: ReconnectingUpstreamDeps) {
    this.#deps = deps;
    this.since = { mono: deps.clock.now(), wall: Date.now() };
  }

  get state(): ReconnectingState {
    return this.#state;
  }

  /** the current connection (established or being attempted) */
  get conn(): UpstreamConnection | undefined {
    return this.#conn;
  }

  isCurrent(conn: UpstreamConnection): boolean {
    return this.#conn === conn;
  }

  upstreamState(): UpstreamState {
    switch (this.#state) {
      case 'connected':
        return 'connected';
      case 'idle':
      case 'stopped':
        return 'stopped';
      case 'connecting':
      case 'waiting':
        return this.attempts > 0 ? 'reconnecting' : 'connecting';
    }
  }

  /** The first attempt. */
  start(): void {
    this.markSince();
    this.#open();
  }

  /** A fresh connection now, without backoff (the connector computes fresh credentials); the old one ends cleanly. */
  renew(onEndError: (err: unknown) => void): void {
    const old = this.#conn;
    this.#conn = undefined;
    old?.end(true).catch(onEndError);
    this.#open();
  }

  /**
   * An established connection turned unusable under us: treated as lost, bookkeeping first
   * (ending it fails its other pending publishes, and those callbacks must find it no longer
   * current), then ended.
   */
  abandon(conn: UpstreamConnection, err: Error, onEndError: (err: unknown) => void): void {
    if (this.#conn !== conn) return;
    this.#onClosed(err, true);
    conn.end(false).catch(onEndError);
  }

  /** No more attempts. Returns whether it was connected, and the connection there was, for the owner to end. */
  stop(): { wasConnected: boolean; conn: UpstreamConnection | undefined } {
    const wasConnected = this.#state === 'connected';
    this.#state = 'stopped';
    this.#timer?.cancel();
    this.#timer = undefined;
    this.nextAttemptAt = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    return { wasConnected, conn };
  }

  /** The shown state starts now (the owner says when an outage starts: first failure, or a loss). */
  markSince(): void {
    this.since = { mono: this.#deps.clock.now(), wall: Date.now() };
  }

  #open(): void {
    this.#state = 'connecting';
    this.nextAttemptAt = undefined;
    const conn: UpstreamConnection = this.#deps.connector({
      connected: (info) => {
        if (this.#conn === conn) this.#onConnected(conn, info.sessionPresent);
      },
      message: (msg, done) => {
        if (this.#conn === conn) this.#deps.message(msg, done);
        else done();
      },
      closed: (err, established) => {
        if (this.#conn === conn) this.#onClosed(err, established);
      },
    });
    this.#conn = conn;
  }

  #onConnected(conn: UpstreamConnection, sessionPresent: boolean): void {
    const afterFailure = this.attempts > 0;
    this.#state = 'connected';
    this.#deps.counters.connects++;
    this.attempts = 0;
    this.markSince();
    this.#deps.connected(conn, sessionPresent, afterFailure);
  }

  #onClosed(err: Error | undefined, established: boolean): void {
    const error = classifyUpstreamError(err ?? new Error('the broker closed the connection'), established);
    const wasConnected = this.#state === 'connected';
    this.#conn = undefined;
    this.lastError = { code: error.code, message: error.message, at: new Date().toISOString() };
    if (established) this.#deps.counters.disconnects++;
    else this.#deps.counters.connectFailures++;
    if (this.#deps.retries?.(error, established) === false) {
      this.#state = 'stopped';
      this.#deps.closed({ error, established, wasConnected, retryInMs: undefined });
      return;
    }
    this.attempts++;
    const d = this.#deps;
    const delay = reconnectDelay(d.profile, d.reconnect, this.attempts, d.random);
    this.#state = 'waiting';
    this.nextAttemptAt = d.clock.now() + delay;
    this.#timer = d.clock.setTimeout(() => {
      if (this.#state === 'waiting') this.#open();
    }, delay);
    d.closed({ error, established, wasConnected, retryInMs: delay });
  }
}
