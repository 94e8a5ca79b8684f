/** SUBSCRIBE, REGISTER before PUBLISH, retained messages (MQTT-SN.md §4.6, §4.9). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';

describe('gateway: SUBSCRIBE and UNSUBSCRIBE', () => {
  it('gives a plain name its topic id in SUBACK and publishes on it without REGISTER', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const sub = await c.subscribe('sensors/temp', 1);
    assert.ok(sub.topicId > 0);
    assert.deepEqual([sub.qos, sub.returnCode], [1, 0]);
    await h.publishFromBroker('sensors/temp', '21', 1);
    const pub = c.one('PUBLISH');
    assert.equal(pub.topicIdType === 'normal' && pub.topicId, sub.topicId);
  });

  it('answers 0x0000 for a wildcard and REGISTERs each concrete topic before its PUBLISH', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const sub = await c.subscribe('sensors/+/temp', 1);
    assert.equal(sub.topicId, 0);
    await h.publishFromBroker('sensors/kitchen/temp', '21', 1);
    await h.publishFromBroker('sensors/kitchen/temp', '22', 1);
    const reg = c.one('REGISTER');
    assert.equal(reg.topicName, 'sensors/kitchen/temp');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p1 = c.one('PUBLISH');
    assert.equal(p1.topicIdType === 'normal' && p1.topicId, reg.topicId);
    c.send({ type: 'PUBACK', topicId: reg.topicId, msgId: p1.msgId, returnCode: 0 });
    const p2 = c.one('PUBLISH'); // the id is known now: no second REGISTER
    assert.equal(p2.payload.toString(), '22');
  });

  it('retransmits an unanswered REGISTER and never sends the PUBLISH before REGACK', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a', { keepAlive: 0 });
    await c.subscribe('s/#', 0);
    await h.publishFromBroker('s/x', '1');
    const reg = c.one('REGISTER');
    await h.advance(10_000);
    assert.equal(c.one('REGISTER').msgId, reg.msgId);
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    assert.equal(c.one('PUBLISH').payload.toString(), '1');
  });

  it('drops only that message when the client refuses a REGISTER', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('s/#', 0);
    await h.publishFromBroker('s/refused', '1');
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 3 });
    c.nothing();
    await h.publishFromBroker('s/refused', '2'); // treated as unsubscribed from that concrete topic
    c.nothing();
    await h.publishFromBroker('s/other', '3'); // the wildcard subscription itself stays
    const reg2 = c.one('REGISTER');
    assert.equal(reg2.topicName, 's/other');
  });

  it('re-REGISTERs a topic after the client answers PUBACK 0x02 to it', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const sub = await c.subscribe('cmd', 1);
    await h.publishFromBroker('cmd', '1', 1);
    const p = c.one('PUBLISH');
    c.send({ type: 'PUBACK', topicId: sub.topicId, msgId: p.msgId, returnCode: 2 });
    await h.publishFromBroker('cmd', '2', 1);
    const reg = c.one('REGISTER');
    assert.equal(reg.topicId, sub.topicId);
  });

  it('subscribes by predefined id (echoed) and by short name (0x0000); an unknown predefined id gets 0x02', async () => {
    const h = await harness({ predefinedTopics: { '16': 'alarm/fire' } });
    const c = h.client('a');
    await c.connect('a');
    c.sendRaw('07124100070010');
    const s1 = c.one('SUBACK');
    assert.deepEqual([s1.topicId, s1.returnCode, s1.qos], [16, 0, 2]);
    c.sendRaw('07122200086162');
    const s2 = c.one('SUBACK');
    assert.deepEqual([s2.topicId, s2.returnCode], [0, 0]);
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 9, topicIdType: 'predefined', topicId: 17 });
    const s3 = c.one('SUBACK');
    assert.deepEqual([s3.returnCode, s3.msgId], [2, 9]);
    await h.publishFromBroker('alarm/fire', 'yes', 2);
    const p1 = c.one('PUBLISH');
    assert.deepEqual([p1.topicIdType, p1.topicIdType === 'predefined' && p1.topicId], ['predefined', 16]);
    c.send({ type: 'PUBREC', msgId: p1.msgId });
    c.one('PUBREL');
    c.send({ type: 'PUBCOMP', msgId: p1.msgId });
    await h.publishFromBroker('ab', 'short');
    const p2 = c.one('PUBLISH');
    assert.deepEqual([p2.topicIdType, p2.topicIdType === 'short' && p2.topicName], ['short', 'ab']);
  });

  it('treats a repeated SUBSCRIBE as the same subscription', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const s1 = await c.subscribe('t', 1, 5);
    c.send({ type: 'SUBSCRIBE', dup: true, qos: 1, msgId: 5, topicIdType: 'normal', topicName: 't' });
    const s2 = c.one('SUBACK');
    assert.equal(s1.topicId, s2.topicId);
    await h.publishFromBroker('t', 'once', 0);
    assert.equal(c.take().filter((p) => p.type === 'PUBLISH').length, 1);
  });

  it('delivers one copy at the highest QoS when two subscriptions match', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('t/x', 0, 1);
    await c.subscribe('t/#', 1, 2);
    await h.publishFromBroker('t/x', 'm', 1);
    const got = c.take().filter((p) => p.type === 'PUBLISH');
    assert.equal(got.length, 1);
    assert.equal(got[0]!.type === 'PUBLISH' && got[0]!.qos, 1);
  });

  it('stops delivering after UNSUBSCRIBE and answers UNSUBACK for unknown filters too', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('t/+', 0);
    c.sendRaw('131400000a73656e736f72732f2b2f74656d70'); // never subscribed
    assert.equal(c.one('UNSUBACK').msgId, 10);
    c.send({ type: 'UNSUBSCRIBE', msgId: 11, topicIdType: 'normal', topicName: 't/+' });
    assert.equal(c.one('UNSUBACK').msgId, 11);
    await h.publishFromBroker('t/1', 'x');
    c.nothing();
  });

  it('refuses a SUBSCRIBE beyond the per-client limit with 0x01', async () => {
    const h = await harness({ limits: { maxSubscriptionsPerClient: 1 } });
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('a', 0, 1);
    const s = await c.subscribe('b', 0, 2);
    assert.equal(s.returnCode, 1);
  });

  it('refuses a REGISTER beyond the per-client registration limit with 0x01', async () => {
    const h = await harness({ limits: { maxRegistrationsPerClient: 2 } });
    const c = h.client('a');
    await c.connect('a');
    await c.register('t/1', 1);
    await c.register('t/2', 2);
    c.send({ type: 'REGISTER', topicId: 0, msgId: 3, topicName: 't/3' });
    assert.equal(c.one('REGACK').returnCode, 1);
    assert.equal(await c.register('t/1', 4) > 0, true, 'known names still resolve');
  });

  it('delivers retained messages after SUBACK, REGISTER first for wildcard matches', async () => {
    const h = await harness();
    await h.publishFromBroker('home/lamp', 'on', 1, true);
    await h.publishFromBroker('home/door', 'closed', 0, true);
    const c = h.client('a');
    await c.connect('a');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'home/#' });
    await settle();
    const [suback, reg] = c.take();
    assert.equal(suback?.type, 'SUBACK');
    assert.equal(reg?.type, 'REGISTER');
    if (reg?.type !== 'REGISTER') return;
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const pub = c.one('PUBLISH');
    assert.equal(pub.retain, true);
    assert.equal(pub.topicIdType === 'normal' && pub.topicId, reg.topicId);
  });

  it('keeps subscriptions and topic ids over a clean-session-false reconnect', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    const id = await c.register('dev/temp');
    const sub = await c.subscribe('dev/cmd', 1);
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    await h.publishFromBroker('dev/cmd', 'while away', 1);
    c.send({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: 'dev' });
    await settle();
    // The queued message is delivered, after telling the client its id again (§4.3).
    const [ack, reg] = c.take();
    assert.equal(ack?.type === 'CONNACK' && ack.returnCode, 0);
    assert.ok(reg?.type === 'REGISTER');
    assert.equal(reg.topicId, sub.topicId);
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    assert.equal(c.one('PUBLISH').payload.toString(), 'while away');
    // Ids the client registered still resolve.
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 9, topicIdType: 'normal', topicId: id, payload: Buffer.from('1') });
    await settle();
    assert.equal(c.take().find((p) => p.type === 'PUBACK')?.type === 'PUBACK', true);
    assert.deepEqual(h.broker.on('dev/temp'), ['1']);
  });
});
