/**
 * SimNode's wire behaviour, packet by packet, against a scripted gateway over real UDP on
 * 127.0.0.1. These pin what the node sends and how it reacts; contract.test.ts checks the same
 * features end to end against a gateway that can be swapped.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { SimErrorCode, type SimError } from '../../firmware-sim/errors.js';
import type { SimMessage } from '../../firmware-sim/node.js';
import { ScriptedGateway } from './scripted-gateway.js';
import { until } from '../helpers/wait.js';
import { connectNode, NodePool, withScriptedGateway } from './helpers.js';

describe('SimNode against a scripted gateway (UDP 127.0.0.1)', () => {
  let gw: ScriptedGateway;
  const pool = new NodePool();

  const suite = withScriptedGateway(() => ScriptedGateway.start(), pool);
  before(() => {
    gw = suite.gw;
  });

  it('connects without a will: CONNECT fields, CONNACK 0x00 -> active', async () => {
    const node = await pool.node(gw.url);
    const done = node.connect({ clientId: 'temp-01', cleanSession: true, keepAlive: 30 });
    const c = await gw.next('CONNECT');
    assert.deepEqual(c.packet, { type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 30, clientId: 'temp-01' });
    assert.equal(node.state, 'connecting');
    await gw.send(c, { type: 'CONNACK', returnCode: 0 });
    await done;
    assert.equal(node.state, 'active');
  });

  it('connects with a will: answers WILLTOPICREQ and WILLMSGREQ in turn (§4.3)', async () => {
    const node = await pool.node(gw.url);
    const done = node.connect({ clientId: 'door-7', cleanSession: false, keepAlive: 60, will: { topic: 'site/door-7/status', payload: 'offline', qos: 1, retain: true } });
    const c = await gw.next('CONNECT');
    assert.equal(c.packet.will, true);
    assert.equal(c.packet.cleanSession, false);
    await gw.send(c, { type: 'WILLTOPICREQ' });
    const wt = await gw.next('WILLTOPIC');
    assert.deepEqual(wt.packet, { type: 'WILLTOPIC', qos: 1, retain: true, willTopic: 'site/door-7/status' });
    await gw.send(c, { type: 'WILLMSGREQ' });
    const wm = await gw.next('WILLMSG');
    assert.equal(wm.packet.willMsg.toString(), 'offline');
    await gw.send(c, { type: 'CONNACK', returnCode: 0 });
    await done;
    assert.equal(node.state, 'active');
  });

  it('a rejected CONNECT rejects with SIM_ERR_REJECTED and the return code', async () => {
    const node = await pool.node(gw.url);
    const done = node.connect({ clientId: 'x' });
    const c = await gw.next('CONNECT');
    await gw.send(c, { type: 'CONNACK', returnCode: 3 });
    await assert.rejects(done, (e: SimError) => e.code === SimErrorCode.REJECTED && e.returnCode === 3);
    assert.equal(node.state, 'disconnected');
  });

  it('a CONNECT nobody answers times out after N_RETRY retransmissions', async () => {
    const node = await pool.node(gw.url, { retryMs: 50, maxRetries: 2 });
    await assert.rejects(node.connect({ clientId: 'lonely' }), (e: SimError) => e.code === SimErrorCode.TIMEOUT);
    const connects = [await gw.next('CONNECT'), await gw.next('CONNECT'), await gw.next('CONNECT')];
    assert.equal(connects.length, 3);
    assert.equal(node.state, 'disconnected');
  });

  it('registers a name once and reuses the id (§4.6)', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const reg = node.register('site/room1/temperature');
    const r = await gw.next('REGISTER');
    assert.equal(r.packet.topicId, 0);
    assert.notEqual(r.packet.msgId, 0);
    assert.equal(r.packet.topicName, 'site/room1/temperature');
    await gw.send(r, { type: 'REGACK', topicId: 5, msgId: r.packet.msgId, returnCode: 0 });
    assert.equal(await reg, 5);
    assert.equal(await node.register('site/room1/temperature'), 5);
    await gw.expectNone('REGISTER', node);
  });

  it('publishes QoS 0 on a name: REGISTER first, then PUBLISH with MsgId 0', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const pub = node.publish({ topic: 'a/b', payload: '{"t":21.4}', qos: 0 });
    const r = await gw.next('REGISTER');
    await gw.send(r, { type: 'REGACK', topicId: 9, msgId: r.packet.msgId, returnCode: 0 });
    const p = await gw.next('PUBLISH');
    assert.equal(p.packet.qos, 0);
    assert.equal(p.packet.msgId, 0);
    assert.equal(p.packet.topicIdType, 'normal');
    assert.equal(p.packet.topicIdType === 'normal' && p.packet.topicId, 9);
    assert.equal(p.packet.payload.toString(), '{"t":21.4}');
    await pub;
  });

  it('retransmits a QoS 1 PUBLISH with DUP=1 when the PUBACK is withheld (§4.13)', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, retryMs: 1000 });
    await connectNode(gw, node);
    const pub = node.publish({ topicId: 3, payload: 'x', qos: 1 });
    const first = await gw.next('PUBLISH');
    assert.equal(first.packet.dup, false);
    clock.advance(999);
    await gw.expectNone('PUBLISH', node);
    clock.advance(1);
    const second = await gw.next('PUBLISH');
    assert.equal(second.packet.dup, true);
    assert.equal(second.packet.msgId, first.packet.msgId);
    await gw.send(second, { type: 'PUBACK', topicId: 3, msgId: first.packet.msgId, returnCode: 0 });
    const result = await pub;
    assert.equal(result.retransmissions, 1);
    assert.equal(result.latencyMs, 1000);
  });

  it('publishes QoS 2: PUBLISH, PUBREC, PUBREL (repeated until PUBCOMP), PUBCOMP', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, retryMs: 1000 });
    await connectNode(gw, node);
    const pub = node.publish({ topicId: 4, payload: 'on', qos: 2 });
    const p = await gw.next('PUBLISH');
    assert.equal(p.packet.qos, 2);
    await gw.send(p, { type: 'PUBREC', msgId: p.packet.msgId });
    const rel = await gw.next('PUBREL');
    assert.equal(rel.packet.msgId, p.packet.msgId);
    clock.advance(1000);
    const rel2 = await gw.next('PUBREL');
    assert.equal(rel2.packet.msgId, p.packet.msgId);
    await gw.send(p, { type: 'PUBCOMP', msgId: p.packet.msgId });
    const r = await pub;
    assert.equal(r.retransmissions, 1);
  });

  it('rejects a publish answered by an error PUBACK with the return code', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const pub = node.publish({ topicId: 77, payload: 'x', qos: 1 });
    const p = await gw.next('PUBLISH');
    await gw.send(p, { type: 'PUBACK', topicId: 77, msgId: p.packet.msgId, returnCode: 2 });
    await assert.rejects(pub, (e: SimError) => e.code === SimErrorCode.REJECTED && e.returnCode === 2);
  });

  it('re-registers a name once after an invalid-topic PUBACK (§4.7)', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const pub = node.publish({ topic: 'x/y', payload: '1', qos: 1 });
    let r = await gw.next('REGISTER');
    await gw.send(r, { type: 'REGACK', topicId: 1, msgId: r.packet.msgId, returnCode: 0 });
    let p = await gw.next('PUBLISH');
    await gw.send(p, { type: 'PUBACK', topicId: 1, msgId: p.packet.msgId, returnCode: 2 });
    r = await gw.next('REGISTER');
    await gw.send(r, { type: 'REGACK', topicId: 2, msgId: r.packet.msgId, returnCode: 0 });
    p = await gw.next('PUBLISH');
    assert.equal(p.packet.topicIdType === 'normal' && p.packet.topicId, 2);
    await gw.send(p, { type: 'PUBACK', topicId: 2, msgId: p.packet.msgId, returnCode: 0 });
    await pub;
    assert.equal(node.topicIdOf('x/y'), 2);
  });

  it('keeps one QoS 1 PUBLISH on the wire at a time and queues the rest (§4.7 concurrency)', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const a = node.publish({ topicId: 1, payload: 'a', qos: 1 });
    const b = node.publish({ topicId: 1, payload: 'b', qos: 1 });
    const pa = await gw.next('PUBLISH');
    assert.equal(pa.packet.payload.toString(), 'a');
    await gw.expectNone('PUBLISH', node);
    assert.equal(node.publishesPending, 2);
    await gw.send(pa, { type: 'PUBACK', topicId: 1, msgId: pa.packet.msgId, returnCode: 0 });
    const pb = await gw.next('PUBLISH');
    assert.equal(pb.packet.payload.toString(), 'b');
    assert.notEqual(pb.packet.msgId, pa.packet.msgId);
    await gw.send(pb, { type: 'PUBACK', topicId: 1, msgId: pb.packet.msgId, returnCode: 0 });
    await Promise.all([a, b]);
  });

  it('publishes QoS -1 without connecting, on a predefined id and on a short name (§4.8)', async () => {
    const node = await pool.node(gw.url);
    await node.publish({ predefinedId: 17, payload: 'beacon', qos: -1 });
    await node.publish({ shortName: 'bc', payload: 'hi', qos: -1 });
    const p1 = await gw.next('PUBLISH');
    assert.deepEqual({ ...p1.packet, payload: p1.packet.payload.toString() }, { type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'predefined', topicId: 17, payload: 'beacon' });
    const p2 = await gw.next('PUBLISH');
    assert.equal(p2.packet.topicIdType === 'short' && p2.packet.topicName, 'bc');
    assert.equal(node.state, 'disconnected');
    await assert.rejects(node.publish({ topicId: 1, qos: -1 }), (e: SimError) => e.code === SimErrorCode.BAD_ARGUMENT);
    await assert.rejects(node.publish({ topicId: 1, qos: 0 }), (e: SimError) => e.code === SimErrorCode.NOT_CONNECTED);
  });

  it('subscribes by name, wildcard, short name and predefined id', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const cases = [
      { target: 'home/kitchen/light' as const, want: { topicIdType: 'normal', topicName: 'home/kitchen/light' }, id: 12 },
      { target: 'home/+/temp' as const, want: { topicIdType: 'normal', topicName: 'home/+/temp' }, id: 0 },
      { target: { shortName: 'ab' }, want: { topicIdType: 'short', topicName: 'ab' }, id: 0 },
      { target: { predefinedId: 33 }, want: { topicIdType: 'predefined', topicId: 33 }, id: 33 },
    ];
    for (const c of cases) {
      const sub = node.subscribe(c.target, 1);
      const s = await gw.next('SUBSCRIBE');
      const { type: _t, dup, qos, msgId, ...topic } = s.packet;
      assert.deepEqual(topic, c.want);
      assert.equal(dup, false);
      assert.equal(qos, 1);
      await gw.send(s, { type: 'SUBACK', qos: 1, topicId: c.id, msgId, returnCode: 0 });
      assert.deepEqual(await sub, { topicId: c.id, grantedQos: 1 });
    }
    assert.equal(node.topicNameOf(12), 'home/kitchen/light');
  });

  it('answers a gateway REGISTER with REGACK and names the PUBLISH that follows (§4.6, §4.10)', async () => {
    const node = await pool.node(gw.url);
    const c = await connectNode(gw, node, 'sub-1');
    const sub = node.subscribe('sensors/#', 1);
    const s = await gw.next('SUBSCRIBE');
    await gw.send(s, { type: 'SUBACK', qos: 1, topicId: 0, msgId: s.packet.msgId, returnCode: 0 });
    await sub;
    const got: SimMessage[] = [];
    node.on('message', (m) => got.push(m));
    await gw.send(c, { type: 'REGISTER', topicId: 7, msgId: 100, topicName: 'sensors/a/t' });
    const ra = await gw.next('REGACK');
    assert.deepEqual(ra.packet, { type: 'REGACK', topicId: 7, msgId: 100, returnCode: 0 });
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: true, msgId: 101, topicIdType: 'normal', topicId: 7, payload: Buffer.from('{"t":19.5}') });
    const ack = await gw.next('PUBACK');
    assert.deepEqual(ack.packet, { type: 'PUBACK', topicId: 7, msgId: 101, returnCode: 0 });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.topic, 'sensors/a/t');
    assert.equal(got[0]!.retain, true);
    assert.equal(got[0]!.payload.toString(), '{"t":19.5}');
    // An id the node never heard of gets PUBACK 0x02 and no delivery (§4.10).
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 102, topicIdType: 'normal', topicId: 99, payload: Buffer.from('?') });
    const bad = await gw.next('PUBACK');
    assert.deepEqual(bad.packet, { type: 'PUBACK', topicId: 99, msgId: 102, returnCode: 2 });
    // A short-name PUBLISH is acked with the name's two bytes as the topic id.
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 103, topicIdType: 'short', topicName: 'ab', payload: Buffer.from('s') });
    const sa = await gw.next('PUBACK');
    assert.equal(sa.packet.topicId, 0x6162);
    assert.equal(got.length, 2);
    assert.equal(got[1]!.topic, 'ab');
  });

  it('takes an incoming QoS 2 PUBLISH once, however often it is repeated before PUBREL (§4.7)', async () => {
    const node = await pool.node(gw.url);
    const c = await connectNode(gw, node, 'q2');
    const got: SimMessage[] = [];
    node.on('message', (m) => got.push(m));
    const pub = { type: 'PUBLISH', qos: 2, retain: false, msgId: 9, topicIdType: 'short', topicName: 'cm', payload: Buffer.from('open') } as const;
    await gw.send(c, { ...pub, dup: false });
    assert.equal((await gw.next('PUBREC')).packet.msgId, 9);
    await gw.send(c, { ...pub, dup: true });
    assert.equal((await gw.next('PUBREC')).packet.msgId, 9);
    await gw.send(c, { type: 'PUBREL', msgId: 9 });
    assert.equal((await gw.next('PUBCOMP')).packet.msgId, 9);
    assert.equal(got.length, 1);
    // PUBREL for an id the node does not hold still gets PUBCOMP (§7).
    await gw.send(c, { type: 'PUBREL', msgId: 500 });
    assert.equal((await gw.next('PUBCOMP')).packet.msgId, 500);
    // After PUBREL the same id is a new message.
    await gw.send(c, { ...pub, dup: false });
    await gw.next('PUBREC');
    assert.equal(got.length, 2);
  });

  it('sleeps, wakes with its client id, takes the flush and is asleep again at PINGRESP (§4.12)', async () => {
    const node = await pool.node(gw.url);
    const c = await connectNode(gw, node, 'sleepy-3');
    const sleeping = node.sleep(120);
    const d = await gw.next('DISCONNECT');
    assert.equal(d.packet.duration, 120);
    // Paho answers with the plain DISCONNECT; the node accepts it (§4.12).
    await gw.send(c, { type: 'DISCONNECT' });
    await sleeping;
    assert.equal(node.state, 'asleep');

    const heard: string[] = [];
    node.on('message', (m) => heard.push(m.payload.toString()));
    const woke = node.wake();
    const ping = await gw.next('PINGREQ');
    assert.equal(ping.packet.clientId, 'sleepy-3');
    assert.equal(node.state, 'awake');
    await gw.send(c, { type: 'REGISTER', topicId: 4, msgId: 1, topicName: 'cmd/sleepy-3' });
    await gw.next('REGACK');
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 2, topicIdType: 'normal', topicId: 4, payload: Buffer.from('{"interval":30}') });
    await gw.next('PUBACK');
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: 4, payload: Buffer.from('{"led":1}') });
    await until(() => heard.length === 2, 5000, 'the QoS 0 message at the node');
    assert.equal(node.state, 'awake');
    await gw.send(c, { type: 'PINGRESP' });
    const msgs = await woke;
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload.toString()]), [['cmd/sleepy-3', '{"interval":30}'], ['cmd/sleepy-3', '{"led":1}']]);
    assert.equal(node.state, 'asleep');
    // Back to active with CONNECT (§4.12 item 3).
    const back = node.connect({ clientId: 'sleepy-3', cleanSession: false, keepAlive: 0 });
    await gw.send(await gw.next('CONNECT'), { type: 'CONNACK', returnCode: 0 });
    await back;
    assert.equal(node.state, 'active');
  });

  it('restarts T_RETRY at every message received while awake (§4.12)', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, retryMs: 1000, maxRetries: 1 });
    const c = await connectNode(gw, node, 'w');
    const s = node.sleep(60);
    await gw.send(await gw.next('DISCONNECT'), { type: 'DISCONNECT', duration: 60 });
    await s;
    let heard = 0;
    node.on('message', () => heard++);
    const woke = node.wake();
    await gw.next('PINGREQ');
    clock.advance(900);
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'short', topicName: 'zz', payload: Buffer.from('1') });
    await until(() => heard === 1, 5000, 'the message at the node');
    clock.advance(900);
    // 1800 ms after the PINGREQ but 900 after the last message: no retransmission yet.
    await gw.expectNone('PINGREQ', node);
    clock.advance(100);
    const again = await gw.next('PINGREQ');
    await gw.send(again, { type: 'PINGRESP' });
    assert.equal((await woke).length, 1);
  });

  it('pings when idle for the keep-alive period, not while busy (§4.11)', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, retryMs: 2000 });
    await connectNode(gw, node, 'ka', 10);
    clock.advance(9999);
    await gw.expectNone('PINGREQ', node);
    clock.advance(1);
    const p1 = await gw.next('PINGREQ');
    assert.equal(p1.packet.clientId, undefined);
    await gw.send(p1, { type: 'PINGRESP' });
    await gw.roundTrip(p1);
    clock.advance(6000);
    await node.publish({ topicId: 1, payload: 'x', qos: 0 });
    await gw.next('PUBLISH');
    clock.advance(4000);
    // The publish 4 s ago counts as traffic: the next ping is due at 16 s + 10 s.
    await gw.expectNone('PINGREQ', node);
    clock.advance(6000);
    const p2 = await gw.next('PINGREQ');
    await gw.send(p2, { type: 'PINGRESP' });
    await gw.roundTrip(p2);
    assert.equal(node.state, 'active');
  });

  it('declares the gateway lost after N_RETRY unanswered pings and reconnects, subscriptions included', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, retryMs: 1000, maxRetries: 2, reconnect: { initialDelayMs: 500, maxDelayMs: 500 }, random: () => 0.999 });
    const events: string[] = [];
    node.on('lost', (e) => events.push(`lost:${e.code}`));
    node.on('reconnected', () => events.push('reconnected'));
    await connectNode(gw, node, 'fragile', 5);
    const sub = node.subscribe('cmd/fragile', 1);
    const s = await gw.next('SUBSCRIBE');
    await gw.send(s, { type: 'SUBACK', qos: 1, topicId: 3, msgId: s.packet.msgId, returnCode: 0 });
    await sub;
    // A publish in flight when the gateway goes is failed with GATEWAY_LOST.
    clock.advance(5000);
    await gw.next('PINGREQ');
    const pending = node.publish({ topicId: 3, payload: 'x', qos: 1 });
    await gw.next('PUBLISH');
    clock.advance(1000);
    clock.advance(1000);
    clock.advance(1000);
    await assert.rejects(pending, (e: SimError) => e.code === SimErrorCode.GATEWAY_LOST || e.code === SimErrorCode.TIMEOUT);
    assert.equal(node.state, 'lost');
    assert.deepEqual(events, ['lost:SIM_ERR_TIMEOUT']);
    clock.advance(500);
    const c = await gw.next('CONNECT');
    assert.equal(c.packet.clientId, 'fragile');
    await gw.send(c, { type: 'CONNACK', returnCode: 0 });
    const s2 = await gw.next('SUBSCRIBE');
    assert.equal(s2.packet.topicIdType === 'normal' && s2.packet.topicName, 'cmd/fragile');
    await gw.send(s2, { type: 'SUBACK', qos: 1, topicId: 3, msgId: s2.packet.msgId, returnCode: 0 });
    await until(() => events.length === 2, 5000, 'the reconnection to finish');
    assert.deepEqual(events, ['lost:SIM_ERR_TIMEOUT', 'reconnected']);
    assert.equal(node.state, 'active');
  });

  it('treats an unsolicited DISCONNECT as a lost gateway and connects again (§4.12 item 8)', async () => {
    const clock = new FakeClock();
    const node = await pool.node(gw.url, { clock, reconnect: { initialDelayMs: 100, maxDelayMs: 100 }, random: () => 0.999 });
    const c = await connectNode(gw, node, 'kicked', 0);
    const lost = new Promise<SimError>((r) => node.once('lost', r));
    await gw.sendRaw(c.from, Buffer.from([2, 0x18]));
    assert.equal((await lost).code, SimErrorCode.GATEWAY_LOST);
    clock.advance(100);
    const again = await gw.next('CONNECT');
    await gw.send(again, { type: 'CONNACK', returnCode: 0 });
    await gw.roundTrip(again);
    assert.equal(node.state, 'active');
  });

  it('disconnects: DISCONNECT answered by DISCONNECT', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const d = node.disconnect();
    const r = await gw.next('DISCONNECT');
    assert.equal(r.packet.duration, undefined);
    await gw.send(r, { type: 'DISCONNECT' });
    await d;
    assert.equal(node.state, 'disconnected');
  });

  it('updates its will: WILLTOPICUPD then WILLMSGUPD (§4.4)', async () => {
    const node = await pool.node(gw.url);
    await connectNode(gw, node);
    const u = node.updateWill({ topic: 'w/t', payload: 'gone', qos: 1 });
    const t = await gw.next('WILLTOPICUPD');
    assert.equal(t.packet.willTopic, 'w/t');
    await gw.send(t, { type: 'WILLTOPICRESP', returnCode: 0 });
    const m = await gw.next('WILLMSGUPD');
    assert.equal(m.packet.willMsg.toString(), 'gone');
    await gw.send(m, { type: 'WILLMSGRESP', returnCode: 0 });
    await u;
  });

  it('finds the gateway by SEARCHGW and talks to the GWINFO sender (§4.2)', async () => {
    const real = await ScriptedGateway.start();
    try {
      const { UdpLink } = await import('../../firmware-sim/links/udp.js');
      const { SimNode } = await import('../../firmware-sim/node.js');
      const { parseUdpUrl } = await import('../../firmware-sim/link.js');
      // SEARCHGW goes to the "broadcast" address (here: the scripted socket); GWINFO comes from another.
      const link = await UdpLink.open({ search: parseUdpUrl(gw.url) });
      const node = new SimNode({ link, discover: { repeatMs: 100, timeoutMs: 2000 }, retryMs: 300, reconnect: false });
      pool.nodes.push(node);
      const done = node.connect({ clientId: 'finder', keepAlive: 0 });
      const s = await gw.next('SEARCHGW');
      assert.equal(s.packet.radius, 0);
      await real.sendRaw(s.from, Buffer.from([3, 0x02, 42]));
      const c = await real.next('CONNECT');
      assert.equal(c.packet.clientId, 'finder');
      await real.send(c, { type: 'CONNACK', returnCode: 0 });
      await done;
    } finally {
      await real.close();
    }
  });
});

describe('SimNode over IPv6 (::1)', () => {
  it('connects and publishes', async () => {
    const gw6 = await ScriptedGateway.start('::1');
    const pool = new NodePool();
    try {
      assert.match(gw6.url, /^udp:\/\/\[::1\]:\d+$/);
      const node = await pool.node(gw6.url);
      await connectNode(gw6, node, 'v6');
      const pub = node.publish({ topicId: 1, payload: 'x', qos: 1 });
      const p = await gw6.next('PUBLISH');
      assert.equal(p.from.address, '::1');
      await gw6.send(p, { type: 'PUBACK', topicId: 1, msgId: p.packet.msgId, returnCode: 0 });
      await pub;
    } finally {
      await pool.closeAll();
      await gw6.close();
    }
  });
});
