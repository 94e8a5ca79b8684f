/**
 * Prometheus metrics, every one named `mqttsn_...`. Nothing here runs per message: each metric
 * is read on scrape from the counters the gateway and transports keep anyway
 * (`gateway.stats`, `transport.stats()`), so the hot path pays nothing for being observed.
 */
import type { SnVersion } from '../codec/index.js';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ListenerAuthStats } from '../broker/listener-auth.js';
import type { GatewayCore } from '../gateway/core.js';
import type { SessionState } from '../gateway/session.js';
import type { Transport } from '../transport/types.js';
import type { ProfileCounters, UpstreamStatusProvider } from './upstream.js';

export const METRIC_PREFIX = 'mqttsn_';

/** The part of the gateway the metrics read. */
export type GatewayView = Pick<GatewayCore, 'stats' | 'sessions' | 'clock'>;

export interface MetricsSources {
  gateway: GatewayView;
  transports: readonly Transport[];
  upstream?: UpstreamStatusProvider | undefined;
  /** reported as mqttsn_build_info{version} */
  version?: string | undefined;
  /** the local MQTT listener's password and ACL checks, when `broker.auth` is set */
  listener?: (() => ListenerAuthStats) | undefined;
}

const SN_VERSIONS: readonly SnVersion[] = ['1.2', '2.0'];

export const SESSION_STATES: readonly SessionState[] = ['await-willtopic', 'await-willmsg', 'active', 'asleep', 'awake', 'disconnected', 'lost'];

/** One pass over the sessions, shared by the gauges of one scrape. */
interface SessionTotals {
  byState: Record<SessionState, number>;
  /** by the MQTT-SN version of the CONNECT that made each session */
  byVersion: Record<SnVersion, number>;
  /** kept for clients that cannot take them now (asleep, away with a kept session) */
  buffered: number;
  /** waiting behind the one in flight, for clients that are reachable */
  queued: number;
  /** payload and topic bytes of every queue, the figure `limits.maxBufferedBytesTotal` caps */
  queuedBytes: number;
  inFlight: number;
  subscriptions: number;
  registrations: number;
}

function totals(gateway: GatewayView): SessionTotals {
  const byState = Object.fromEntries(SESSION_STATES.map((s) => [s, 0])) as Record<SessionState, number>;
  const t: SessionTotals = { byState, byVersion: { '1.2': 0, '2.0': 0 }, buffered: 0, queued: 0, queuedBytes: 0, inFlight: 0, subscriptions: 0, registrations: 0 };
  for (const s of gateway.sessions.values()) {
    byState[s.state]++;
    t.byVersion[s.version]++;
    if (s.reachable) t.queued += s.queue.length;
    else t.buffered += s.queue.length;
    t.queuedBytes += s.queue.bytes;
    if (s.inFlight !== undefined) t.inFlight++;
    t.subscriptions += s.subscriptions.size;
    t.registrations += s.registry.size;
  }
  return t;
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

/** What a read metric reports on a scrape: label sets and their values. */
type Read<L extends string> = () => Iterable<readonly [Labels<L>, number]>;

function described<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
  return { name: METRIC_PREFIX + name, help, labelNames, registers: [registry] };
}

type ReadArgs<L extends string> = [registry: Registry, name: string, help: string, labelNames: readonly L[], read: Read<L>];

/**
 * A metric read from its source on every scrape, which replaces what it shows: a gauge's value,
 * or a counter's running total, which the source keeps (never smaller: the sources only count up).
 */
function readMetric<L extends string>(kind: 'counter' | 'gauge', ...[registry, name, help, labelNames, read]: ReadArgs<L>): void {
  const config = {
    ...described(registry, name, help, labelNames),
    collect(this: Counter<L> | Gauge<L>): void {
      this.reset();
      for (const [labels, value] of read()) {
        if (this instanceof Counter) this.inc(labels, value);
        else this.set(labels, value);
      }
    },
  };
  if (kind === 'counter') new Counter<L>(config);
  else new Gauge<L>(config);
}

