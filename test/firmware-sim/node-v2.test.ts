/**
 * A SimNode speaking MQTT-SN 2.0 (OASIS CSD01), packet by packet, against a scripted 2.0 gateway
 * over real UDP on 127.0.0.1 that reads and answers with the project's 2.0 codec (itself checked
 * against the independent CSD01 vectors). Every flow a 1.2 node has, in its 2.0 form: CONNECT with
 * clean start, session expiry, will and MQTT-BASIC; REGISTER and PUBLISH QoS 0/1/2 on aliases and
 * full names; PUBWOS; SUBSCRIBE and deliveries; PINGREQ; SLEEPREQ / wake; DISCONNECT with a reason
 * code; retransmissions and wrong answers. The gateway core does not speak 2.0 yet: these pin the
 * node to the draft so that the two meet there.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import type { v2 } from '../../src/codec/index.js';
import { SimError, SimErrorCode } from '../../firmware-sim/errors.js';
import type { ConnectOptions, SimNode } from '../../firmware-sim/node.js';
import { until } from '../helpers/wait.js';
import { NodePool, withScriptedGateway } from './helpers.js';
import { codec2, ScriptedGateway, type Received } from './scripted-gateway.js';

type Gw = ScriptedGateway<v2.Packet>;

/** Answers the node's CONNECT with CONNACK 0x00 (echoing its Packet Identifier) and waits for `connect`. */
async function connect2(gw: Gw, node: SimNode, o: ConnectOptions = {}): Promise<Received<v2.ConnectPacket>> {
  const done = node.connect({ clientId: 'node-2', keepAlive: 600, ...o });
  const c = await gw.next('CONNECT');
  await gw.send(c, { type: 'CONNACK', sessionPresent: false, packetId: c.packet.packetId, reasonCode: 0 });
  await done;
  return c;
}

const rejected = (rc: number) => (e: unknown) => e instanceof SimError && e.code === SimErrorCode.REJECTED && e.returnCode === rc;

