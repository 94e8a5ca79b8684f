/**
 * Aggregating mode: one upstream connection for the whole gateway, and topic rules that say what
 * crosses it.
 *
 * ```
 * broker core ─► rules.outbound ─► QoS 0: straight up while connected (else dropped, counted)
 *                                  QoS 1/2: queue ─► window of maxInflight ─► ack ─► out of the queue
 *
 * With a profile's publish budget, QoS 0 waits a moment for it too, and the budget is shared
 * turn about between the QoS 0 that waits and the QoS 1/2 queue: a QoS 1 backlog draining at the
 * service's pace does not starve QoS 0 that, alone, would be under the pace. QoS 0 that waited
 * longer than qos0MaxWaitMs (below) is dropped, counted as droppedRateLimited.
 * upstream ─► echo filter ─► rules.inbound ─► broker core (origin 'bridge': never sent up again)
 * ```
 *
 * The queue is the one record of what the upstream has not acknowledged. A message leaves it only
 * on PUBACK / PUBCOMP; when a connection drops, everything unacknowledged is sent again, in queue
 * order, on the next one. That is at-least-once across a reconnect for QoS 1 and 2 alike: MQTT
 * 3.1.1 with a clean session cannot carry QoS 2's exactly-once across a lost connection.
 *
 * Connection attempts are driven here (MQTT.js reconnect is off): exponential backoff with
 * jitter, the state in `status()` and in the log.
 */
import type { BrokerCore, BrokerMessage } from '../broker/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../logger.js';
import type { OutboundQueue, QueuedMessage } from '../store/types.js';
import { validateTopicName } from '../topics/topic-names.js';
import { backoffDelay } from './backoff.js';
import { EchoFilter } from './echo.js';
import { ThrottledWarn } from './throttled-warn.js';
import { batchSubscriptions, pacerFor, profileFor, profileReconnectDelay, shapeOutbound, type Pacer, type ProfileInbound, type UpstreamProfile } from './profiles/index.js';
import { BridgeError, BridgeErrorCode, classifyUpstreamError } from './errors.js';
import { TopicRules } from './rules.js';
import { BRIDGE_ORIGIN, zeroCounters, type Bridge, type BridgeCounters, type BridgeStatus, type UpstreamState } from './types.js';
import type { UpstreamConnection, UpstreamConnector, UpstreamMessage } from './upstream.js';

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

/** QoS 0 is dropped, not buffered, once this much waits in the socket: the link is not keeping up. */
const QOS0_BACKLOG_LIMIT = 4 * 1024 * 1024;
/**
 * How long QoS 0 may wait for the profile's budget: a second, or two sends' worth of a slow budget
 * (a sliding window: its length). Older than that it is news no one wants late: dropped, counted.
 */
function qos0MaxWaitMs(p: UpstreamProfile): number {
  return p.publishWindow?.windowMs ?? Math.max(1000, 2000 / p.publishRate.perSecond);
}

