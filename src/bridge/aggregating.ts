/**
 * Aggregating mode: one upstream connection for the whole gateway, and topic rules that say what
 * crosses it. This class owns that connection and composes the two directions:
 *
 * ```
 * broker core ─► OutboundPath (aggregating-outbound.ts: rules, shaping, queue window, pacing) ─► upstream
 * upstream ─► InboundPath (aggregating-inbound.ts: notices, echo filter, rules) ─► broker core
 * ```
 *
 * Connection attempts are driven here (MQTT.js reconnect is off): exponential backoff with
 * jitter, the state in `status()` and in the log. A profile whose credentials expire has its
 * connection renewed before they do, once what is in flight is acknowledged.
 */
import type { BrokerCore } from '../broker/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../logger.js';
import type { OutboundQueue } from '../store/types.js';
import { backoffDelay } from './backoff.js';
import { EchoFilter } from './echo.js';
import { InboundPath } from './aggregating-inbound.js';
import { OutboundPath } from './aggregating-outbound.js';
import { profileFor, profileReconnectDelay, type UpstreamProfile } from './profiles/index.js';
import { BridgeError, BridgeErrorCode, classifyUpstreamError } from './errors.js';
import { TopicRules } from './rules.js';
import { zeroCounters, type Bridge, type BridgeCounters, type BridgeStatus, type UpstreamState } from './types.js';
import type { UpstreamConnection, UpstreamConnector } from './upstream.js';

export interface AggregatingBridgeDeps {
  config: UpstreamConfig;
  broker: BrokerCore;
  connector: UpstreamConnector;
  queue: OutboundQueue;
  /** close the queue with the bridge (it was made for it) */
  ownsQueue?: boolean;
  clock: Clock;
  logger: Logger;
  /** [0, 1) for the backoff jitter; default Math.random */
  random?: () => number;
  /** how long `close` waits for in-flight acknowledgements; default 1000 ms */
  drainMs?: number;
  /** echo suppression; default a 10 s window, 100,000 entries */
  echo?: { windowMs: number; maxEntries: number };
}

type Link =
  | { kind: 'idle' }
  | { kind: 'connecting'; conn: UpstreamConnection }
  | { kind: 'connected'; conn: UpstreamConnection }
  | { kind: 'waiting'; timer: TimerHandle; at: number }
  | { kind: 'stopped' };

export class AggregatingBridge implements Bridge {
  readonly mode = 'aggregating' as const;
  readonly #config: UpstreamConfig;
  readonly #broker: BrokerCore;
  readonly #connector: UpstreamConnector;
  readonly #queue: OutboundQueue;
  readonly #ownsQueue: boolean;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #drainMs: number;
  readonly #counters: BridgeCounters = zeroCounters();
  readonly #listeners = new Set<(connected: boolean) => void>();
  readonly #profile: UpstreamProfile | undefined;
  readonly #outbound: OutboundPath;
  readonly #inbound: InboundPath;
  /** renews the connection before its credentials expire */
  #renewTimer: TimerHandle | undefined;

