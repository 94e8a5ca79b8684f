/**
 * Aggregating mode, gateway -> upstream: the topic rules, the profile's shaping, the QoS 1/2
 * queue sent through a window of `maxInflight`, and the pacing to a profile's publish budget.
 *
 * ```
 * broker core ─► rules.outbound ─► QoS 0: straight up while connected (else dropped, counted)
 *                                  QoS 1/2: queue ─► window of maxInflight ─► ack ─► out of the queue
 * ```
 *
 * With a profile's publish budget, QoS 0 waits a moment for it too, and the budget is shared
 * turn about between the QoS 0 that waits and the QoS 1/2 queue: a QoS 1 backlog draining at the
 * service's pace does not starve QoS 0 that, alone, would be under the pace. QoS 0 that waited
 * longer than qos0MaxWaitMs (below) is dropped, counted as droppedRateLimited.
 *
 * The queue is the one record of what the upstream has not acknowledged. A message leaves it only
 * on PUBACK / PUBCOMP; when a connection drops, everything unacknowledged is sent again, in queue
 * order, on the next one. That is at-least-once across a reconnect for QoS 1 and 2 alike: MQTT
 * 3.1.1 with a clean session cannot carry QoS 2's exactly-once across a lost connection.
 *
 * The connection itself is the bridge's (aggregating.ts): it hands this side the connection once
 * established (`attach`) and takes it back when it goes (`lost`) or is renewed (`detach`).
 */
import type { BrokerMessage } from '../broker/types.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import type { OutboundQueue, QueuedMessage } from '../store/types.js';
import { validateTopicName } from '../topics/topic-names.js';
import type { EchoFilter } from './echo.js';
import { pacerFor, shapeOutbound, type Pacer, type UpstreamProfile } from './profiles/index.js';
import type { TopicRules } from './rules.js';
import { POISON_STRIKES, SUSPECT_WINDOW_MS } from './poison.js';
import { ThrottledWarn } from './throttled-warn.js';
import { BRIDGE_ORIGIN, type BridgeCounters } from './types.js';
import type { UpstreamConnection, Message } from './upstream.js';

export interface OutboundPathDeps {
  maxInflight: number;
  queue: OutboundQueue;
  rules: TopicRules;
  /** shared with the inbound side, which takes back what this side sent */
  echo: EchoFilter;
  /** shared with the bridge, which reports them */
  counters: BridgeCounters;
  profile: UpstreamProfile | undefined;
  clock: Clock;
  logger: Logger;
  /**
   * Nothing is in flight any more after an ack. Returns true when the bridge took the connection
   * away meanwhile (a renewal), so nothing more is sent on it.
   */
  idle: (conn: UpstreamConnection) => boolean;
  /** a publish failed: the connection cannot carry anything any more */
  failed: (conn: UpstreamConnection, err: Error) => void;
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


/** Queue-full drops and profile refusals are logged at most this often (each is counted). */
const DROP_LOG_INTERVAL_MS = 10_000;

export class OutboundPath {
  readonly #deps: OutboundPathDeps;
  readonly #queue: OutboundQueue;
  readonly #counters: BridgeCounters;
  readonly #clock: Clock;
  readonly #profile: UpstreamProfile | undefined;
  /** paces PUBLISH to the profile's rate; undefined without a profile */
  readonly #bucket: Pacer | undefined;
  readonly #refusals: ThrottledWarn;
  readonly #invalid: ThrottledWarn;
  /** the established connection to send on; undefined while there is none */
  #conn: UpstreamConnection | undefined;
  /** a renewal waits for the in-flight acknowledgements: nothing new from the queue meanwhile */
  #held = false;
  #singleLocalSubscription = true;
  /** a pump waiting for the bucket to refill */
  #pacer: TimerHandle | undefined;
  /** the service asked for a pause (a throttle notice): nothing is published before this (clock ms) */
  #pausedUntil = -Infinity;
  /** upstream topic -> seq of its newest queued message, for coalescing (profiles that coalesce) */
  readonly #newestByTopic = new Map<string, number>();
  /** QoS 0 waiting for the profile's budget, oldest first, with when each came */
  #qos0Waiting: Array<{ msg: Message; at: number }> = [];
  /** when both QoS 0 and the queue wait, whose turn the next send is */
  #qos0Turn = false;
  /** seqs sent on the current connection and not yet acknowledged, with when each went and what it was */
  readonly #inFlight = new Map<number, { at: number; msg: QueuedMessage }>();
  /**
   * After the upstream closed a connection right after a send, messages go one at a time until the
   * last one that was in flight then is acknowledged: the one a close follows alone is the poison.
   * The seq to reach; 0 while not probing.
   */
  #probeUntil = 0;
  /** the message the last connections closed right after, alone in flight, and how many times */
  #suspect: { seq: number; strikes: number } | undefined;
  /** the connection is being given up over a publish that failed on our side: that close says nothing about a message */
  #abandoning = false;
  /** the last seq handed to the current connection: reading on from here */
  #cursor = 0;
  /** the highest seq ever sent: anything at or below it that is sent again is a re-send */
  #highestSent = 0;
  #drops = { lastLogAt: -Infinity, unlogged: 0 };

