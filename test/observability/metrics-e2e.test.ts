/**
 * The gateway as an operator runs it (the CLI, `http.enabled`), real MQTT-SN traffic over UDP,
 * then a scrape: every counter equals the traffic sent, /healthz is ready, /api/sessions shows
 * the client, and the log has one line per session event, none per message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, DecodeError } from '../../src/codec/index.js';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { GatewayChild, tempDir, writeConfig } from '../cli/cli-process.js';
import { getJson, scrape, valueOf, type Sample } from './helpers.js';

const GARBAGE = ['0303', '05ff000000', '020c', '01'].map((h) => Buffer.from(h, 'hex'));
const QOS0 = 10;
const QOS1 = 7;
const QOS2 = 3;

describe('observability: metrics after real traffic', () => {
  let gw: GatewayChild;
  let cleanup: () => Promise<void>;
  let httpPort: number;
  let udpPort: number;
  let client: SnClient;
  let anonymous: SnClient;
  let samples: Sample[];
  let types: Map<string, string>;
  let text: string;
  let runningAt: number;
  /** what the client received from the gateway, counted by hand */
  let framesToClient = 0;

  before(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    httpPort = await freeTcpPort();
    udpPort = await freeUdpPort();
    const file = await writeConfig(t.dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      predefinedTopics: { '9': 'm/beacon' },
      timers: { advertiseIntervalSec: 0 },
      http: { enabled: true, host: '127.0.0.1', port: httpPort },
    });
    // No --log-level: the default level (info) is what is under test.
    gw = await GatewayChild.start(file);
    runningAt = gw.lines.length;

    client = await SnClient.open(udpPort);
    anonymous = await SnClient.open(udpPort);
    client.socket.on('message', () => framesToClient++);

    await client.connect('metrics-1', { keepAlive: 60 });
    client.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'm/data' });
    const { topicId } = await client.next('REGACK');
    const topic = { topicIdType: 'normal' as const, topicId };
    let msgId = 10;
    for (let i = 0; i < QOS0; i++) client.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: Buffer.from(`q0-${i}`), ...topic });
    for (let i = 0; i < QOS1; i++) {
      client.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: ++msgId, payload: Buffer.from(`q1-${i}`), ...topic });
      assert.equal((await client.next('PUBACK')).msgId, msgId);
    }
    for (let i = 0; i < QOS2; i++) {
      client.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: ++msgId, payload: Buffer.from(`q2-${i}`), ...topic });
      await client.next('PUBREC');
      client.send({ type: 'PUBREL', msgId });
      await client.next('PUBCOMP');
    }
    client.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: ++msgId, topicIdType: 'normal', topicName: 'm/cmd' });
    await client.next('SUBACK');
    for (const g of GARBAGE) client.sendRaw(g);
    // QoS -1 from an address that never connected (MQTT-SN.md §4.8).
    anonymous.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, payload: Buffer.from('b'), topicIdType: 'predefined', topicId: 9 });
    // A PINGREQ last: its PINGRESP means everything before it was handled.
    client.send({ type: 'PINGREQ' });
    await client.next('PINGRESP');
    ({ samples, types, text } = await scrape(httpPort));
  });

  after(async () => {
    await client?.close();
    await anonymous?.close();
    if (gw !== undefined) {
      gw.signal('SIGTERM');
      assert.equal(await gw.exitCode(), 0);
    }
    await cleanup?.();
  });

  const v = (name: string, labels: Record<string, string> = {}): number | undefined => valueOf(samples, name, labels);

  it('names every metric mqttsn_*', () => {
    const names = new Set(samples.map((s) => s.name));
    for (const name of names) assert.match(name, /^mqttsn_/, name);
    for (const name of types.keys()) assert.match(name, /^mqttsn_/, name);
    assert.ok(names.has('mqttsn_nodejs_eventloop_lag_seconds'), 'event-loop lag is there');
    assert.equal(v('mqttsn_build_info', { version: '0.1.0' }), 1);
  });

  it('counts PUBLISH in by QoS, and every message by type', () => {
    assert.equal(v('mqttsn_publish_received_total', { qos: '-1' }), 1);
    assert.equal(v('mqttsn_publish_received_total', { qos: '0' }), QOS0);
    assert.equal(v('mqttsn_publish_received_total', { qos: '1' }), QOS1);
    assert.equal(v('mqttsn_publish_received_total', { qos: '2' }), QOS2);
    assert.equal(v('mqttsn_packets_received_total', { type: 'PUBLISH' }), QOS0 + QOS1 + QOS2 + 1);
    assert.equal(v('mqttsn_packets_received_total', { type: 'CONNECT' }), 1);
    assert.equal(v('mqttsn_packets_received_total', { type: 'REGISTER' }), 1);
    assert.equal(v('mqttsn_packets_received_total', { type: 'PUBREL' }), QOS2);
    assert.equal(v('mqttsn_packets_received_total', { type: 'SUBSCRIBE' }), 1);
    assert.equal(v('mqttsn_packets_received_total', { type: 'PINGREQ' }), 1);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'CONNACK' }), 1);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'REGACK' }), 1);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'PUBACK' }), QOS1);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'PUBREC' }), QOS2);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'PUBCOMP' }), QOS2);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'SUBACK' }), 1);
    assert.equal(v('mqttsn_packets_sent_total', { type: 'PINGRESP' }), 1);
    assert.equal(v('mqttsn_publish_sent_total', { qos: '1' }), 0);
    assert.equal(types.get('mqttsn_packets_received_total'), 'counter');
  });

  it('counts decode errors by code and drops by reason', () => {
    const byCode = new Map<string, number>();
    for (const g of GARBAGE) {
      const r = decode(g);
      assert.ok(r instanceof DecodeError);
      byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    }
    for (const [code, n] of byCode) assert.equal(v('mqttsn_decode_errors_total', { code }), n, code);
    assert.equal(v('mqttsn_dropped_total', { reason: 'decode' }), GARBAGE.length);
  });

  it('counts transport frames both ways, per transport', () => {
    const transport = `udp:127.0.0.1:${udpPort}`;
    const sent = 1 + 1 + QOS0 + QOS1 + 2 * QOS2 + 1 + GARBAGE.length + 1 + 1;
    assert.equal(v('mqttsn_transport_frames_received_total', { transport }), sent);
    assert.equal(v('mqttsn_transport_frames_sent_total', { transport }), framesToClient);
    assert.equal(framesToClient, 1 + 1 + QOS1 + 2 * QOS2 + 1 + 1);
    assert.equal(v('mqttsn_transport_up', { transport }), 1);
    assert.equal(v('mqttsn_transport_dropped_total', { transport, reason: 'oversize' }), 0);
  });

  it('shows sessions by state and what they hold', () => {
    assert.equal(v('mqttsn_sessions', { state: 'active' }), 1);
    assert.equal(v('mqttsn_sessions', { state: 'asleep' }), 0);
    assert.equal(v('mqttsn_subscriptions'), 1);
    assert.equal(v('mqttsn_registered_topics'), 2, 'm/data by REGISTER, m/cmd by SUBSCRIBE');
    assert.equal(v('mqttsn_buffered_messages'), 0);
    assert.equal(v('mqttsn_inflight_messages'), 0);
  });

  it('has no upstream metrics without a bridge', () => {
    assert.equal(text.includes('mqttsn_upstream_'), false);
  });

  it('is ready on /healthz', async () => {
    const r = await getJson(httpPort, '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { ready: true, status: 'ready', reasons: [], transports: [{ name: `udp:127.0.0.1:${udpPort}`, state: 'open' }] });
  });

  it('lists the client on /api/sessions with its peer, subscriptions and topic ids', async () => {
    const r = await getJson(httpPort, '/api/sessions');
    assert.equal(r.status, 200);
    const body = r.body as { count: number; sessions: Array<Record<string, unknown>> };
    assert.equal(body.count, 1);
    const s = body.sessions[0]!;
    assert.equal(s.clientId, 'metrics-1');
    assert.equal(s.state, 'active');
    assert.equal(s.peer, `udp:127.0.0.1:${client.socket.address().port}`);
    assert.ok(Math.abs(Date.parse(String(s.lastSeen)) - Date.now()) < 10_000, `lastSeen is a recent time: ${String(s.lastSeen)}`);
    assert.deepEqual(s.subscriptions, [{ filter: 'm/cmd', qos: 1, kind: 'name' }]);
    assert.deepEqual((s.registeredTopics as Array<{ name: string }>).map((t) => t.name).sort(), ['m/cmd', 'm/data']);
    const one = await getJson(httpPort, '/api/sessions/metrics-1');
    assert.equal(one.status, 200);
    assert.equal((one.body as { clientId: string }).clientId, 'metrics-1');
  });

  it('logs the connect at info, and nothing per message', () => {
    const after = gw.records().slice(runningAt);
    const info = after.filter((r) => typeof r.level === 'number' && r.level >= 30).map((r) => r.msg);
    // The malformed frames of a connected client are told to the operator (issue #17), in one
    // rate-limited line for all of them, not one per frame.
    assert.deepEqual(info, ['client connected', 'malformed frame from a connected client dropped'], `info lines: ${JSON.stringify(info)}`);
    assert.ok(GARBAGE.length > 1);
  });
});
