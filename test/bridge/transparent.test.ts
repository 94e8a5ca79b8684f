/**
 * Transparent mode, gateway and bridge together on a fake clock, with a scripted upstream: every
 * answer the device gets is checked against what the upstream said (and when).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttUpstreamOptions } from '../../src/bridge/mqtt-upstream.js';
import { TransparentBridge, WILL_RECONNECT_DEBOUNCE_MS } from '../../src/bridge/transparent.js';
import { ReturnCode } from '../../src/codec/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { UpstreamConfig } from '../../src/config/upstream.js';
import { noopLogger } from '../../src/logger.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { Harness, settle, type TestClient } from '../gateway/harness.js';
import type { PacketOf } from '../../src/codec/index.js';
import { FakeUpstream, type FakeConnection } from './fake-upstream.js';

const BASE: MqttUpstreamOptions = { url: 'mqtt://127.0.0.1:1', clientId: 'gw', keepAlive: 60, cleanSession: true, connectTimeoutMs: 1000 };

function upstreamConfig(extra: Record<string, unknown> = {}): UpstreamConfig {
  const c = parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], upstream: { url: 'mqtt://127.0.0.1:1', mode: 'transparent', clientId: 'gw', reconnect: { initialMs: 100, maxMs: 400 }, ...extra } }).upstream;
  assert.ok(c);
  return c;
}

/** A gateway in transparent mode whose upstream connections are scripted; the gateway's own one is up. */
interface Setup {
  h: Harness;
  bridge: TransparentBridge;
  up: FakeUpstream;
  opened: MqttUpstreamOptions[];
  /** a bridge like the first, for a restarted gateway */
  another: () => Promise<TransparentBridge>;
}

async function setup(extra: Record<string, unknown> = {}, store?: MemorySessionStore): Promise<Setup> {
  const up = new FakeUpstream();
  const opened: MqttUpstreamOptions[] = [];
  // The bridge needs the harness's clock, the harness the first bridge: a box breaks the cycle.
  const box: { h?: Harness } = {};
  const make = async (): Promise<TransparentBridge> => {
    const b = new TransparentBridge({
      config: upstreamConfig(extra),
      base: BASE,
      connectorFor: (o) => {
        opened.push(o);
        return up.connector;
      },
      clients: [],
      clock: { now: () => box.h!.clock.now(), setTimeout: (fn, ms) => box.h!.clock.setTimeout(fn, ms) },
      logger: noopLogger,
      random: () => 0.5,
    });
    if (box.h === undefined) return b; // started below, once the harness (and its clock) exists
    await b.start();
    up.last.accept();
    return b;
  };
  const bridge = await make();
  const h = new Harness({}, store, undefined, bridge);
  box.h = h;
  await bridge.start();
  up.last.accept();
  await h.start();
  return { h, bridge, up, opened, another: () => make() };
}

/** CONNECT; the upstream connection opens; the test answers it. */
async function connect(h: Harness, up: FakeUpstream, c: TestClient, clientId: string, opts: { cleanSession?: boolean; keepAlive?: number } = {}): Promise<FakeConnection> {
  const before = up.connections.length;
  c.send({ type: 'CONNECT', will: false, cleanSession: opts.cleanSession ?? true, protocolId: 1, duration: opts.keepAlive ?? 60, clientId });
  await settle();
  assert.equal(up.connections.length, before + 1, 'an upstream connection was opened');
  c.nothing(); // no CONNACK before the upstream's
  up.last.accept();
  await settle();
  assert.equal(c.one('CONNACK').returnCode, ReturnCode.ACCEPTED);
  return up.last;
}