/** Queue-full drops are logged at most this often (each drop is counted). */
const DROP_LOG_INTERVAL_MS = 10_000;

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
  readonly #rules: TopicRules;
  readonly #echo: EchoFilter;
  readonly #counters: BridgeCounters = zeroCounters();
  readonly #listeners = new Set<(connected: boolean) => void>();
  readonly #profile: UpstreamProfile | undefined;
  /** paces PUBLISH to the profile's rate; undefined without a profile */
  readonly #bucket: Pacer | undefined;
  /** a pump waiting for the bucket to refill */
  #pacer: TimerHandle | undefined;
  /** the service asked for a pause (a throttle notice): nothing is published before this (clock ms) */
  #pausedUntil = -Infinity;
  /** upstream topic -> seq of its newest queued message, for coalescing (profiles that coalesce) */
  readonly #newestByTopic = new Map<string, number>();
  /** renews the connection before its credentials expire */
  #renewTimer: TimerHandle | undefined;
  /** a renewal waits for the in-flight acknowledgements; nothing new is sent meanwhile */
  #renewing = false;
  readonly #refusals: ThrottledWarn;
  /** QoS 0 waiting for the profile's budget, oldest first, with when each came */
  #qos0Waiting: Array<{ msg: UpstreamMessage; at: number }> = [];
  /** when both QoS 0 and the queue wait, whose turn the next send is */
  #qos0Turn = false;

  #link: Link = { kind: 'idle' };
  /** the connection whose events count; events of older ones are ignored */
  #current: UpstreamConnection | undefined;
  #unsubscribe: Array<() => Promise<void>> = [];
  #singleLocalSubscription = true;
  /** seqs sent on the current connection and not yet acknowledged */
  readonly #inFlight = new Set<number>();
  /** the last seq handed to the current connection: reading on from here */
  #cursor = 0;
  /** the highest seq ever sent: anything at or below it that is sent again is a re-send */
  #highestSent = 0;
  #attempts = 0;
  /** set from the first failure or loss until the next successful connection */
  #failing = false;
  #lastError: BridgeStatus['lastError'];
  #stateSince = { mono: 0, wall: 0 };
  #drops = { lastLogAt: -Infinity, unlogged: 0 };
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
    this.#rules = new TopicRules(deps.config.topics);
    this.#echo = new EchoFilter(deps.clock, deps.echo ?? { windowMs: 10_000, maxEntries: 100_000 });
    this.#profile = profileFor(deps.config);
    this.#bucket = this.#profile === undefined ? undefined : pacerFor(deps.clock, this.#profile);
    this.#refusals = new ThrottledWarn(deps.clock, deps.logger, DROP_LOG_INTERVAL_MS, `more messages not sent upstream: ${this.#profile?.service ?? 'the service'} would refuse them (the last one's topic and reason here)`);
  }

  get connected(): boolean {
    return this.#link.kind === 'connected';
  }

  async start(): Promise<void> {
    if (this.#link.kind !== 'idle') throw new BridgeError(BridgeErrorCode.CLOSED, 'the bridge was already started, or closed');
    const filters = this.#rules.localSubscriptions();
    this.#singleLocalSubscription = filters.length <= 1;
    for (const filter of filters) {
      this.#unsubscribe.push(await this.#broker.subscribe(filter, (msg, origin) => this.#fromLocal(filter, msg, origin)));
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
    if (this.#link.kind === 'connected' && this.#inFlight.size > 0 && this.#drainMs > 0) {
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
    this.#pacer?.cancel();
    this.#pacer = undefined;
    this.#renewTimer?.cancel();
    this.#renewTimer = undefined;
    this.#refusals.flush();
    const link = this.#link;
    this.#link = { kind: 'stopped' };
    this.#current = undefined;
    this.#dropWaitingQos0();
    this.#markState();
    if (link.kind === 'waiting') link.timer.cancel();
    if (link.kind === 'connecting' || link.kind === 'connected') await link.conn.end(true);
    if (link.kind === 'connected') this.#emitConnected(false);
    this.#logger.info({ queued: this.#queue.size, unacked: this.#inFlight.size }, 'upstream bridge stopped');
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
        inFlight: this.#inFlight.size,
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
        if (this.#current === conn) this.#fromUpstream(msg, done);
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
    this.#flushDropLog();
    this.#subscribeUpstream(conn);
    this.#cursor = 0;
    this.#renewing = false;
    const renewAfter = this.#profile?.renewConnectionAfterMs;
    if (renewAfter !== undefined) {
      this.#renewTimer?.cancel();
      this.#renewTimer = this.#clock.setTimeout(() => this.#beginRenewal(conn), renewAfter);
    }
    this.#pump();
    this.#emitConnected(true);
  }

  /** Credentials about to expire: let what is in flight be acknowledged, then reconnect with fresh ones. */
  #beginRenewal(conn: UpstreamConnection): void {
    this.#renewTimer = undefined;
    if (this.#current !== conn || this.#link.kind !== 'connected') return;
    this.#renewing = true;
    if (this.#inFlight.size === 0) this.#renew(conn);
  }

  #renew(conn: UpstreamConnection): void {
    this.#renewing = false;
    this.#counters.tokenRenewals++;
    this.#cursor = 0;
    this.#current = undefined;
    this.#logger.info({ profile: this.#profile?.name, renewals: this.#counters.tokenRenewals }, 'renewing the upstream connection before its token expires');
    conn.end(true).catch((err: unknown) => this.#logger.debug({ err }, 'ending the upstream connection for renewal failed'));
    // A fresh connector call computes fresh credentials.
    this.#connect();
    this.#emitConnected(false);
  }

  #subscribeUpstream(conn: UpstreamConnection): void {
    const p = this.#profile;
    let subs = [...this.#rules.remoteSubscriptions(), ...(p?.subscriptions ?? [])];
    if (subs.length === 0) return;
    if (p === undefined) {
      this.#subscribeBatch(conn, subs);
      return;
    }
    subs = subs.map((s) => (s.qos > p.maxQos ? { ...s, qos: p.maxQos } : s));
    const { batches, leftOut } = batchSubscriptions(p, subs);
    if (leftOut.length > 0) {
      this.#logger.warn(
        { profile: p.name, limit: p.maxSubscriptions, leftOut: leftOut.map((s) => s.filter) },
        `${p.service} takes at most ${p.maxSubscriptions} subscriptions per connection: these inbound filters are not subscribed (merge rules with wildcards)`,
      );
    }
    for (const batch of batches) this.#subscribeBatch(conn, batch);
  }

  #subscribeBatch(conn: UpstreamConnection, subs: ReadonlyArray<{ filter: string; qos: 0 | 1 | 2 }>): void {
    conn.subscribe(subs).then(
      (granted) => {
        subs.forEach((s, i) => {
          const g = granted[i];
          if (g === undefined || g > 2) this.#logger.warn({ filter: s.filter }, 'the upstream broker refused a subscription: nothing comes in on this filter (check its ACL)');
          else if (g < s.qos) this.#logger.info({ filter: s.filter, requested: s.qos, granted: g }, 'the upstream broker granted a lower QoS');
        });
      },
      (err: unknown) => {
        // Only when the connection went away meanwhile; the next connection subscribes again.
        if (this.#current === conn) this.#logger.warn({ err }, 'upstream SUBSCRIBE failed');
      },
    );
  }

  #onClosed(err: Error | undefined, established: boolean): void {
    const e = classifyUpstreamError(err ?? new Error('the broker closed the connection'), established);
    const unacked = this.#inFlight.size;
    this.#inFlight.clear();
    this.#dropWaitingQos0();
    this.#cursor = 0;
    this.#current = undefined;
    this.#failing = true;
    this.#attempts++;
    this.#renewing = false;
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

  // ── gateway -> upstream ───────────────────────────────────────────────────────────────────

  #fromLocal(filter: string, msg: BrokerMessage, origin: string | undefined): void {
    // It came down from upstream: sending it back up would be a loop.
    if (origin === BRIDGE_ORIGIN) return;
    const route = this.#rules.outbound(msg.topic, msg.qos);
    if (route === undefined) return;
    if (!this.#singleLocalSubscription && !this.#rules.carries(filter, route)) return;
    let out: UpstreamMessage = { topic: route.topic, payload: msg.payload, qos: route.qos, retain: msg.retain };
    const p = this.#profile;
    if (p !== undefined) {
      const shaped = this.#shape(p, out);
      if (shaped === undefined) return;
      out = shaped;
    }
    if (out.qos === 0) {
      this.#sendQos0(out);
      return;
    }
    if (p?.coalescePerTopic === true) this.#coalesce(out.topic);
    const pushed = this.#queue.push(out);
    if (pushed.dropped > 0) this.#noteDropped(pushed.dropped);
    if (p?.coalescePerTopic === true && pushed.queued !== undefined) this.#newestByTopic.set(out.topic, pushed.queued.seq);
    this.#pump();
  }

  /** The message as the service takes it (see `shapeOutbound`), or undefined when it would refuse it. */
  #shape(p: UpstreamProfile, msg: UpstreamMessage): UpstreamMessage | undefined {
    const out = shapeOutbound(p, msg, this.#counters);
    if (!('refused' in out)) return out;
    this.#noteRefused(p, msg, out.refused);
    return undefined;
  }

  /**
   * The newest value of a topic replaces one still waiting for the budget: a message that was
   * never sent leaves the queue. One already sent stays (its ack is what takes it out).
   */
  #coalesce(topic: string): void {
    const waiting = this.#newestByTopic.get(topic);
    if (waiting === undefined) return;
    this.#newestByTopic.delete(topic);
    if (waiting > this.#highestSent && this.#queue.ack(waiting)) this.#counters.coalesced++;
  }

  #sendQos0(msg: UpstreamMessage): void {
    const link = this.#link;
    if (link.kind !== 'connected') {
      this.#counters.droppedOffline++;
      return;
    }
    if (link.conn.writeBacklog > QOS0_BACKLOG_LIMIT) {
      this.#counters.droppedCongested++;
      return;
    }
    if (this.#bucket !== undefined && this.#profile !== undefined) {
      // It takes its turn at the budget with the queue (see #pumpPaced); over the rate, what
      // waited too long is shed rather than delaying the QoS 1 behind it.
      const limit = Math.max(1, Math.ceil((qos0MaxWaitMs(this.#profile) / 1000) * this.#profile.publishRate.perSecond) + this.#profile.publishRate.burst);
      if (this.#qos0Waiting.length >= limit) {
        this.#qos0Waiting.shift();
        this.#counters.droppedRateLimited++;
      }
      this.#qos0Waiting.push({ msg, at: this.#clock.now() });
      this.#pump();
      return;
    }
    this.#publishQos0(link.conn, msg);
  }

  #publishQos0(conn: UpstreamConnection, msg: UpstreamMessage): void {
    this.#counters.sent++;
    this.#noteEcho(msg);
    conn.publish(msg);
  }

  /** QoS 0 that waited for the budget longer than it may: dropped, counted. */
  #expireQos0(p: UpstreamProfile): void {
    const oldest = this.#clock.now() - qos0MaxWaitMs(p);
    let n = 0;
    while (n < this.#qos0Waiting.length && this.#qos0Waiting[n]!.at < oldest) n++;
    if (n === 0) return;
    this.#qos0Waiting.splice(0, n);
    this.#counters.droppedRateLimited += n;
  }

  /** The connection went: QoS 0 still waiting for the budget has nowhere to go. */
  #dropWaitingQos0(): void {
    this.#counters.droppedOffline += this.#qos0Waiting.length;
    this.#qos0Waiting = [];
  }

  /** Sends queued messages while the window has room, in queue order. */
  #pump(): void {
    const link = this.#link;
    if (link.kind !== 'connected') return;
    const conn = link.conn;
    if (this.#renewing) return;
    if (this.#bucket !== undefined && this.#profile !== undefined) {
      this.#pumpPaced(conn, this.#bucket, this.#profile);
      return;
    }
    for (;;) {
      const room = this.#config.maxInflight - this.#inFlight.size;
      if (room <= 0) return;
      const batch = this.#queue.peek(room, this.#cursor);
      if (batch.length === 0) return;
      for (const m of batch) this.#send(conn, m);
      // A send may have failed synchronously and dropped the connection.
      if (this.#link.kind !== 'connected' || this.#link.conn !== conn) return;
    }
  }

  /**
   * Spends the profile's budget one send at a time, turn about between waiting QoS 0 and the
   * queue when both wait, all of it to either when the other has nothing.
   */
  #pumpPaced(conn: UpstreamConnection, bucket: Pacer, p: UpstreamProfile): void {
    for (;;) {
      this.#expireQos0(p);
      const queued = this.#inFlight.size < this.#config.maxInflight ? this.#queue.peek(1, this.#cursor)[0] : undefined;
      const qos0 = this.#qos0Waiting.length > 0;
      if (queued === undefined && !qos0) return;
      const pause = this.#pausedUntil - this.#clock.now();
      if (pause > 0) {
        this.#schedulePump(pause);
        return;
      }
      if (!bucket.take()) {
        this.#schedulePump(bucket.msUntilNext());
        return;
      }
      const takeQos0 = qos0 && (queued === undefined || this.#qos0Turn);
      if (queued !== undefined && qos0) this.#qos0Turn = !takeQos0;
      if (takeQos0) this.#publishQos0(conn, this.#qos0Waiting.shift()!.msg);
      else if (queued !== undefined) this.#send(conn, queued);
      // A send may have failed synchronously and dropped the connection.
      if (this.#link.kind !== 'connected' || this.#link.conn !== conn) return;
    }
  }

  #schedulePump(ms: number): void {
    if (this.#pacer !== undefined) return;
    this.#pacer = this.#clock.setTimeout(() => {
      this.#pacer = undefined;
      this.#pump();
    }, ms);
  }

  #send(conn: UpstreamConnection, m: QueuedMessage): void {
    this.#cursor = m.seq;
    this.#inFlight.add(m.seq);
    if (m.seq > this.#highestSent) {
      this.#highestSent = m.seq;
      this.#counters.sent++;
    } else {
      this.#counters.resent++;
    }
    this.#noteEcho(m);
    conn.publish(m, (err) => this.#onAck(conn, m.seq, err));
  }

  #onAck(conn: UpstreamConnection, seq: number, err: Error | undefined): void {
    if (this.#current !== conn) return;
    if (!this.#inFlight.delete(seq)) return;
    if (err) {
      // MQTT.js fails a publish only when the connection cannot carry it any more.
      this.#abandon(conn, err);
      return;
    }
    if (this.#queue.ack(seq)) this.#counters.acked++;
    if (this.#inFlight.size === 0) {
      this.#drained?.();
      if (this.#renewing) {
        this.#renew(conn);
        return;
      }
    }
    this.#pump();
  }

  #noteEcho(m: UpstreamMessage): void {
    if (this.#rules.hasInbound && this.#rules.subscribedUpstream(m.topic)) this.#echo.sent(m.topic, m.payload);
  }

  /**
   * Counted each time, logged at most every DROP_LOG_INTERVAL_MS (a device stuck on a bad topic
   * must not flood the log), and a burst's held-back tail is logged when the window ends.
   */
  #noteRefused(p: UpstreamProfile, m: UpstreamMessage, reason: string): void {
    this.#counters.refusedByProfile++;
    this.#refusals.warn(
      { profile: p.name, topic: m.topic, bytes: m.payload.length, reason, refusedTotal: this.#counters.refusedByProfile },
      `message not sent upstream: ${p.service} would refuse it (${reason}); not truncated, dropped`,
    );
  }

  #noteDropped(n: number): void {
    this.#counters.droppedQueueFull += n;
    this.#drops.unlogged += n;
    const now = this.#clock.now();
    if (now - this.#drops.lastLogAt >= DROP_LOG_INTERVAL_MS) this.#flushDropLog(now);
  }

  #flushDropLog(now = this.#clock.now()): void {
    if (this.#drops.unlogged === 0) return;
    this.#logger.warn(
      {
        dropped: this.#drops.unlogged,
        droppedTotal: this.#counters.droppedQueueFull,
        maxMessages: this.#queue.limits.maxMessages,
        maxBytes: this.#queue.limits.maxBytes,
        connected: this.connected,
      },
      'upstream queue full: oldest messages dropped',
    );
    this.#drops = { lastLogAt: now, unlogged: 0 };
  }

  // ── upstream -> gateway ───────────────────────────────────────────────────────────────────

  #fromUpstream(msg: UpstreamMessage, done: () => void): void {
    const claimed = this.#profile?.inbound?.(msg.topic, msg.payload);
    if (claimed !== undefined) {
      this.#fromProfile(msg, claimed, done);
      return;
    }
    if (this.#echo.take(msg.topic, msg.payload)) {
      this.#counters.echoes++;
      done();
      return;
    }
    const route = this.#rules.inbound(msg.topic, msg.qos);
    if (route === undefined) {
      // A subscription left from an earlier configuration in a kept session (cleanSession false).
      this.#logger.debug({ topic: msg.topic }, 'message from upstream matches no inbound rule: ignored');
      done();
      return;
    }
    this.#deliver(msg, { topic: route.topic, payload: msg.payload, qos: route.qos, retain: msg.retain }, done);
  }

  /** A message the profile claimed: a service notice to act on, or one to deliver under the topic it chose. */
  #fromProfile(msg: UpstreamMessage, claimed: ProfileInbound, done: () => void): void {
    const service = this.#profile?.service;
    switch (claimed.kind) {
      case 'throttle':
        this.#counters.throttled++;
        this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + claimed.pauseMs);
        this.#logger.warn({ notice: claimed.notice, pauseMs: claimed.pauseMs, throttled: this.#counters.throttled }, `${service} throttled the account: publishing paused`);
        done();
        return;
      case 'notice':
        this.#logger.warn({ notice: claimed.notice, topic: msg.topic }, `${service} reported an error`);
        done();
        return;
      case 'local':
        this.#deliver(msg, { topic: claimed.topic, payload: msg.payload, qos: msg.qos, retain: false }, done);
        return;
    }
  }

  #deliver(msg: UpstreamMessage, local: BrokerMessage, done: () => void): void {
    const bad = validateTopicName(local.topic);
    if (bad !== undefined) {
      this.#counters.droppedInbound++;
      this.#logger.warn({ topic: msg.topic, local: local.topic, reason: bad }, 'message from upstream maps to an invalid local topic: dropped');
      done();
      return;
    }
    this.#broker.publish(local, BRIDGE_ORIGIN).then(
      () => {
        this.#counters.received++;
        done();
      },
      (err: unknown) => {
        // Acknowledged anyway: the broker core will refuse it every time, and holding the ack
        // would stop every message behind it.
        this.#counters.droppedInbound++;
        this.#logger.warn({ topic: local.topic, err }, 'the broker core refused a message from upstream: dropped');
        done();
      },
    );
  }
}
