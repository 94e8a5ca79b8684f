/**
 * Aggregating mode: one upstream connection for the whole gateway, and topic rules that say what
 * crosses it. This class owns that connection and composes the two directions:
 *
 * ```
 * broker core ─► OutboundPath (aggregating-outbound.ts: rules, shaping, queue window, pacing) ─► upstream
 * upstream ─► InboundPath (aggregating-inbound.ts: notices, echo filter, rules) ─► broker core
 * ```
 *
 * The connection is a ReconnectingUpstream (reconnecting-upstream.ts, shared with transparent
 * mode; MQTT.js reconnect is off): backoff with jitter, the state in `status()`. This class says
 * what a connect or a loss means here, and logs it. A profile whose credentials expire has its
 * connection renewed before they do, once what is in flight is acknowledged.
 */
import type { BrokerCore } from '../broker/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../logger.js';
import type { OutboundQueue } from '../store/types.js';
import { EchoFilter } from './echo.js';
import { InboundPath } from './aggregating-inbound.js';
import { OutboundPath } from './aggregating-outbound.js';
import { profileFor, type UpstreamProfile } from './profiles/index.js';
import { BridgeError, BridgeErrorCode } from './errors.js';
import { ReconnectingUpstream, type ConnectionLoss } from './reconnecting-upstream.js';
import { TopicRules } from './rules.js';
import { zeroCounters, type Bridge, type BridgeCounters, type BridgeStatus } from './types.js';
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

export class AggregatingBridge implements Bridge {
  readonly mode = 'aggregating' as const;
  readonly #config: UpstreamConfig;
  readonly #broker: BrokerCore;
  readonly #queue: OutboundQueue;
  readonly #ownsQueue: boolean;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #drainMs: number;
  readonly #counters: BridgeCounters = zeroCounters();
  readonly #listeners = new Set<(connected: boolean) => void>();
  readonly #profile: UpstreamProfile | undefined;
  readonly #outbound: OutboundPath;
  readonly #inbound: InboundPath;
  readonly #link: ReconnectingUpstream;
  /** renews the connection before its credentials expire */
  #renewTimer: TimerHandle | undefined;
  #unsubscribe: Array<() => Promise<void>> = [];
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(deps: AggregatingBridgeDeps) {
    this.#config = deps.config;
    this.#broker = deps.broker;
    this.#queue = deps.queue;
    this.#ownsQueue = deps.ownsQueue ?? false;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
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
      idle: () => this.#onIdle(),
      failed: (conn, err) => this.#abandon(conn, err),
    });
    this.#inbound = new InboundPath({ ...shared, broker: deps.broker, throttled: (ms) => this.#outbound.pause(ms) });
    this.#link = new ReconnectingUpstream({
      connector: deps.connector,
      clock: deps.clock,
      random: deps.random ?? Math.random,
      reconnect: deps.config.reconnect,
      profile: this.#profile,
      counters: this.#counters,
      connected: (conn, sessionPresent, afterFailure) => this.#onConnected(conn, sessionPresent, afterFailure),
      message: (msg, done) => this.#inbound.fromUpstream(msg, done),
      closed: (loss) => this.#onClosed(loss),
    });
  }

  get connected(): boolean {
    return this.#link.state === 'connected';
  }

  async start(): Promise<void> {
    if (this.#link.state !== 'idle') throw new BridgeError(BridgeErrorCode.CLOSED, 'the bridge was already started, or closed');
    for (const filter of this.#outbound.localSubscriptions()) {
      this.#unsubscribe.push(await this.#broker.subscribe(filter, (msg, origin) => this.#outbound.fromLocal(filter, msg, origin)));
    }
    this.#logger.info(
      { url: this.#config.url, clientId: this.#config.clientId, rules: this.#config.topics.length, profile: this.#profile?.name },
      'upstream bridge starting',
    );
    this.#link.start();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const unsubscribe = this.#unsubscribe.splice(0);
    await Promise.allSettled(unsubscribe.map((off) => off()));
    if (this.#link.state === 'connected' && this.#outbound.inFlight > 0 && this.#drainMs > 0) {
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
    const { wasConnected, conn } = this.#link.stop();
    this.#link.markSince();
    await conn?.end(true);
    if (wasConnected) this.#emitConnected(false);
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
      state: link.upstreamState(),
      connected: link.state === 'connected',
      since: new Date(link.since.wall).toISOString(),
      forMs: Math.max(0, now - link.since.mono),
      attempts: link.attempts,
      nextAttemptInMs: link.nextAttemptAt === undefined ? undefined : Math.max(0, link.nextAttemptAt - now),
      lastError: link.lastError,
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

  #onConnected(conn: UpstreamConnection, sessionPresent: boolean, afterFailure: boolean): void {
    this.#logger.info(
      { url: this.#config.url, clientId: this.#config.clientId, sessionPresent, queued: this.#queue.size, afterFailure },
      'upstream connected',
    );
    this.#inbound.subscribe(conn, () => this.#link.isCurrent(conn));
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
    if (!this.#link.isCurrent(conn) || this.#link.state !== 'connected') return;
    if (this.#outbound.hold()) this.#renew();
  }

  /** Nothing in flight any more: a close waiting for it may go on, and so may a renewal. */
  #onIdle(): boolean {
    this.#drained?.();
    if (!this.#outbound.held) return false;
    this.#renew();
    return true;
  }

  #renew(): void {
    this.#outbound.detach();
    this.#counters.tokenRenewals++;
    this.#logger.info({ profile: this.#profile?.name, renewals: this.#counters.tokenRenewals }, 'renewing the upstream connection before its token expires');
    // A fresh connector call computes fresh credentials.
    this.#link.renew((err) => this.#logger.debug({ err }, 'ending the upstream connection for renewal failed'));
    this.#emitConnected(false);
  }

  #onClosed({ error: e, established, retryInMs }: ConnectionLoss): void {
    const unacked = this.#outbound.lost();
    this.#renewTimer?.cancel();
    this.#renewTimer = undefined;
    const link = this.#link;
    if (established || link.attempts === 1) link.markSince();
    const fields = {
      code: e.code,
      reason: e.message,
      attempt: link.attempts,
      retryInMs,
      queued: this.#queue.size,
      reconnectingSince: new Date(link.since.wall).toISOString(),
    };
    if (established) {
      this.#logger.warn({ ...fields, unacked }, 'upstream connection lost; unacknowledged messages will be sent again');
      this.#emitConnected(false);
      this.#drained?.();
    } else {
      this.#logger.warn(fields, 'upstream connection failed');
    }
  }

  /** An established connection turned unusable under us: treat it as lost. */
  #abandon(conn: UpstreamConnection, err: Error): void {
    this.#link.abandon(conn, err, (e) => this.#logger.debug({ err: e }, 'ending an abandoned upstream connection failed'));
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