describe('transparent mode: connecting', () => {
  it("opens the device's own connection with its id (prefixed), clean flag, keep-alive and will, and answers CONNACK after the upstream's", async () => {
    const { h, up, opened } = await setup({ clientIdPrefix: 'site1-' });
    const c = h.client('p1');
    c.send({ type: 'CONNECT', will: true, cleanSession: false, protocolId: 1, duration: 45, clientId: 'dev-1' });
    c.one('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 1, retain: true, willTopic: 'dev/1/status' });
    c.one('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('offline') });
    await settle();
    c.nothing();
    const o = opened.at(-1)!;
    assert.equal(o.clientId, 'site1-dev-1');
    assert.equal(o.cleanSession, false);
    assert.equal(o.keepAlive, 45);
    assert.deepEqual(o.will, { topic: 'dev/1/status', payload: Buffer.from('offline'), qos: 1, retain: true });
    up.last.accept();
    await settle();
    assert.equal(c.one('CONNACK').returnCode, ReturnCode.ACCEPTED);
  });

  it('answers 0x03 when the upstream refuses the device, 0x01 when it cannot be reached or is unavailable', async () => {
    const { h, up } = await setup();
    const cases: Array<[Error, number]> = [
      [Object.assign(new Error('Connection refused: Not authorized'), { code: 5 }), ReturnCode.NOT_SUPPORTED],
      [Object.assign(new Error('Connection refused: Bad username or password'), { code: 4 }), ReturnCode.NOT_SUPPORTED],
      [Object.assign(new Error('Connection refused: Server unavailable'), { code: 3 }), ReturnCode.CONGESTION],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), ReturnCode.CONGESTION],
    ];
    for (const [i, [err, rc]] of cases.entries()) {
      const c = h.client(`r${i}`);
      c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: `refused-${i}` });
      await settle();
      up.last.fail(err);
      await settle();
      assert.equal(c.one('CONNACK').returnCode, rc, err.message);
      assert.equal(h.gateway.sessions.has(`refused-${i}`), false, 'a clean session that never stood is gone');
    }
  });

  it('keeps the standing connection when a sleeper wakes with CONNECT, and opens a new one for a new clean session', async () => {
    const { h, up } = await setup();
    const c = h.client('p1');
    const first = await connect(h, up, c, 'dev-s', { cleanSession: false });
    c.send({ type: 'DISCONNECT', duration: 60 });
    await settle();
    c.one('DISCONNECT');
    assert.equal(first.ended, undefined, 'sleep keeps the upstream connection');
    c.send({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: 'dev-s' });
    await settle();
    assert.equal(c.one('CONNACK').returnCode, ReturnCode.ACCEPTED);
    assert.equal(up.last, first, 'no new connection for a waking sleeper');
    await connect(h, up, c, 'dev-s', { cleanSession: true });
    assert.equal(first.ended, 'graceful', 'replaced with DISCONNECT: no will for a device that is alive');
  });

  it('drops the connection without DISCONNECT when the device is lost (the upstream publishes the will), with DISCONNECT when it leaves', async () => {
    const { h, up } = await setup();
    const lost = h.client('p1');
    const lostConn = await connect(h, up, lost, 'dev-lost', { keepAlive: 10 });
    const polite = h.client('p2');
    const politeConn = await connect(h, up, polite, 'dev-polite', { keepAlive: 10 });
    polite.send({ type: 'DISCONNECT' });
    await settle();
    assert.equal(politeConn.ended, 'graceful');
    await h.advance(15_001);
    assert.equal(lostConn.ended, 'forced');
    assert.equal(h.broker.published.length, 0, 'the gateway does not publish the will itself');
  });
});