const readCounter = <L extends string>(...args: ReadArgs<L>): void => readMetric('counter', ...args);
const readGauge = <L extends string>(...args: ReadArgs<L>): void => readMetric('gauge', ...args);

function* entries<K extends string>(record: Partial<Record<K, number>>, label: string): Generator<readonly [Record<string, string>, number]> {
  for (const [key, value] of Object.entries(record) as Array<[K, number | undefined]>) {
    if (value !== undefined) yield [{ [label]: key }, value];
  }
}

function* perTransport(transports: readonly Transport[], pick: (s: ReturnType<Transport['stats']>) => number): Generator<readonly [{ transport: string }, number]> {
  for (const t of transports) yield [{ transport: t.name }, pick(t.stats())];
}

/**
 * A registry with every gateway metric, plus Node's process metrics (CPU, memory, event-loop
 * lag as `mqttsn_nodejs_eventloop_lag_seconds`) under the same prefix. One registry per
 * gateway, never prom-client's global one, so several gateways in one process (tests) do not
 * collide.
 */
export function createMetricsRegistry(sources: MetricsSources): Registry {
  const { gateway, transports, upstream } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  // The session gauges all come from one walk over the sessions. The walk is kept until the
  // end of the current turn: prom-client calls every collect of a scrape in one synchronous
  // loop, so one scrape walks once, and the next scrape walks again.
  let cached: SessionTotals | undefined;
  const sessions = (): SessionTotals => {
    if (cached === undefined) {
      cached = totals(gateway);
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };

  if (sources.version !== undefined) {
    const version = sources.version;
    readGauge(registry, 'build_info', 'The gateway version, as a label; the value is always 1.', ['version'], () => [[{ version }, 1]]);
  }

  readGauge(registry, 'sessions', 'MQTT-SN sessions by state.', ['state'], () =>
    SESSION_STATES.map((state) => [{ state }, sessions().byState[state]] as const),
  );
  readGauge(registry, 'sessions_by_version', 'MQTT-SN sessions by the protocol version of the CONNECT that made them (1.2 or 2.0).', ['version'], () =>
    SN_VERSIONS.map((version) => [{ version }, sessions().byVersion[version]] as const),
  );
  readGauge(registry, 'buffered_messages', 'Messages kept for clients that are asleep or away (the sleep buffers).', [], () => [[{}, sessions().buffered]]);
  readGauge(registry, 'queued_messages', 'Messages waiting behind the one in flight for awake and active clients.', [], () => [[{}, sessions().queued]]);
  readGauge(registry, 'queued_bytes', 'Payload and topic bytes waiting in the queues of all clients (capped by limits.maxBufferedBytesTotal for sleepers).', [], () => [
    [{}, sessions().queuedBytes],
  ]);
  readGauge(registry, 'inflight_messages', 'Requests (PUBLISH QoS 1/2, REGISTER) the gateway awaits an answer to.', [], () => [[{}, sessions().inFlight]]);
  readGauge(registry, 'subscriptions', 'Subscriptions of every session.', [], () => [[{}, sessions().subscriptions]]);
  readGauge(registry, 'registered_topics', 'Normal topic ids of every session.', [], () => [[{}, sessions().registrations]]);

  readCounter(registry, 'packets_received_total', 'MQTT-SN messages received from clients, by type.', ['type'], () => entries(gateway.stats.packetsIn, 'type'));
  readCounter(registry, 'packets_sent_total', 'MQTT-SN messages sent to clients, by type.', ['type'], () => entries(gateway.stats.packetsOut, 'type'));
  readCounter(registry, 'publish_received_total', 'PUBLISH received from clients, by QoS (-1, 0, 1, 2).', ['qos'], () => entries(gateway.stats.publishIn, 'qos'));
  readCounter(registry, 'publish_sent_total', 'PUBLISH sent to clients, by QoS.', ['qos'], () => entries(gateway.stats.publishOut, 'qos'));
  readCounter(registry, 'dropped_total', 'Messages the gateway dropped, by reason.', ['reason'], () => entries(gateway.stats.dropped, 'reason'));
  readCounter(registry, 'decode_errors_total', 'Frames that did not decode as MQTT-SN, by error code.', ['code'], () => entries(gateway.stats.decodeErrors, 'code'));
  readCounter(registry, 'client_refusals_total', 'REGISTER and PUBLISH of the gateway that clients refused, by answer (REGACK, PUBACK) and return code.', ['message', 'return_code'], function* () {
    for (const [message, byCode] of Object.entries(gateway.stats.clientRefusals)) {
      for (const [code, n] of Object.entries(byCode)) if (n !== undefined) yield [{ message, return_code: code }, n] as const;
    }
  });
  readCounter(registry, 'retransmissions_total', 'PUBLISH, PUBREL and REGISTER sent again after T_RETRY.', [], () => [[{}, gateway.stats.retransmissions]]);
  readCounter(registry, 'wills_published_total', 'Wills published for clients that were lost.', [], () => [[{}, gateway.stats.willsPublished]]);
  readCounter(registry, 'sessions_ended_total', 'Absent kept sessions ended: expired (limits.sessionExpirySec) or evicted at limits.maxSessions.', ['how'], () =>
    entries(gateway.stats.sessionsEnded, 'how'),
  );
  readCounter(registry, 'auth_revoked_total', 'Sessions, subscriptions and wills removed because auth no longer allows them (reload, restore).', ['kind'], () =>
    entries(gateway.stats.revoked, 'kind'),
  );

  readGauge(registry, 'transport_up', 'Whether a transport is open (1) or not (0: opening, reopening, closed).', ['transport'], () =>
    transports.map((t) => [{ transport: t.name }, t.state === 'open' ? 1 : 0] as const),
  );
  readCounter(registry, 'transport_frames_received_total', 'Frames received, per transport.', ['transport'], () => perTransport(transports, (s) => s.framesIn));
  readCounter(registry, 'transport_frames_sent_total', 'Frames sent, per transport.', ['transport'], () => perTransport(transports, (s) => s.framesOut));
  readCounter(registry, 'transport_bytes_received_total', 'Bytes of frames received, per transport.', ['transport'], () => perTransport(transports, (s) => s.bytesIn));
  readCounter(registry, 'transport_bytes_sent_total', 'Bytes of frames sent, per transport.', ['transport'], () => perTransport(transports, (s) => s.bytesOut));
  readCounter(registry, 'transport_dropped_total', 'Received bytes or frames a transport threw away, by reason.', ['transport', 'reason'], function* () {
    for (const t of transports) {
      for (const [reason, n] of Object.entries(t.stats().dropped)) yield [{ transport: t.name, reason }, n] as const;
    }
  });
  readCounter(registry, 'transport_send_errors_total', 'Sends a transport refused or failed, per transport.', ['transport'], () => perTransport(transports, (s) => s.sendErrors));
  readCounter(registry, 'transport_shed_total', 'Frames not written because the line\'s write buffer was full (the device reads slower than the gateway sends), per transport.', ['transport'], () => perTransport(transports, (s) => s.shed));
  readCounter(registry, 'transport_delivery_failures_total', 'Link-layer delivery failures (XBee), per transport.', ['transport'], () =>
    perTransport(transports, (s) => s.deliveryFailures),
  );
  readCounter(registry, 'transport_disconnects_total', 'Times an open medium was lost (serial unplugged), per transport.', ['transport'], () =>
    perTransport(transports, (s) => s.disconnects),
  );

  const listener = sources.listener;
  if (listener !== undefined) {
    readCounter(registry, 'listener_connect_refused_total', 'CONNECTs the local MQTT listener refused, by reason (noCredentials, badCredentials, busy).', ['reason'], () =>
      entries(listener().refused, 'reason'),
    );
    readCounter(registry, 'listener_acl_denied_total', 'Local MQTT listener publishes dropped and subscriptions refused by broker.auth.acl.', ['action'], () =>
      entries(listener().denied, 'action'),
    );
  }

  if (upstream !== undefined) {
    readGauge(registry, 'upstream_connected', 'Whether the upstream broker is reachable (1) or not (0).', [], () => [[{}, upstream().connected ? 1 : 0]]);
    readGauge(registry, 'upstream_queue_depth', 'Messages waiting for the upstream broker.', [], () => [[{}, upstream().queueDepth]]);
    // The optional figures are there or not by the bridge's design, not from one scrape to the
    // next: what the first reading has is what gets a metric (a metric with no labels always
    // shows a value, and 0 would be a lie for "unbounded").
    const first = upstream();
    const optional = (key: 'queueLimit' | 'queueBytes' | 'queueBytesLimit' | 'connections', name: string, help: string): void => {
      if (first[key] !== undefined) readGauge(registry, name, help, [], () => [[{}, upstream()[key] ?? 0]]);
    };
    const optionalCounter = (key: 'sent' | 'received' | 'dropped' | 'invalidTopic' | 'setAside', name: string, help: string): void => {
      if (first[key] !== undefined) readCounter(registry, name, help, [], () => [[{}, upstream()[key] ?? 0]]);
    };
    optional('queueLimit', 'upstream_queue_limit', 'The most messages the upstream queue keeps.');
    optional('queueBytes', 'upstream_queue_bytes', 'Bytes (topics and payloads) waiting for the upstream broker.');
    optional('queueBytesLimit', 'upstream_queue_bytes_limit', 'The most bytes the upstream queue keeps.');
    optional('connections', 'upstream_connections', 'Upstream connections open (transparent mode: one per device).');
    optionalCounter('sent', 'upstream_messages_sent_total', 'Messages the bridge sent to the upstream broker.');
    optionalCounter('received', 'upstream_messages_received_total', 'Messages the bridge took from the upstream broker.');
    optionalCounter('dropped', 'upstream_dropped_total', 'Messages the bridge dropped.');
    optionalCounter('invalidTopic', 'upstream_invalid_topic_total', 'Messages not sent upstream because their topic is no MQTT topic name (a wildcard, U+0000): the upstream would close the connection over one.');
    optionalCounter('setAside', 'upstream_set_aside_total', 'Messages taken out of the upstream queue because the upstream closed the connection right after each, time after time (see the log for the topic).');
    // A profile is configured or not for the life of the bridge, like the figures above.
    if (first.profile !== undefined) {
      for (const [key, name, help] of PROFILE_METRICS) {
        readCounter(registry, name, help, ['profile'], () => {
          const p = upstream().profile;
          return p === undefined ? [] : [[{ profile: p.name }, p[key]]];
        });
      }
    }
  }
  return registry;
}

/** The counters of an upstream profile, each a metric labelled by the profile's name. */
const PROFILE_METRICS: ReadonlyArray<readonly [Exclude<keyof ProfileCounters, 'name'>, string, string]> = [
  ['refused', 'upstream_refused_by_profile_total', 'Messages not sent upstream because the service of the upstream profile would refuse them (too large, bad topic).'],
  ['qosDowngraded', 'upstream_qos_downgraded_total', "Messages sent upstream at a lower QoS than they came with: the service's QoS ceiling."],
  ['droppedRateLimited', 'upstream_dropped_rate_limited_total', "QoS 0 messages shed because the service's publish rate or budget had no room for them within a short wait (QoS 0 takes turns with the QoS 1/2 queue; QoS 1 and 2 wait instead)."],
  ['coalesced', 'upstream_coalesced_total', 'Messages waiting for the publish budget that a newer message of the same upstream topic replaced (adafruit-io: newest value per feed).'],
  ['retainDropped', 'upstream_retain_dropped_total', 'Messages sent without their retain flag: the service keeps no retained messages.'],
  ['throttled', 'upstream_throttled_total', 'Throttle notices from the service; publishing paused for the time each asked.'],
  ['tokenRenewals', 'upstream_token_renewals_total', 'Upstream connections renewed before their token (an Azure SAS token) expired.'],
];