  #link: Link = { kind: 'idle' };
  /** the connection whose events count; events of older ones are ignored */
  #current: UpstreamConnection | undefined;
  #unsubscribe: Array<() => Promise<void>> = [];
  #attempts = 0;
  /** set from the first failure or loss until the next successful connection */
  #failing = false;
  #lastError: BridgeStatus['lastError'];
  #stateSince = { mono: 0, wall: 0 };
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(deps: AggregatingBridgeDeps) {
    this.#config = deps.config;
    this.#broker = deps.broker;
    this.#connector = deps.connector;
    this.#queue = deps.queue;
    this.#ownsQueue = deps.ownsQueue ?? false;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#random = deps.random ?? Math.random;
    this.#drainMs = deps.drainMs ?? 1000;
    this.#profile = profileFor(deps.config);
    const rules = new TopicRules(deps.config.topics);
    const echo = new EchoFilter(deps.clock, deps.echo ?? { windowMs: 10_000, maxEntries: 100_000 });
    const shared = { rules, echo, counters: this.#counters, profile: this.#profile, logger: deps.logger };
    this.#outbound = new OutboundPath({
      ...shared,
      maxInflight: deps.config.maxInflight,
      queue: deps.queue,
      clock: deps.clock,
      idle: (conn) => this.#onIdle(conn),
      failed: (conn, err) => this.#abandon(conn, err),
    });
    this.#inbound = new InboundPath({ ...shared, broker: deps.broker, throttled: (ms) => this.#outbound.pause(ms) });
  }

  get connected(): boolean {
    return this.#link.kind === 'connected';
  }

  async start(): Promise<void> {
    if (this.#link.kind !== 'idle') throw new BridgeError(BridgeErrorCode.CLOSED, 'the bridge was already started, or closed');
    for (const filter of this.#outbound.localSubscriptions()) {
      this.#unsubscribe.push(await this.#broker.subscribe(filter, (msg, origin) => this.#outbound.fromLocal(filter, msg, origin)));
    }
    this.#markState();
    this.#logger.info(
      { url: this.#config.url, clientId: this.#config.clientId, rules: this.#config.topics.length, profile: this.#profile?.name },
      'upstream bridge starting',
    );
    this.#connect();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const unsubscribe = this.#unsubscribe.splice(0);
    await Promise.allSettled(unsubscribe.map((off) => off()));
    if (this.#link.kind === 'connected' && this.#outbound.inFlight > 0 && this.#drainMs > 0) {
      // A clean stop should not leave acknowledgements a moment away unreceived.
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(() => resolve(), this.#drainMs);
        this.#drained = () => {
          timer.cancel();
          resolve();
        };
      });
      this.#drained = undefined;
    }
    this.#renewTimer?.cancel();
    this.#renewTimer = undefined;
    this.#outbound.close();
    const link = this.#link;
    this.#link = { kind: 'stopped' };
    this.#current = undefined;
    this.#markState();
    if (link.kind === 'waiting') link.timer.cancel();
    if (link.kind === 'connecting' || link.kind === 'connected') await link.conn.end(true);
    if (link.kind === 'connected') this.#emitConnected(false);
    this.#logger.info({ queued: this.#queue.size, unacked: this.#outbound.inFlight }, 'upstream bridge stopped');
    if (this.#ownsQueue) await this.#queue.close();
  }

  onConnectedChange(listener: (connected: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): BridgeStatus {
    const now = this.#clock.now();
    const link = this.#link;
    return {
      mode: this.mode,
      url: this.#config.url,
      clientId: this.#config.clientId,
      profile: this.#profile?.name,
      state: this.#state(),
      connected: link.kind === 'connected',
      since: new Date(this.#stateSince.wall).toISOString(),
      forMs: Math.max(0, now - this.#stateSince.mono),
      attempts: this.#attempts,
      nextAttemptInMs: link.kind === 'waiting' ? Math.max(0, link.at - now) : undefined,
      lastError: this.#lastError,
      queue: {
        messages: this.#queue.size,
        bytes: this.#queue.bytes,
        inFlight: this.#outbound.inFlight,
        maxMessages: this.#queue.limits.maxMessages,
        maxBytes: this.#queue.limits.maxBytes,
      },
      counters: { ...this.#counters },
    };
  }

  // ── connection lifecycle ─────────────────────────────────────────────────────────────────

  #state(): UpstreamState {
    switch (this.#link.kind) {
      case 'connected':
        return 'connected';
      case 'idle':
      case 'stopped':
        return 'stopped';
      case 'connecting':
      case 'waiting':
        return this.#failing ? 'reconnecting' : 'connecting';
    }
  }

  #markState(): void {
    this.#stateSince = { mono: this.#clock.now(), wall: Date.now() };
  }

  #connect(): void {
    // Handlers check that they belong to the current connection: a late event of an old one
    // (an ack MQTT.js fails after the close, say) must not touch the new one.
    const conn: UpstreamConnection = this.#connector({
      connected: (info) => {
        if (this.#current === conn) this.#onConnected(conn, info.sessionPresent);
      },
      message: (msg, done) => {
        if (this.#current === conn) this.#inbound.fromUpstream(msg, done);
        else done();
      },
      closed: (err, established) => {
        if (this.#current === conn) this.#onClosed(err, established);
      },
    });
    this.#current = conn;
    this.#link = { kind: 'connecting', conn };
  }

  #onConnected(conn: UpstreamConnection, sessionPresent: boolean): void {
    const wasFailing = this.#failing;
    this.#link = { kind: 'connected', conn };
    this.#counters.connects++;
    this.#attempts = 0;
    this.#failing = false;
    this.#markState();
    this.#logger.info(
      { url: this.#config.url, clientId: this.#config.clientId, sessionPresent, queued: this.#queue.size, afterFailure: wasFailing },
      'upstream connected',
    );
    this.#inbound.subscribe(conn, () => this.#current === conn);
    const renewAfter = this.#profile?.renewConnectionAfterMs;
    if (renewAfter !== undefined) {
      this.#renewTimer?.cancel();
      this.#renewTimer = this.#clock.setTimeout(() => this.#beginRenewal(conn), renewAfter);
    }
    this.#outbound.attach(conn);
    this.#emitConnected(true);
  }

  /** Credentials about to expire: let what is in flight be acknowledged, then reconnect with fresh ones. */
  #beginRenewal(conn: UpstreamConnection): void {
    this.#renewTimer = undefined;
    if (this.#current !== conn || this.#link.kind !== 'connected') return;
    if (this.#outbound.hold()) this.#renew(conn);
  }

  /** Nothing in flight any more: a close waiting for it may go on, and so may a renewal. */
  #onIdle(conn: UpstreamConnection): boolean {
    this.#drained?.();
    if (!this.#outbound.held) return false;
    this.#renew(conn);
    return true;
  }

  #renew(conn: UpstreamConnection): void {
    this.#outbound.detach();
    this.#counters.tokenRenewals++;
    this.#current = undefined;
    this.#logger.info({ profile: this.#profile?.name, renewals: this.#counters.tokenRenewals }, 'renewing the upstream connection before its token expires');
    conn.end(true).catch((err: unknown) => this.#logger.debug({ err }, 'ending the upstream connection for renewal failed'));
    // A fresh connector call computes fresh credentials.
    this.#connect();
    this.#emitConnected(false);
  }

  #onClosed(err: Error | undefined, established: boolean): void {
    const e = classifyUpstreamError(err ?? new Error('the broker closed the connection'), established);
    const unacked = this.#outbound.lost();
    this.#current = undefined;
    this.#failing = true;
    this.#attempts++;
    this.#renewTimer?.cancel();
    this.#renewTimer = undefined;
    this.#lastError = { code: e.code, message: e.message, at: new Date().toISOString() };
    const delay = profileReconnectDelay(this.#profile, backoffDelay(this.#attempts, this.#config.reconnect, this.#random), this.#random);
    const timer = this.#clock.setTimeout(() => {
      if (this.#link.kind === 'waiting') this.#connect();
    }, delay);
    this.#link = { kind: 'waiting', timer, at: this.#clock.now() + delay };
    if (established || this.#attempts === 1) this.#markState();
    const fields = {
      code: e.code,
      reason: e.message,
      attempt: this.#attempts,
      retryInMs: delay,
      queued: this.#queue.size,
      reconnectingSince: new Date(this.#stateSince.wall).toISOString(),
    };
    if (established) {
      this.#counters.disconnects++;
      this.#logger.warn({ ...fields, unacked }, 'upstream connection lost; unacknowledged messages will be sent again');
      this.#emitConnected(false);
      this.#drained?.();
    } else {
      this.#counters.connectFailures++;
      this.#logger.warn(fields, 'upstream connection failed');
    }
  }

  /** An established connection turned unusable under us: treat it as lost. */
  #abandon(conn: UpstreamConnection, err: Error): void {
    if (this.#current !== conn) return;
    // Bookkeeping first: ending the connection fails its other pending publishes, and those
    // callbacks must find it no longer current.
    this.#onClosed(err, true);
    conn.end(false).catch((e: unknown) => this.#logger.debug({ err: e }, 'ending an abandoned upstream connection failed'));
  }

  #emitConnected(connected: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(connected);
      } catch (err) {
        this.#logger.error({ err }, 'upstream connected-change listener threw');
      }
    }
  }
}