describe('transparent mode: messages', () => {
  it('answers PUBACK / PUBREC only once the upstream acknowledged, and 0x01 while the connection is down', async () => {
    const { h, up } = await setup();
    const c = h.client('p1');
    const conn = await connect(h, up, c, 'dev-p');
    const id = await c.register('dev/p/t');
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 7, payload: Buffer.from('v1') });
    c.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'normal', topicId: id, msgId: 8, payload: Buffer.from('v2') });
    await settle();
    c.nothing();
    assert.deepEqual(conn.payloads(), ['v1', 'v2']);
    conn.ack(2);
    await settle();
    assert.deepEqual(
      c.take().map((p) => [p.type, 'msgId' in p ? p.msgId : 0]),
      [
        ['PUBACK', 7],
        ['PUBREC', 8],
      ],
    );
    assert.equal(h.broker.published.length, 0, 'nothing goes to the local broker core');
    conn.drop();
    await settle();
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 9, payload: Buffer.from('v3') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, ReturnCode.CONGESTION);
    // Backoff, a new connection; the device sends again and it goes through.
    await h.advance(200);
    up.last.accept();
    await settle();
    c.send({ type: 'PUBLISH', dup: true, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 9, payload: Buffer.from('v3') });
    await settle();
    up.last.ack();
    await settle();
    assert.equal(c.one('PUBACK').returnCode, ReturnCode.ACCEPTED);
  });

  it('refuses with 0x03 what the profile says the service never takes', async () => {
    // The files only have to exist for the config: the scripted upstream makes no TLS.
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-tp-'));
    const [cert, key] = [join(dir, 'c.pem'), join(dir, 'k.pem')];
    await Promise.all([writeFile(cert, 'x'), writeFile(key, 'x')]);
    const { h, up } = await setup({ profile: 'aws-iot', url: 'mqtts://example.iot.eu-west-1.amazonaws.com', tls: { cert, key } });
    await rm(dir, { recursive: true });
    const c = h.client('p1');
    await connect(h, up, c, 'thing-1');
    const id = await c.register('a/b/c/d/e/f/g/h/i');
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: id, msgId: 3, payload: Buffer.from('x') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, ReturnCode.NOT_SUPPORTED);
    assert.deepEqual(up.last.published, []);
  });

  it('subscribes upstream, answers with what the upstream granted, and delivers what the subscription brings', async () => {
    const { h, up, bridge } = await setup();
    const c = h.client('p1');
    const conn = await connect(h, up, c, 'dev-sub');
    conn.grant = (filter, qos) => (filter === 'secret/#' ? 128 : Math.min(qos, 1));
    const granted = await c.subscribe('cmd/#', 2);
    assert.equal(granted.returnCode, ReturnCode.ACCEPTED);
    assert.equal(granted.qos, 1);
    assert.deepEqual(conn.subscriptions.at(-1), [{ filter: 'cmd/#', qos: 2 }]);
    assert.equal((await c.subscribe('secret/#', 0, 2)).returnCode, ReturnCode.NOT_SUPPORTED);
    let acked = false;
    const taken = conn.deliver('cmd/lamp', 'on', 1).then(() => (acked = true));
    await settle();
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    await settle();
    const pub = c.one('PUBLISH');
    assert.equal(pub.payload.toString(), 'on');
    // The upstream ack waits for the device's (issue #21): a gateway that dies now loses nothing acknowledged.
    assert.equal(acked, false, 'acknowledged upstream before the device had it');
    c.send({ type: 'PUBACK', topicId: pub.topicIdType === 'normal' ? pub.topicId : 0, msgId: pub.msgId, returnCode: 0 });
    await taken;
    assert.equal(bridge.status().counters.received, 1);
    c.send({ type: 'UNSUBSCRIBE', msgId: 4, topicIdType: 'normal', topicName: 'cmd/#' });
    await settle();
    c.one('UNSUBACK');
    assert.deepEqual(conn.unsubscriptions, [['cmd/#']]);
  });

  it('subscribes again after a reconnect that lost the upstream session', async () => {
    const { h, up } = await setup();
    const c = h.client('p1');
    const conn = await connect(h, up, c, 'dev-re');
    await c.subscribe('cmd/#', 1);
    conn.drop();
    await h.advance(200);
    up.last.accept(false);
    await settle();
    assert.deepEqual(up.last.subscriptions, [[{ filter: 'cmd/#', qos: 1 }]]);
  });

  it('opens the connection again with the new will on WILLTOPICUPD (MQTT 3.1.1 cannot change a live will)', async () => {
    const { h, up, opened } = await setup();
    const c = h.client('p1');
    const first = await connect(h, up, c, 'dev-w', { cleanSession: false });
    c.send({ type: 'WILLTOPICUPD', qos: 1, retain: false, willTopic: 'dev/w/status' });
    await settle();
    c.nothing();
    // Reopened once the updates have stopped for a moment; the old connection carries the client meanwhile.
    assert.equal(first.ended, undefined);
    h.clock.advance(WILL_RECONNECT_DEBOUNCE_MS);
    await settle();
    assert.equal(first.ended, 'graceful');
    assert.equal(opened.at(-1)?.will?.topic, 'dev/w/status');
    up.last.accept(true);
    await settle();
    assert.equal(c.one('WILLTOPICRESP').returnCode, ReturnCode.ACCEPTED);
  });

  it('takes the subscriptions along to the connection opened for a new will, even with a clean session', async () => {
    const { h, up } = await setup();
    const c = h.client('p1');
    await connect(h, up, c, 'dev-wc', { cleanSession: true });
    await c.subscribe('cmd/#', 1);
    c.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'dev/wc/status' });
    await settle();
    h.clock.advance(WILL_RECONNECT_DEBOUNCE_MS);
    await settle();
    up.last.accept(false);
    await settle();
    assert.equal(c.one('WILLTOPICRESP').returnCode, ReturnCode.ACCEPTED);
    assert.deepEqual(up.last.subscriptions, [[{ filter: 'cmd/#', qos: 1 }]]);
  });

  it('reopens the upstream connections of stored sessions after a restart, subscriptions included', async () => {
    const store = new MemorySessionStore();
    const { h, up, another } = await setup({}, store);
    const c = h.client('p1');
    await connect(h, up, c, 'dev-keep', { cleanSession: false });
    await c.subscribe('cmd/#', 1);
    await store.flush();
    const next = await another();
    const before = up.connections.length;
    await h.restart({}, next);
    assert.equal(up.connections.length, before + 1, 'the stored session got its connection back');
    up.last.accept(false);
    await settle();
    assert.deepEqual(up.last.subscriptions, [[{ filter: 'cmd/#', qos: 1 }]]);
  });
});

