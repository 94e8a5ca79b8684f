/** Sleeping clients (MQTT-SN.md §4.12): buffer while asleep, flush on wake, PINGRESP last. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './harness.js';

describe('gateway: sleeping clients', () => {
  it('acknowledges DISCONNECT with duration, buffers, and flushes on PINGREQ(clientId) ending with PINGRESP', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('sensor-01');
    await c.subscribe('cmd/#', 1);
    c.sendRaw('04180258'); // sleep 600 s
    c.one('DISCONNECT');
    assert.equal(h.gateway.sessions.get('sensor-01')?.state, 'asleep');
    await h.publishFromBroker('cmd/led', 'on', 1);
    await h.publishFromBroker('cmd/led', 'off', 0);
    c.nothing();

    c.sendRaw('0b1673656e736f722d3031'); // wake: PINGREQ with client id
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const p1 = c.one('PUBLISH');
    assert.equal(p1.payload.toString(), 'on');
    c.send({ type: 'PUBACK', topicId: reg.topicId, msgId: p1.msgId, returnCode: 0 });
    const [p2, resp] = c.take();
    assert.equal(p2?.type === 'PUBLISH' && p2.payload.toString(), 'off');
    assert.equal(resp?.type, 'PINGRESP', 'PINGRESP comes only after every buffered message');
    assert.equal(h.gateway.sessions.get('sensor-01')?.state, 'asleep');
  });

  it('answers a wake with nothing buffered by PINGRESP at once', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('s');
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    c.send({ type: 'PINGREQ', clientId: 's' });
    c.one('PINGRESP');
  });

  it('lets a sleeper wake from a new address and moves the session there', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('s');
    await c.subscribe('x', 0);
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    await h.publishFromBroker('x', 'hello');
    const moved = h.client('b');
    moved.send({ type: 'PINGREQ', clientId: 's' });
    const [pub, resp] = moved.take();
    assert.equal(pub?.type === 'PUBLISH' && pub.payload.toString(), 'hello');
    assert.equal(resp?.type, 'PINGRESP');
    c.nothing();
  });

  it('keeps the newest messages when the sleep buffer is full, counting the dropped', async () => {
    const h = await harness({ limits: { sleepBufferMessages: 2 } });
    const c = h.client('a');
    await c.connect('s');
    await c.subscribe('x', 0);
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    for (const m of ['1', '2', '3']) await h.publishFromBroker('x', m);
    c.send({ type: 'PINGREQ', clientId: 's' });
    const got = c.take();
    assert.deepEqual(got.map((p) => (p.type === 'PUBLISH' ? p.payload.toString() : p.type)), ['2', '3', 'PINGRESP']);
    assert.equal(h.gateway.stats.dropped.sleepBufferFull, 1);
  });

  it('loses a sleeper silent past 1.5 x its duration and publishes its will', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connectWithWill('s', { topic: 's/lwt', message: 'dead' }, { cleanSession: false, keepAlive: 30 });
    c.send({ type: 'DISCONNECT', duration: 100 });
    c.one('DISCONNECT');
    await h.advance(149_000);
    c.send({ type: 'PINGREQ', clientId: 's' }); // a wake restarts the sleep timer
    c.one('PINGRESP');
    await h.advance(149_999);
    assert.deepEqual(h.broker.on('s/lwt'), []);
    await h.advance(2);
    assert.deepEqual(h.broker.on('s/lwt'), ['dead']);
    assert.equal(h.gateway.sessions.get('s')?.state, 'lost');
  });

  it('returns a sleeper to active on CONNECT and sends what was buffered', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('s', { cleanSession: false });
    await c.subscribe('x', 0);
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    await h.publishFromBroker('x', 'kept');
    c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 's' });
    const [ack, reg] = c.take();
    assert.equal(ack?.type, 'CONNACK');
    // §6.10: a CONNECT may follow a reboot that lost the topic table, so the id is told again first.
    assert.ok(reg?.type === 'REGISTER', `expected REGISTER, got ${reg?.type}`);
    assert.equal(reg.topicName, 'x');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const pub = c.one('PUBLISH');
    assert.equal(pub.topicIdType === 'normal' && pub.topicId, reg.topicId);
    assert.equal(pub.payload.toString(), 'kept');
  });

  it('moves a sleeper to disconnected on a plain DISCONNECT, without will', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('s', { cleanSession: false });
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    assert.equal(h.gateway.sessions.get('s')?.state, 'disconnected');
    await h.advance(1_000_000);
    assert.equal(h.gateway.stats.willsPublished, 0);
  });

  it('returns an unacknowledged message to the buffer when the client falls asleep mid-flight', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('s');
    await c.subscribe('x', 1);
    await h.publishFromBroker('x', 'important', 1);
    c.one('PUBLISH');
    c.send({ type: 'DISCONNECT', duration: 60 });
    c.one('DISCONNECT');
    c.send({ type: 'PINGREQ', clientId: 's' });
    const pub = c.one('PUBLISH');
    assert.equal(pub.payload.toString(), 'important');
  });
});