  constructor(deps: OutboundPathDeps) {
    this.#deps = deps;
    this.#queue = deps.queue;
    this.#counters = deps.counters;
    this.#clock = deps.clock;
    this.#profile = deps.profile;
    this.#bucket = deps.profile === undefined ? undefined : pacerFor(deps.clock, deps.profile);
    this.#invalid = new ThrottledWarn(deps.clock, deps.logger, DROP_LOG_INTERVAL_MS, 'more messages not sent upstream: their topic is not a topic name (the last one here)');
    this.#refusals = new ThrottledWarn(deps.clock, deps.logger, DROP_LOG_INTERVAL_MS, `more messages not sent upstream: ${deps.profile?.service ?? 'the service'} would refuse them (the last one's topic and reason here)`);
  }

  /** The broker-core filters to subscribe, each to be fed to `fromLocal` with its filter. */
  localSubscriptions(): string[] {
    const filters = this.#deps.rules.localSubscriptions();
    this.#singleLocalSubscription = filters.length <= 1;
    return filters;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** true while a renewal waits for what is in flight */
  get held(): boolean {
    return this.#held;
  }

  /** An established connection: send the queue on it from its start. */
  attach(conn: UpstreamConnection): void {
    this.#conn = conn;
    this.#cursor = 0;
    this.#held = false;
    this.#flushDropLog();
    this.pump();
  }

  /**
   * Stop taking from the queue (a renewal waits for what is in flight). True when nothing is in
   * flight, so the connection can go now.
   */
  hold(): boolean {
    this.#held = true;
    return this.#inFlight.size === 0;
  }

  /** The connection is being renewed (nothing was in flight): QoS 0 waiting for the budget stays. */
  detach(): void {
    this.#conn = undefined;
    this.#cursor = 0;
    this.#held = false;
  }

  /** The connection went: what was in flight is sent again on the next one. Returns how much was. */
  lost(): number {
    if (!this.#abandoning) this.#judgeLoss();
    this.#abandoning = false;
    const unacked = this.#inFlight.size;
    this.#inFlight.clear();
    this.#dropWaitingQos0();
    this.detach();
    return unacked;
  }

  /**
   * Was the connection closed over a message? Right after a send with several in flight: probe,
   * one at a time. Right after a send with one alone in flight: a strike against it, and at
   * POISON_STRIKES it is set aside (out of the queue, counted, logged with its topic).
   */
  #judgeLoss(): void {
    const now = this.#clock.now();
    let latest = -Infinity;
    let highest = 0;
    for (const [seq, f] of this.#inFlight) {
      latest = Math.max(latest, f.at);
      highest = Math.max(highest, seq);
    }
    if (now - latest > SUSPECT_WINDOW_MS) return;
    if (this.#inFlight.size > 1) {
      this.#probeUntil = Math.max(this.#probeUntil, highest);
      return;
    }
    const [seq, { msg }] = this.#inFlight.entries().next().value as [number, { at: number; msg: QueuedMessage }];
    const strikes = this.#suspect?.seq === seq ? this.#suspect.strikes + 1 : 1;
    this.#probeUntil = Math.max(this.#probeUntil, seq);
    if (strikes < POISON_STRIKES) {
      this.#suspect = { seq, strikes };
      return;
    }
    this.#suspect = undefined;
    this.#inFlight.delete(seq);
    if (!this.#queue.ack(seq)) return;
    this.#counters.setAside++;
    this.#deps.logger.warn(
      { topic: msg.topic, bytes: msg.payload.length, qos: msg.qos, closes: strikes, setAsideTotal: this.#counters.setAside },
      'message set aside: the upstream closed the connection right after it, every time it was sent alone; dropped from the queue so that what is behind it goes',
    );
  }

  /** The bridge stops: no more sends, and the held-back log lines are written. */
  close(): void {
    this.#pacer?.cancel();
    this.#pacer = undefined;
    this.#refusals.flush();
    this.#invalid.flush();
    this.#conn = undefined;
    this.#dropWaitingQos0();
  }

  /** The service throttled the account: nothing from the budget is sent for `ms`. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#clock.now() + ms);
  }

  fromLocal(filter: string, msg: BrokerMessage, origin: string | undefined): void {
    // It came down from upstream: sending it back up would be a loop.
    if (origin === BRIDGE_ORIGIN) return;
    const rules = this.#deps.rules;
    const route = rules.outbound(msg.topic, msg.qos);
    if (route === undefined) return;
    if (!this.#singleLocalSubscription && !rules.carries(filter, route)) return;
    let out: Message = { topic: route.topic, payload: msg.payload, qos: route.qos, retain: msg.retain };
    const p = this.#profile;
    if (p !== undefined) {
      const shaped = this.#shape(p, out);
      if (shaped === undefined) return;
      out = shaped;
    }
    // Checked again here, whatever let it into the broker core: one PUBLISH with a wildcard
    // topic gets the whole connection closed (MQTT 3.1.1 §4.7.1), and queued it would come back
    // at every reconnect.
    const invalid = validateTopicName(out.topic);
    if (invalid !== undefined) {
      this.#noteInvalid(out, invalid);
      return;
    }
    if (out.qos === 0) {
      this.#sendQos0(out);
      return;
    }
    if (p?.coalescePerTopic === true) this.#coalesce(out.topic);
    const pushed = this.#queue.push(out);
    if (pushed.dropped > 0) this.#noteDropped(pushed.dropped);
    if (p?.coalescePerTopic === true && pushed.queued !== undefined) this.#newestByTopic.set(out.topic, pushed.queued.seq);
    this.pump();
  }

  /** The message as the service takes it (see `shapeOutbound`), or undefined when it would refuse it. */
  #shape(p: UpstreamProfile, msg: Message): Message | undefined {
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

  #sendQos0(msg: Message): void {
    const conn = this.#conn;
    if (conn === undefined) {
      this.#counters.droppedOffline++;
      return;
    }
    if (conn.writeBacklog > QOS0_BACKLOG_LIMIT) {
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
      this.pump();
      return;
    }
    this.#publishQos0(conn, msg);
  }

  #publishQos0(conn: UpstreamConnection, msg: Message): void {
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
  pump(): void {
    const conn = this.#conn;
    if (conn === undefined) return;
    if (this.#held) return;
    if (this.#bucket !== undefined && this.#profile !== undefined) {
      this.#pumpPaced(conn, this.#bucket, this.#profile);
      return;
    }
    for (;;) {
      const room = this.#window() - this.#inFlight.size;
      if (room <= 0) return;
      const batch = this.#queue.peek(room, this.#cursor);
      if (batch.length === 0) return;
      for (const m of batch) this.#send(conn, m);
      // A send may have failed synchronously and dropped the connection.
      if (this.#conn !== conn) return;
    }
  }

  /**
   * Spends the profile's budget one send at a time, turn about between waiting QoS 0 and the
   * queue when both wait, all of it to either when the other has nothing.
   */
  #pumpPaced(conn: UpstreamConnection, bucket: Pacer, p: UpstreamProfile): void {
    for (;;) {
      this.#expireQos0(p);
      const queued = this.#inFlight.size < this.#window() ? this.#queue.peek(1, this.#cursor)[0] : undefined;
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
      if (this.#conn !== conn) return;
    }
  }

  /** maxInflight, or one at a time while probing for a poison message */
  #window(): number {
    return this.#probeUntil === 0 ? this.#deps.maxInflight : 1;
  }

  #schedulePump(ms: number): void {
    if (this.#pacer !== undefined) return;
    this.#pacer = this.#clock.setTimeout(() => {
      this.#pacer = undefined;
      this.pump();
    }, ms);
  }