/** Upstream connections opened for a client id (the bridge's connector sees each one's options). */
const opensOf = (opened: readonly MqttUpstreamOptions[], clientId: string): MqttUpstreamOptions[] => opened.filter((o) => o.clientId === clientId);

/**
 * Stores, then restarts on a new bridge (`behindFrontEnds`: as an instance behind front ends);
 * the upstream connections opened from then on, the gateway's own one left out.
 */
async function restartStored(x: Setup, store: MemorySessionStore, behindFrontEnds: boolean): Promise<() => MqttUpstreamOptions[]> {
  await store.flush();
  x.h.transport.behindFrontEnds = behindFrontEnds;
  const next = await x.another(); // its own connection, the gateway's, opens here
  const before = x.opened.length;
  await x.h.restart({}, next);
  return () => x.opened.slice(before);
}

/** REGISTER (ids are registered again after a restart; `reg` one already taken, 'known': the topic id needs none) then the QoS 1 PUBLISH, both acknowledged; its payload. */
async function deliveredTo(c: TestClient, reg: PacketOf<'REGISTER'> | 'known' = c.one('REGISTER')): Promise<string> {
  if (reg !== 'known') {
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: ReturnCode.ACCEPTED });
    await settle();
  }
  const p = c.one('PUBLISH');
  if (p.topicIdType !== 'normal') assert.fail('the registered topic id expected');
  c.send({ type: 'PUBACK', topicId: p.topicId, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED });
  await settle();
  return p.payload.toString();
}

