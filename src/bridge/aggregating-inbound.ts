/**
 * Aggregating mode, upstream -> gateway: what the bridge subscribes upstream, and what it does
 * with a message that comes down.
 *
 * ```
 * upstream ─► profile notices ─► echo filter ─► rules.inbound ─► broker core (origin 'bridge': never sent up again)
 * ```
 */
import type { BrokerCore, BrokerMessage } from '../broker/types.js';
import type { Logger } from '../logger.js';
import { validateTopicName } from '../topics/topic-names.js';
import type { EchoFilter } from './echo.js';
import { batchSubscriptions, type ProfileInbound, type UpstreamProfile } from './profiles/index.js';
import type { TopicRules } from './rules.js';
import { BRIDGE_ORIGIN, type BridgeCounters } from './types.js';
import type { UpstreamConnection, Message } from './upstream.js';

export interface InboundPathDeps {
  broker: BrokerCore;
  rules: TopicRules;
  /** shared with the outbound side, which records what it sent */
  echo: EchoFilter;
  counters: BridgeCounters;
  profile: UpstreamProfile | undefined;
  logger: Logger;
  /** the service throttled the account: publishing pauses this long */
  throttled: (pauseMs: number) => void;
}

export class InboundPath {
  readonly #deps: InboundPathDeps;
  readonly #counters: BridgeCounters;
  readonly #logger: Logger;

  constructor(deps: InboundPathDeps) {
    this.#deps = deps;
    this.#counters = deps.counters;
    this.#logger = deps.logger;
  }

  /**
   * Subscribes the inbound rules' filters (and the profile's own) on a new connection, within the
   * profile's limits. `isCurrent` tells whether a failure still matters (the connection is in use).
   */
  subscribe(conn: UpstreamConnection, isCurrent: () => boolean): void {
    const p = this.#deps.profile;
    let subs = [...this.#deps.rules.remoteSubscriptions(), ...(p?.subscriptions ?? [])];
    if (subs.length === 0) return;
    if (p === undefined) {
      this.#subscribeBatch(conn, subs, isCurrent);
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
    for (const batch of batches) this.#subscribeBatch(conn, batch, isCurrent);
  }

  #subscribeBatch(conn: UpstreamConnection, subs: ReadonlyArray<{ filter: string; qos: 0 | 1 | 2 }>, isCurrent: () => boolean): void {
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
        if (isCurrent()) this.#logger.warn({ err }, 'upstream SUBSCRIBE failed');
      },
    );
  }

  /** A message from upstream; `done` acknowledges it upstream once the broker core has it (or never will). */
  fromUpstream(msg: Message, done: () => void): void {
    const claimed = this.#deps.profile?.inbound?.(msg.topic, msg.payload);
    if (claimed !== undefined) {
      this.#fromProfile(msg, claimed, done);
      return;
    }
    if (this.#deps.echo.take(msg.topic, msg.payload)) {
      this.#counters.echoes++;
      done();
      return;
    }
    const route = this.#deps.rules.inbound(msg.topic, msg.qos);
    if (route === undefined) {
      // A subscription left from an earlier configuration in a kept session (cleanSession false).
      this.#logger.debug({ topic: msg.topic }, 'message from upstream matches no inbound rule: ignored');
      done();
      return;
    }
    this.#deliver(msg, { topic: route.topic, payload: msg.payload, qos: route.qos, retain: msg.retain }, done);
  }

  /** A message the profile claimed: a service notice to act on, or one to deliver under the topic it chose. */
  #fromProfile(msg: Message, claimed: ProfileInbound, done: () => void): void {
    const service = this.#deps.profile?.service;
    switch (claimed.kind) {
      case 'throttle':
        this.#counters.throttled++;
        this.#deps.throttled(claimed.pauseMs);
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

  #deliver(msg: Message, local: BrokerMessage, done: () => void): void {
    const bad = validateTopicName(local.topic);
    if (bad !== undefined) {
      this.#counters.droppedInbound++;
      this.#logger.warn({ topic: msg.topic, local: local.topic, reason: bad }, 'message from upstream maps to an invalid local topic: dropped');
      done();
      return;
    }
    this.#deps.broker.publish(local, BRIDGE_ORIGIN).then(
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
