/**
 * The HTTP endpoint in process, over real HTTP on 127.0.0.1: routes, status codes, readiness
 * rules (transports, upstream, stopping), the upstream provider's metrics, and that metrics are
 * read on scrape rather than counted per message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { parseConfig } from '../../src/config/index.js';
import { createGateway, type RunningGateway } from '../../src/index.js';
import { createStats } from '../../src/gateway/stats.js';
import { checkHealth } from '../../src/observability/health.js';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/http-server.js';
import { createMetricsRegistry } from '../../src/observability/metrics.js';
import { bridgeStatusProvider, upstreamProblem, type UpstreamStatus } from '../../src/observability/upstream.js';
import type { Transport, TransportState } from '../../src/transport/types.js';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { getJson, parseMetrics, scrape, valueOf } from './helpers.js';

describe('observability: HTTP endpoint (in process)', () => {
  let running: RunningGateway;
  let http: ObservabilityServer;
  let client: SnClient;
  let udpPort: number;

  before(async () => {
    udpPort = await freeUdpPort();
    const config = parseConfig({
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      timers: { advertiseIntervalSec: 0 },
      http: { enabled: true, host: '127.0.0.1', port: 0 },
    });
    running = await createGateway(config);
    assert.ok(running.http !== undefined, 'http.enabled starts the server');
    http = running.http;
    client = await SnClient.open(udpPort);
    await client.connect('http-a');
    client.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'h/+' });
    await client.next('SUBACK');
  });

  after(async () => {
    await client?.close();
    await running?.close();
  });

  it('is off unless enabled', async () => {
    const off = await createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] } }));
    try {
      assert.equal(off.http, undefined);
    } finally {
      await off.close();
    }
  });

  it('binds the loopback by default', () => {
    assert.equal(parseConfig({ transports: [{ type: 'udp', port: 0 }], http: { enabled: true } }).http.host, '127.0.0.1');
    assert.equal(http.host, '127.0.0.1');
  });

  it('answers 404 for an unknown path and 405 for anything but GET', async () => {
    assert.equal((await getJson(http.port, '/nope')).status, 404);
    const res = await fetch(`http://127.0.0.1:${http.port}/metrics`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await res.arrayBuffer();
    // `/` is the dashboard now; the list of endpoints moved to /api.
    const index = await getJson(http.port, '/api');
    assert.deepEqual((index.body as { endpoints: string[] }).endpoints, [
      '/',
      '/metrics',
      '/healthz',
      '/api/sessions',
      '/api/sessions/<client id>',
      '/api/overview',
      '/api/stream',
      'POST /api/sessions/<client id>/disconnect',
    ]);
  });

  it('filters sessions by state, limits them, and finds one by client id', async () => {
    const all = await getJson(http.port, '/api/sessions?state=active');
    assert.deepEqual((all.body as { sessions: Array<{ clientId: string }> }).sessions.map((s) => s.clientId), ['http-a']);
    const none = await getJson(http.port, '/api/sessions?state=asleep');
    assert.equal((none.body as { count: number }).count, 0);
    const limited = await getJson(http.port, '/api/sessions?limit=0');
    assert.equal((limited.body as { count: number; total: number }).count, 0);
    assert.equal((limited.body as { total: number }).total, 1);
    assert.equal((await getJson(http.port, '/api/sessions?limit=-2')).status, 400);
    assert.equal((await getJson(http.port, '/api/sessions/nobody')).status, 404);
    const one = await getJson(http.port, '/api/sessions/http-a');
    const s = one.body as { subscriptions: unknown; will: unknown; inFlight: unknown; queued: number };
    assert.deepEqual(s.subscriptions, [{ filter: 'h/+', qos: 1, kind: 'wildcard' }]);
    assert.equal(s.will, null);
    assert.equal(s.inFlight, null);
    assert.equal(s.queued, 0);
  });

  it('reads counters on scrape: traffic between two scrapes shows up in the second', async () => {
    const a = await scrape(http.port);
    const pingsBefore = valueOf(a.samples, 'mqttsn_packets_received_total', { type: 'PINGREQ' }) ?? 0;
    for (let i = 0; i < 3; i++) {
      client.send({ type: 'PINGREQ' });
      await client.next('PINGRESP');
    }
    const b = await scrape(http.port);
    assert.equal(valueOf(b.samples, 'mqttsn_packets_received_total', { type: 'PINGREQ' }), pingsBefore + 3);
    // The scrape walked the sessions once more: the gauge follows the gateway, not a copy.
    assert.equal(valueOf(b.samples, 'mqttsn_sessions', { state: 'active' }), 1);
  });

  it('says 503 "stopping" once a stop began, and still serves metrics', async () => {
    const server = await startObservabilityServer({ host: '127.0.0.1', port: 0 }, { gateway: running.gateway, transports: running.transports });
    try {
      assert.equal((await getJson(server.port, '/healthz')).status, 200);
      server.markStopping();
      const h = await getJson(server.port, '/healthz');
      assert.equal(h.status, 503);
      assert.deepEqual((h.body as { status: string; reasons: string[] }).reasons, ['the gateway is shutting down']);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('closes promptly even with a keep-alive connection open', async () => {
    const server = await startObservabilityServer({ host: '127.0.0.1', port: 0 }, { gateway: running.gateway, transports: running.transports });
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/healthz', agent: new Agent({ keepAlive: true }) }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    const t0 = Date.now();
    await server.close();
    // Not a speed check: left open, the idle connection would hold the close for Node's
    // keep-alive timeout (5 s) or longer.
    assert.ok(Date.now() - t0 < 5000, 'the idle keep-alive connection was closed, not waited for');
  });

  it('fails to start with a coded error naming the address when the port is taken', async () => {
    await assert.rejects(startObservabilityServer({ host: '127.0.0.1', port: http.port }, { gateway: running.gateway, transports: running.transports }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MQTTSN_ERR_HTTP_LISTEN_FAILED');
      assert.ok(err.message.startsWith(`HTTP server cannot listen on 127.0.0.1:${http.port}: `), err.message);
      return true;
    });
  });
});

describe('observability: readiness rules', () => {
  const transport = (name: string, state: TransportState): Transport => ({ name, state }) as unknown as Transport;
  const up = (s: Partial<UpstreamStatus>): (() => UpstreamStatus) => () => ({ connected: true, queueDepth: 0, ...s });

  it('is ready with every transport open and no upstream', () => {
    const r = checkHealth({ transports: [transport('udp:a', 'open')], stopping: () => false });
    assert.deepEqual(r, { ready: true, status: 'ready', reasons: [], transports: [{ name: 'udp:a', state: 'open' }] });
  });

  it('is not ready while a transport is not open, naming it', () => {
    const r = checkHealth({ transports: [transport('udp:a', 'open'), transport('serial:/dev/ttyUSB0', 'reopening')], stopping: () => false });
    assert.equal(r.ready, false);
    assert.deepEqual(r.reasons, ['transport serial:/dev/ttyUSB0 is reopening']);
  });

  it('is ready with the upstream down while its queue has room, not when it is full', () => {
    const t = [transport('udp:a', 'open')];
    assert.equal(checkHealth({ transports: t, upstream: up({ connected: false, queueDepth: 10, queueLimit: 100 }), stopping: () => false }).ready, true);
    assert.equal(checkHealth({ transports: t, upstream: up({ connected: false, queueDepth: 5 }), stopping: () => false }).ready, true, 'an unbounded queue never fills');
    const full = checkHealth({ transports: t, upstream: up({ connected: false, queueDepth: 100, queueLimit: 100 }), stopping: () => false });
    assert.equal(full.ready, false);
    assert.deepEqual(full.reasons, ['upstream disconnected and its queue is full (100 of 100 messages)']);
    assert.deepEqual(full.upstream, { connected: false, queueDepth: 100, queueLimit: 100 });
    const bytesFull = checkHealth({ transports: t, upstream: up({ connected: false, queueDepth: 1, queueLimit: 100, queueBytes: 2048, queueBytesLimit: 2048 }), stopping: () => false });
    assert.deepEqual(bytesFull.reasons, ['upstream disconnected and its queue is full (2048 of 2048 bytes)']);
  });
});

describe('observability: upstream metrics from a provider', () => {
  /** A gateway with no sessions and nothing counted: only the upstream figures matter here. */
  const gateway = { stats: createStats(), sessions: new Map(), clock: { now: () => 0, setTimeout: () => ({ cancel: () => undefined }) } };

  it('shows what the provider reports, and only the figures it has', async () => {
    let status: UpstreamStatus = { connected: true, queueDepth: 3, queueLimit: 1000, sent: 42 };
    const registry = createMetricsRegistry({ gateway, transports: [], upstream: () => status });
    let { samples } = parseMetrics(await registry.metrics());
    assert.equal(valueOf(samples, 'mqttsn_upstream_connected'), 1);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_depth'), 3);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_limit'), 1000);
    assert.equal(valueOf(samples, 'mqttsn_upstream_messages_sent_total'), 42);
    assert.equal(valueOf(samples, 'mqttsn_upstream_connections'), undefined, 'not reported: no metric');
    status = { connected: false, queueDepth: 7, queueLimit: 1000, sent: 50 };
    ({ samples } = parseMetrics(await registry.metrics()));
    assert.equal(valueOf(samples, 'mqttsn_upstream_connected'), 0);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_depth'), 7);
    assert.equal(valueOf(samples, 'mqttsn_upstream_messages_sent_total'), 50);
  });

  it('reads a bridge status: queue, limits and counters', () => {
    const provider = bridgeStatusProvider({
      status: () => ({
        connected: false,
        queue: { messages: 4, bytes: 400, maxMessages: 10, maxBytes: 4096 },
        counters: { sent: 9, received: 3, droppedQueueFull: 1, droppedOffline: 2, droppedCongested: 0, droppedInbound: 1 },
      }),
    });
    assert.deepEqual(provider(), { connected: false, queueDepth: 4, queueLimit: 10, queueBytes: 400, queueBytesLimit: 4096, sent: 9, received: 3, dropped: 4 });
  });

  it('reads a transparent bridge: its device connections, no queue, and not ready while the upstream is away', async () => {
    const counters = { sent: 5, received: 1, droppedQueueFull: 0, droppedOffline: 2, droppedCongested: 0, droppedInbound: 0 };
    let connected = true;
    const provider = bridgeStatusProvider({
      status: () => ({ connected, queue: { messages: 0, bytes: 0, maxMessages: 0, maxBytes: 0 }, clients: { total: 4, connected: connected ? 3 : 0 }, counters }),
    });
    assert.deepEqual(provider(), { connected: true, queueDepth: 0, connections: 3, sent: 5, received: 1, dropped: 2 });
    const registry = createMetricsRegistry({ gateway, transports: [], upstream: provider });
    const { samples } = parseMetrics(await registry.metrics());
    assert.equal(valueOf(samples, 'mqttsn_upstream_connections'), 3);
    assert.equal(valueOf(samples, 'mqttsn_upstream_queue_limit'), undefined, 'no queue, no limit');
    assert.equal(upstreamProblem(provider()), undefined);
    connected = false;
    assert.match(upstreamProblem(provider()) ?? '', /transparent mode/);
  });

  it("labels a profile's counters by the profile, and shows none without a profile", async () => {
    const counters = { sent: 9, received: 3, droppedQueueFull: 0, droppedOffline: 0, droppedCongested: 0, droppedInbound: 0, refusedByProfile: 2, qosDowngraded: 5, droppedRateLimited: 1, coalesced: 4, retainDropped: 3, throttled: 1 };
    const queue = { messages: 0, bytes: 0, maxMessages: 10, maxBytes: 4096 };
    const withProfile = createMetricsRegistry({ gateway, transports: [], upstream: bridgeStatusProvider({ status: () => ({ connected: true, profile: 'adafruit-io', queue, counters }) }) });
    const { samples } = parseMetrics(await withProfile.metrics());
    const at = (name: string) => valueOf(samples, `mqttsn_upstream_${name}_total`, { profile: 'adafruit-io' });
    assert.deepEqual(
      ['refused_by_profile', 'qos_downgraded', 'dropped_rate_limited', 'coalesced', 'retain_dropped', 'throttled', 'token_renewals'].map(at),
      [2, 5, 1, 4, 3, 1, 0],
    );
    const plain = createMetricsRegistry({ gateway, transports: [], upstream: bridgeStatusProvider({ status: () => ({ connected: true, queue, counters }) }) });
    assert.doesNotMatch(await plain.metrics(), /qos_downgraded/);
  });
});