describe('transparent mode: sessions restored behind front ends (issue #21)', () => {
  it("opens no restored session's connection until its device speaks here again, then opens it and what the broker queued flows", async () => {
    const store = new MemorySessionStore();
    const x = await setup({}, store);
    const { h, up } = x;
    const a = h.client('pa');
    await connect(h, up, a, 'dev-a', { cleanSession: false });
    await a.subscribe('cmd/a', 1);
    // In flight to dev-a at the kill (sent, unacknowledged): stored with the session.
    void up.last.deliver('cmd/a', 'in flight at the kill', 1);
    await settle();
    assert.equal(a.one('PUBLISH').payload.toString(), 'in flight at the kill');
    const s = h.client('ps');
    await connect(h, up, s, 'dev-s', { cleanSession: false });
    s.send({ type: 'DISCONNECT', duration: 600 });
    await settle();
    s.take();
    // The instance returns behind its front ends; meanwhile both devices moved to another instance.
    const since = await restartStored(x, store, true);
    await h.advance(60_000);
    assert.deepEqual(since().map((o) => o.clientId), [], 'no device connection reopened: the devices may be served elsewhere');
    a.nothing(); // nor is what it held sent to the device

    // dev-a speaks here again (the instance it moved to died): its connection opens, subscriptions made again.
    a.send({ type: 'PINGREQ' });
    await settle();
    const heard = a.take();
    assert.deepEqual(heard.map((p) => p.type), ['REGISTER', 'PINGRESP'], 'what it held goes now');
    assert.equal(await deliveredTo(a, heard[0] as PacketOf<'REGISTER'>), 'in flight at the kill');
    assert.equal(opensOf(since(), 'dev-a').length, 1, 'opened once the device spoke');
    const conn = up.last;
    conn.accept(false);
    await settle();
    assert.deepEqual(conn.subscriptions, [[{ filter: 'cmd/a', qos: 1 }]]);
    const taken = conn.deliver('cmd/a', 'queued while away', 1);
    await settle();
    assert.equal(await deliveredTo(a, 'known'), 'queued while away');
    await taken;

    // The sleeper's first wake opens its connection; PINGRESP at once (see dormant.ts for why).
    s.send({ type: 'PINGREQ', clientId: 'dev-s' });
    await settle();
    assert.equal(opensOf(since(), 'dev-s').length, 1, 'the wake opened the connection');
    s.one('PINGRESP');
    up.last.accept(true);
    void up.last.deliver('cmd/s', 'for the next wake', 1);
    await settle();
    s.nothing();
    assert.equal(h.gateway.sessions.get('dev-s')?.queue.length, 1, 'buffered for the next wake');
    s.send({ type: 'PINGREQ', clientId: 'dev-s' });
    await settle();
    assert.equal(await deliveredTo(s), 'for the next wake');
  });

  it('without front ends (a single gateway) reopens every restored connection at once, a sleeper\'s too', async () => {
    const store = new MemorySessionStore();
    const x = await setup({}, store);
    const { h, up } = x;
    await connect(h, up, h.client('pa'), 'dev-a', { cleanSession: false });
    const s = h.client('ps');
    await connect(h, up, s, 'dev-s', { cleanSession: false });
    s.send({ type: 'DISCONNECT', duration: 600 });
    await settle();
    const since = await restartStored(x, store, false);
    assert.deepEqual(since().map((o) => o.clientId).sort(), ['dev-a', 'dev-s']);
  });

  it('publishes no will for a dormant session whose device never comes back, and still expires it', async () => {
    const store = new MemorySessionStore();
    const x = await setup({}, store);
    const { h, up } = x;
    const c = h.client('pw');
    c.send({ type: 'CONNECT', will: true, cleanSession: false, protocolId: 1, duration: 10, clientId: 'dev-w' });
    c.one('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'dev/w/status' });
    c.one('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    await settle();
    up.last.accept();
    await settle();
    assert.equal(c.one('CONNACK').returnCode, ReturnCode.ACCEPTED);
    const since = await restartStored(x, store, true);
    // Keep-alive 10 s runs out: lost here, but no connection carrying its will was ever opened,
    // so the broker has nothing to publish, and the gateway publishes nothing itself.
    await h.advance(16_000);
    assert.equal(h.gateway.sessions.get('dev-w')?.state, 'lost');
    assert.deepEqual(opensOf(since(), 'dev-w'), [], 'no connection with the will');
    assert.equal(h.broker.published.length, 0);
    assert.equal(h.gateway.stats.willsPublished, 0);
    // limits.sessionExpirySec (default 7 days) still ends it.
    await h.advance(7 * 24 * 3600 * 1000);
    assert.equal(h.gateway.sessions.has('dev-w'), false, 'expired');
    assert.deepEqual(opensOf(since(), 'dev-w'), []);
  });
});