  #send(conn: UpstreamConnection, m: QueuedMessage): void {
    this.#cursor = m.seq;
    this.#inFlight.set(m.seq, { at: this.#clock.now(), msg: m });
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
    // A late ack of an older connection (one MQTT.js fails after the close, say) counts for nothing.
    if (this.#conn !== conn) return;
    if (!this.#inFlight.delete(seq)) return;
    if (err) {
      // MQTT.js fails a publish only when the connection cannot carry it any more.
      this.#abandoning = true;
      this.#deps.failed(conn, err);
      return;
    }
    if (this.#queue.ack(seq)) this.#counters.acked++;
    if (this.#suspect?.seq === seq) this.#suspect = undefined;
    // Everything that was in flight at the suspicious close is through: full window again.
    if (this.#probeUntil !== 0 && seq >= this.#probeUntil) this.#probeUntil = 0;
    if (this.#inFlight.size === 0 && this.#deps.idle(conn)) return;
    this.pump();
  }

  #noteEcho(m: Message): void {
    const rules = this.#deps.rules;
    if (rules.hasInbound && rules.subscribedUpstream(m.topic)) this.#deps.echo.sent(m.topic, m.payload);
  }

  /**
   * Counted each time, logged at most every DROP_LOG_INTERVAL_MS (a device stuck on a bad topic
   * must not flood the log), and a burst's held-back tail is logged when the window ends.
   */
  #noteRefused(p: UpstreamProfile, m: Message, reason: string): void {
    this.#counters.refusedByProfile++;
    this.#refusals.warn(
      { profile: p.name, topic: m.topic, bytes: m.payload.length, reason, refusedTotal: this.#counters.refusedByProfile },
      `message not sent upstream: ${p.service} would refuse it (${reason}); not truncated, dropped`,
    );
  }

  #noteInvalid(m: Message, reason: string): void {
    this.#counters.refusedInvalidTopic++;
    this.#invalid.warn({ topic: JSON.stringify(m.topic), reason, refusedTotal: this.#counters.refusedInvalidTopic }, `message not sent upstream: its topic is not a topic name (${reason})`);
  }

  #noteDropped(n: number): void {
    this.#counters.droppedQueueFull += n;
    this.#drops.unlogged += n;
    const now = this.#clock.now();
    if (now - this.#drops.lastLogAt >= DROP_LOG_INTERVAL_MS) this.#flushDropLog(now);
  }

  #flushDropLog(now = this.#clock.now()): void {
    if (this.#drops.unlogged === 0) return;
    this.#deps.logger.warn(
      {
        dropped: this.#drops.unlogged,
        droppedTotal: this.#counters.droppedQueueFull,
        maxMessages: this.#queue.limits.maxMessages,
        maxBytes: this.#queue.limits.maxBytes,
        connected: this.#conn !== undefined,
      },
      'upstream queue full: oldest messages dropped',
    );
    this.#drops = { lastLogAt: now, unlogged: 0 };
  }
}