describe('SimNode --protocol 2 against a scripted 2.0 gateway (UDP 127.0.0.1)', { timeout: 60_000 }, () => {
  let gw: Gw;
  const pool = new NodePool();
  const node2 = (o: Parameters<NodePool['node']>[1] = {}): Promise<SimNode> => pool.node(gw.url, { protocol: '2', ...o });

  const suite = withScriptedGateway(() => ScriptedGateway.start('127.0.0.1', codec2), pool);
  before(() => {
    gw = suite.gw;
  });

  it('connects: one CONNECT with Clean Start, version 2, a Packet Identifier, CONNACK 0x00 -> active', async () => {
    const node = await node2();
    assert.equal(node.protocol, '2');
    const done = node.connect({ clientId: 'temp-01', keepAlive: 30 });
    const c = await gw.next('CONNECT');
    const { packetId, ...rest } = c.packet;
    assert.notEqual(packetId, 0);
    assert.deepEqual(rest, {
      type: 'CONNECT',
      cleanStart: true,
      allowNetworkAddressChanges: false,
      allowServerSuggestedValues: false,
      protocolVersion: 2,
      keepAlive: 30,
      maxPacketSize: 0,
      clientId: 'temp-01',
    });
    await gw.send(c, { type: 'CONNACK', sessionPresent: false, packetId, reasonCode: 0 });
    await done;
    assert.equal(node.state, 'active');
  });

  it('puts the will, the session expiry and MQTT-BASIC credentials inside CONNECT [3.1.3, 3.1.9, 4.11]', async () => {
    const node = await node2();
    const c = await connect2(gw, node, {
      clientId: 'door-7',
      cleanSession: false,
      will: { topic: 'site/door-7/status', payload: 'offline', qos: 1, retain: true },
      auth: { username: 'door', password: 's3cret' },
    });
    assert.equal(c.packet.cleanStart, false);
    // A session without Clean lasts as a 1.2 one does: until a clean CONNECT.
    assert.equal(c.packet.sessionExpiryInterval, 0xffffffff);
    assert.deepEqual(c.packet.will, { qos: 1, retain: true, payload: Buffer.from('offline'), topicType: 'name', topicName: 'site/door-7/status' });
    assert.equal(c.packet.auth?.method, 'MQTT-BASIC');
    assert.equal(c.packet.auth?.data.toString('hex'), '0004646f6f72' + '0006' + Buffer.from('s3cret').toString('hex'));
    await gw.expectNone(['CONNECT'], node);

    const again = await node2();
    const c2 = await connect2(gw, again, { clientId: 'door-8', sessionExpiry: 300 });
    assert.equal(c2.packet.cleanStart, true);
    assert.equal(c2.packet.sessionExpiryInterval, 300);
  });

  it('a wrong password: CONNACK 0x86 rejects with the Reason Code, and the node stays disconnected', async () => {
    const node = await node2();
    const done = node.connect({ clientId: 'x', keepAlive: 60, auth: { username: 'u', password: 'wrong' } });
    const c = await gw.next('CONNECT');
    await gw.send(c, { type: 'CONNACK', sessionPresent: false, packetId: c.packet.packetId, reasonCode: 0x86 });
    await assert.rejects(done, (e: unknown) => rejected(0x86)(e) && e instanceof SimError && e.message.includes('bad user name or password'));
    assert.equal(node.state, 'disconnected');
  });

  it('never retransmits a CONNECT (MQTT-SN-4.4.2-1), and takes no CONNACK with another Packet Identifier', async () => {
    const clock = new FakeClock();
    const node = await node2({ clock, retryMs: 1000, maxRetries: 3 });
    const done = node.connect({ clientId: 'lonely', keepAlive: 60 });
    const c = await gw.next('CONNECT');
    // A CONNACK for someone else's CONNECT is no answer: the node still waits.
    await gw.send(c, { type: 'CONNACK', sessionPresent: false, packetId: (c.packet.packetId % 0xffff) + 1, reasonCode: 0 });
    // Nor is a 1.2 CONNACK (03 05 00), which 2.0 cannot read.
    await gw.sendRaw(c.from, Buffer.from('030500', 'hex'));
    await gw.expectNone(['CONNECT'], node);
    assert.equal(node.state, 'connecting');
    clock.advance(1000);
    await assert.rejects(done, (e: unknown) => e instanceof SimError && e.code === SimErrorCode.TIMEOUT);
    assert.equal(node.state, 'disconnected');
    await gw.expectNone(['CONNECT'], node);
  });

  it('registers a name for a session alias and publishes QoS 0 on it, without a Packet Identifier', async () => {
    const node = await node2();
    await connect2(gw, node);
    const pub = node.publish({ topic: 'site/room1/t', payload: '{"t":21.4}', qos: 0 });
    const r = await gw.next('REGISTER');
    // MQTT-SN-3.4-1: a client's REGISTER asks for an alias and carries none.
    assert.equal(r.packet.topicAlias, undefined);
    assert.equal(r.packet.topicName, 'site/room1/t');
    await gw.send(r, { type: 'REGACK', topicType: 'session', packetId: r.packet.packetId, topicAlias: 9, reasonCode: 0 });
    const p = await gw.next('PUBLISH');
    assert.deepEqual(p.packet, { type: 'PUBLISH', dup: false, qos: 0, retain: false, payload: Buffer.from('{"t":21.4}'), topicType: 'session', topicAlias: 9 });
    await pub;
    assert.equal(node.topicIdOf('site/room1/t'), 9);
  });

  it('publishes on a full topic name without REGISTER, and on the alias once it holds one (MQTT-SN-4.7.2-1)', async () => {
    const node = await node2();
    await connect2(gw, node);
    const first = node.publish({ topicName: 'a/b', payload: 'hi', qos: 1 });
    const p = await gw.next('PUBLISH');
    assert.equal(p.packet.topicType, 'name');
    assert.equal(p.packet.topicType === 'name' && p.packet.topicName, 'a/b');
    await gw.send(p, { type: 'PUBACK', packetId: p.packet.packetId! });
    await first;
    await gw.expectNone(['REGISTER'], node);

    const reg = node.register('a/b');
    const r = await gw.next('REGISTER');
    await gw.send(r, { type: 'REGACK', topicType: 'session', packetId: r.packet.packetId, topicAlias: 4 });
    assert.equal(await reg, 4);
    const second = node.publish({ topicName: 'a/b', payload: 'hi', qos: 0 });
    const q = await gw.next('PUBLISH');
    assert.equal(q.packet.topicType === 'session' && q.packet.topicAlias, 4);
    await second;
  });

  it('a name the gateway has a predefined alias for (REGACK 0x1A) is published on that alias [4.7.2.2]', async () => {
    const node = await node2();
    await connect2(gw, node);
    const pub = node.publish({ topic: 'site/beacon', payload: 'b', qos: 0 });
    const r = await gw.next('REGISTER');
    await gw.send(r, { type: 'REGACK', topicType: 'predefined', packetId: r.packet.packetId, topicAlias: 1, reasonCode: 0x1a });
    const p = await gw.next('PUBLISH');
    assert.deepEqual([p.packet.topicType, p.packet.topicType === 'predefined' && p.packet.topicAlias], ['predefined', 1]);
    await pub;
  });

  it('retransmits a QoS 1 PUBLISH unchanged (DUP stays 0, MQTT-SN-3.6.2.2.3-1) and ignores a PUBACK of another id', async () => {
    const clock = new FakeClock();
    const node = await node2({ clock, retryMs: 1000 });
    await connect2(gw, node);
    const pub = node.publish({ predefinedId: 3, payload: 'x', qos: 1 });
    const first = await gw.next('PUBLISH');
    await gw.send(first, { type: 'PUBACK', packetId: (first.packet.packetId! % 0xffff) + 1 });
    clock.advance(999);
    await gw.expectNone(['PUBLISH'], node);
    clock.advance(1);
    const second = await gw.next('PUBLISH');
    assert.deepEqual(second.frame, first.frame);
    await gw.send(second, { type: 'PUBACK', packetId: first.packet.packetId! });
    const result = await pub;
    assert.equal(result.retransmissions, 1);
    assert.equal(result.latencyMs, 1000);
  });

  it('publishes QoS 2: PUBLISH (resent with DUP=1), PUBREC, PUBREL (repeated on a repeated PUBREC), PUBCOMP', async () => {
    const clock = new FakeClock();
    const node = await node2({ clock, retryMs: 1000 });
    await connect2(gw, node);
    const pub = node.publish({ predefinedId: 4, payload: 'on', qos: 2 });
    const p = await gw.next('PUBLISH');
    assert.equal(p.packet.dup, false);
    clock.advance(1000);
    const resent = await gw.next('PUBLISH');
    // MQTT-SN-4.3.4-4: a QoS 2 resend has DUP=1.
    assert.equal(resent.packet.dup, true);
    const id = p.packet.packetId!;
    await gw.send(p, { type: 'PUBREC', packetId: id });
    const rel = await gw.next('PUBREL');
    assert.equal(rel.packet.packetId, id);
    await gw.send(p, { type: 'PUBREC', packetId: id });
    await gw.next('PUBREL');
    await gw.send(p, { type: 'PUBCOMP', packetId: id });
    assert.equal((await pub).retransmissions, 1);
  });

  it('refusals: PUBREC 0x87 fails a QoS 2 publish; PUBACK 0xF0 on an alias registers the name again, once', async () => {
    const node = await node2();
    await connect2(gw, node);
    const q2 = node.publish({ predefinedId: 4, payload: 'x', qos: 2 });
    const p = await gw.next('PUBLISH');
    await gw.send(p, { type: 'PUBREC', packetId: p.packet.packetId!, reasonCode: 0x87 });
    await assert.rejects(q2, rejected(0x87));
    await gw.expectNone(['PUBREL'], node);

    const pub = node.publish({ topic: 'k/v', payload: '1', qos: 1 });
    const r1 = await gw.next('REGISTER');
    await gw.send(r1, { type: 'REGACK', topicType: 'session', packetId: r1.packet.packetId, topicAlias: 11 });
    const p1 = await gw.next('PUBLISH');
    await gw.send(p1, { type: 'PUBACK', packetId: p1.packet.packetId!, reasonCode: 0xf0 });
    const r2 = await gw.next('REGISTER');
    await gw.send(r2, { type: 'REGACK', topicType: 'session', packetId: r2.packet.packetId, topicAlias: 12 });
    const p2 = await gw.next('PUBLISH');
    assert.equal(p2.packet.topicType === 'session' && p2.packet.topicAlias, 12);
    await gw.send(p2, { type: 'PUBACK', packetId: p2.packet.packetId! });
    await pub;
  });

  it('QoS -1 is PUBWOS, sent without connecting, on a predefined alias or a full name [3.6.1]', async () => {
    const node = await node2();
    await node.publish({ predefinedId: 7, payload: 'hello', qos: -1 });
    await node.publish({ topicName: 'sensors/t', payload: '22.5', qos: -1, retain: true });
    const a = await gw.next('PUBWOS');
    const b = await gw.next('PUBWOS');
    assert.deepEqual(a.packet, { type: 'PUBWOS', retain: false, payload: Buffer.from('hello'), topicType: 'predefined', topicAlias: 7 });
    assert.deepEqual(b.packet, { type: 'PUBWOS', retain: true, payload: Buffer.from('22.5'), topicType: 'name', topicName: 'sensors/t' });
    await assert.rejects(node.publish({ shortName: 'ab', payload: 'x', qos: -1 }), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.BAD_ARGUMENT);
  });

  it('subscribes to a filter; takes deliveries on the SUBACK alias, a gateway REGISTER and a full name; refuses an unknown alias with 0xF0', async () => {
    const node = await node2();
    const c = await connect2(gw, node);
    const heard: Array<[string | undefined, string, number]> = [];
    node.on('message', (m) => heard.push([m.topic, m.payload.toString(), m.qos]));

    const sub = node.subscribe('site/room1/t', 1);
    const s = await gw.next('SUBSCRIBE');
    assert.deepEqual(s.packet, { type: 'SUBSCRIBE', noLocal: false, qos: 1, retainAsPublished: false, retainHandling: 0, packetId: s.packet.packetId, topicType: 'filter', topicFilter: 'site/room1/t' });
    await gw.send(c, { type: 'SUBACK', topicType: 'session', packetId: s.packet.packetId, topicAlias: 6, reasonCode: 1 });
    assert.deepEqual(await sub, { topicId: 6, grantedQos: 1 });

    const wild = node.subscribe('site/+/cmd', 2);
    const w = await gw.next('SUBSCRIBE');
    await gw.send(c, { type: 'SUBACK', topicType: 'predefined', packetId: w.packet.packetId, reasonCode: 2 });
    assert.deepEqual(await wild, { topicId: 0, grantedQos: 2 });

    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 70, payload: Buffer.from('21'), topicType: 'session', topicAlias: 6 });
    const ack = await gw.next('PUBACK');
    assert.deepEqual(ack.packet, { type: 'PUBACK', packetId: 70 });

    await gw.send(c, { type: 'REGISTER', packetId: 71, topicAlias: 8, topicName: 'site/hall/cmd' });
    const regack = await gw.next('REGACK');
    // MQTT-SN-3.5.4-1: the client's REGACK carries no alias.
    assert.deepEqual(regack.packet, { type: 'REGACK', topicType: 'session', packetId: 71 });
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 2, retain: false, packetId: 72, payload: Buffer.from('on'), topicType: 'session', topicAlias: 8 });
    await gw.next('PUBREC');
    await gw.send(c, { type: 'PUBREL', packetId: 72 });
    await gw.next('PUBCOMP');
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 0, retain: false, payload: Buffer.from('off'), topicType: 'name', topicName: 'site/door/cmd' });

    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 73, payload: Buffer.from('?'), topicType: 'session', topicAlias: 99 });
    const refused = await gw.next('PUBACK');
    assert.deepEqual(refused.packet, { type: 'PUBACK', packetId: 73, reasonCode: 0xf0 });

    await until(() => heard.length === 3, 5000, 'three deliveries');
    assert.deepEqual(heard, [
      ['site/room1/t', '21', 1],
      ['site/hall/cmd', 'on', 2],
      ['site/door/cmd', 'off', 0],
    ]);

    const unsub = node.unsubscribe('site/+/cmd');
    const u = await gw.next('UNSUBSCRIBE');
    await gw.send(c, { type: 'UNSUBACK', packetId: u.packet.packetId });
    await unsub;
    await assert.rejects(node.subscribe({ shortName: 'ab' }), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.BAD_ARGUMENT);
  });

  it('a refused SUBSCRIBE (SUBACK 0x8F) rejects with the Reason Code', async () => {
    const node = await node2();
    const c = await connect2(gw, node);
    const sub = node.subscribe('bad/#/filter', 0);
    const s = await gw.next('SUBSCRIBE');
    await gw.send(c, { type: 'SUBACK', topicType: 'predefined', packetId: s.packet.packetId, reasonCode: 0x8f });
    await assert.rejects(sub, rejected(0x8f));
  });

  it('pings with a Packet Identifier and takes only the PINGRESP that carries it [3.11, 3.12]', async () => {
    const clock = new FakeClock();
    const node = await node2({ clock, retryMs: 1000 });
    const c = await connect2(gw, node);
    const ping = node.ping();
    const p = await gw.next('PINGREQ');
    await gw.send(c, { type: 'PINGRESP', packetId: (p.packet.packetId % 0xffff) + 1 });
    await gw.expectNone(['PINGREQ'], node);
    clock.advance(1000);
    const again = await gw.next('PINGREQ');
    assert.deepEqual(again.frame, p.frame);
    await gw.send(c, { type: 'PINGRESP', packetId: p.packet.packetId });
    assert.equal(await ping, 1000);
  });

  it('loses the gateway after N_RETRY unanswered PINGREQs (MQTT-SN-3.1.6-3) and reconnects with a new CONNECT, subscriptions and credentials included', async () => {
    const clock = new FakeClock();
    const node = await node2({ clock, retryMs: 1000, maxRetries: 2, reconnect: { initialDelayMs: 500, maxDelayMs: 500 }, random: () => 0.999 });
    const events: string[] = [];
    node.on('lost', (e) => events.push(`lost:${e.code}`));
    node.on('reconnected', () => events.push('reconnected'));
    const first = await connect2(gw, node, { clientId: 'fragile', keepAlive: 5, auth: { username: 'f', password: 'p' } });
    const sub = node.subscribe('cmd/fragile', 1);
    const s = await gw.next('SUBSCRIBE');
    await gw.send(s, { type: 'SUBACK', topicType: 'session', packetId: s.packet.packetId, topicAlias: 3, reasonCode: 1 });
    await sub;
    clock.advance(5000);
    const ping = await gw.next('PINGREQ');
    clock.advance(1000);
    // Retransmitted unchanged, Packet Identifier included [4.4.2].
    assert.deepEqual((await gw.next('PINGREQ')).frame, ping.frame);
    clock.advance(1000);
    await gw.next('PINGREQ');
    clock.advance(1000);
    await until(() => node.state === 'lost', 5000, 'the gateway to be lost');
    assert.deepEqual(events, ['lost:SIM_ERR_TIMEOUT']);
    clock.advance(500);
    const c = await gw.next('CONNECT');
    assert.equal(c.packet.clientId, 'fragile');
    assert.deepEqual(c.packet.auth, first.packet.auth);
    assert.notEqual(c.packet.packetId, first.packet.packetId);
    await gw.send(c, { type: 'CONNACK', sessionPresent: false, packetId: c.packet.packetId, reasonCode: 0 });
    const s2 = await gw.next('SUBSCRIBE');
    assert.equal(s2.packet.topicType === 'filter' && s2.packet.topicFilter, 'cmd/fragile');
    await gw.send(s2, { type: 'SUBACK', topicType: 'session', packetId: s2.packet.packetId, topicAlias: 3, reasonCode: 1 });
    await until(() => events.length === 2, 5000, 'the reconnection to finish');
    assert.equal(node.state, 'active');
  });

  it('sleeps with SLEEPREQ, wakes with PINGREQ, takes the flush and is asleep again at PINGRESP [4.14.2]', async () => {
    const node = await node2();
    const c = await connect2(gw, node, { clientId: 'sleepy-3', cleanSession: false });
    const sleeping = node.sleep(120);
    const s = await gw.next('SLEEPREQ');
    assert.deepEqual(s.packet, { type: 'SLEEPREQ', retainTopicAliases: true, packetId: s.packet.packetId, sleepDuration: 120 });
    await gw.send(c, { type: 'SLEEPRESP', packetId: s.packet.packetId });
    await sleeping;
    assert.equal(node.state, 'asleep');

    let hinted = false;
    node.on('wakeup', () => (hinted = true));
    await gw.send(c, { type: 'WAKEUP' });
    await until(() => hinted, 5000, 'the WAKEUP hint');
    assert.equal(node.state, 'asleep');

    const woke = node.wake();
    const ping = await gw.next('PINGREQ');
    assert.equal(node.state, 'awake');
    await gw.send(c, { type: 'REGISTER', packetId: 1, topicAlias: 4, topicName: 'cmd/sleepy-3' });
    await gw.next('REGACK');
    await gw.send(c, { type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 2, topicType: 'session', topicAlias: 4, payload: Buffer.from('{"interval":30}') });
    await gw.next('PUBACK');
    await gw.send(c, { type: 'PINGRESP', packetId: ping.packet.packetId, appMessagesRemaining: 0 });
    const msgs = await woke;
    assert.deepEqual(msgs.map((m) => [m.topic, m.payload.toString()]), [['cmd/sleepy-3', '{"interval":30}']]);
    assert.equal(node.state, 'asleep');

    // Back to active with CONNECT (MQTT-SN-4.14-4).
    await connect2(gw, node, { clientId: 'sleepy-3', cleanSession: false });
    assert.equal(node.state, 'active');
  });

  it('a refused SLEEPREQ (SLEEPRESP 0x91) rejects and leaves the node active', async () => {
    const node = await node2();
    const c = await connect2(gw, node);
    const sleeping = node.sleep(30);
    const s = await gw.next('SLEEPREQ');
    await gw.send(c, { type: 'SLEEPRESP', packetId: s.packet.packetId, reasonCode: 0x91 });
    await assert.rejects(sleeping, rejected(0x91));
    assert.equal(node.state, 'active');
  });

  it('disconnects with a Reason Code and waits for no answer [3.13]; a gateway DISCONNECT loses the gateway', async () => {
    const node = await node2();
    await connect2(gw, node);
    await node.disconnect({ withWill: true });
    const d = await gw.next('DISCONNECT');
    assert.deepEqual(d.packet, { type: 'DISCONNECT', reasonCode: 0x04 });
    assert.equal(node.state, 'disconnected');

    const other = await node2();
    await connect2(gw, other);
    await other.disconnect();
    assert.deepEqual((await gw.next('DISCONNECT')).packet, { type: 'DISCONNECT' });

    const third = await node2();
    const c = await connect2(gw, third);
    const lost = new Promise<SimError>((resolve) => third.on('lost', resolve));
    await gw.send(c, { type: 'DISCONNECT', reasonCode: 0x8b, reasonString: 'shutting down' });
    assert.equal((await lost).code, SimErrorCode.GATEWAY_LOST);
    assert.equal(third.state, 'lost');
  });

  it('has no will update in 2.0: updateWill rejects before sending anything', async () => {
    const node = await node2();
    await connect2(gw, node);
    await assert.rejects(node.updateWill({ topic: 'x', payload: 'y' }), (e: unknown) => e instanceof SimError && e.code === SimErrorCode.BAD_ARGUMENT);
    await gw.expectNone(['CONNECT', 'REGISTER', 'PUBLISH'], node);
  });
});
