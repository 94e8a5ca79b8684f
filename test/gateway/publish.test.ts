/** Publishing in both directions (MQTT-SN.md §4.5-4.8, §4.10, §4.13). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';

describe('gateway: client -> gateway PUBLISH', () => {
  it('gives the same id for the same topic name again', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const id1 = await c.register('sensors/temp', 1);
    const id2 = await c.register('sensors/temp', 2);
    const id3 = await c.register('sensors/hum', 3);
    assert.equal(id1, id2);
    assert.notEqual(id1, id3);
  });

  it('never assigns an id that a predefined topic uses', async () => {
    const h = await harness({ predefinedTopics: { '1': 'boot', '2': 'alarm' } });
    const c = h.client('a');
    await c.connect('a');
    const id = await c.register('sensors/temp');
    assert.ok(id !== 1 && id !== 2 && id !== 0 && id !== 0xffff);
  });

  it('publishes QoS 0 and QoS 1 into the broker core; QoS 1 gets PUBACK', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const id = await c.register('sensors/temp');
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: id, payload: Buffer.from('21.5') });
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: true, msgId: 7, topicIdType: 'normal', topicId: id, payload: Buffer.from('21.6') });
    await settle();
    const ack = c.one('PUBACK');
    assert.deepEqual([ack.topicId, ack.msgId, ack.returnCode], [id, 7, 0]);
    assert.deepEqual(h.broker.on('sensors/temp'), ['21.5', '21.6']);
    assert.equal(h.broker.published[1]?.retain, true);
    assert.equal(h.broker.published[1]?.qos, 1);
  });

  it('delivers a QoS 2 PUBLISH exactly once even when the client repeats it', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const id = await c.register('door');
    const pub = { type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 4, topicIdType: 'normal', topicId: id, payload: Buffer.from('open') } as const;
    c.send(pub);
    await settle();
    assert.equal(c.one('PUBREC').msgId, 4);
    c.send({ ...pub, dup: true }); // our PUBREC was lost
    await settle();
    assert.equal(c.one('PUBREC').msgId, 4);
    c.send({ type: 'PUBREL', msgId: 4 });
    assert.equal(c.one('PUBCOMP').msgId, 4);
    assert.deepEqual(h.broker.on('door'), ['open']);
    c.send({ type: 'PUBREL', msgId: 4 }); // PUBREL for an id already released still gets PUBCOMP
    c.one('PUBCOMP');
    c.send({ ...pub, payload: Buffer.from('closed') }); // the id is free again: a new message
    await settle();
    c.one('PUBREC');
    assert.deepEqual(h.broker.on('door'), ['open', 'closed']);
  });

  it('answers PUBACK 0x02 for an unknown topic id, at QoS 0 too', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    c.sendRaw('0b0c000007000032312e35'); // QoS 0 on normal id 7, never registered
    const ack = c.one('PUBACK');
    assert.deepEqual([ack.topicId, ack.msgId, ack.returnCode], [7, 0, 2]);
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 3, topicIdType: 'predefined', topicId: 99, payload: Buffer.alloc(0) });
    const ack2 = c.one('PUBACK');
    assert.deepEqual([ack2.topicId, ack2.msgId, ack2.returnCode], [99, 3, 2]);
    assert.equal(h.broker.published.length, 0);
  });

  it('takes predefined and short topics without REGISTER', async () => {
    const h = await harness({ predefinedTopics: { '16': 'sensors/boot' } });
    const c = h.client('a');
    await c.connect('a');
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1, topicIdType: 'predefined', topicId: 16, payload: Buffer.from('up') });
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'short', topicName: 't1', payload: Buffer.from('7') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('sensors/boot'), ['up']);
    assert.deepEqual(h.broker.on('t1'), ['7']);
  });

  it('answers a PUBLISH from an address with no session with DISCONNECT', async () => {
    const h = await harness();
    const c = h.client('stranger');
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1, topicIdType: 'short', topicName: 'ab', payload: Buffer.alloc(0) });
    c.one('DISCONNECT');
    assert.equal(h.broker.published.length, 0);
  });
});

describe('gateway: QoS -1', () => {
  it('accepts predefined and short topics from any address, without connection, and answers nothing', async () => {
    const h = await harness({ predefinedTopics: { '16': 'beacons/1' } });
    const c = h.client('never-connected');
    c.sendRaw('090c61001000003432'); // the vector: QoS -1, predefined 0x0010, '42'
    c.sendRaw('090c62616200006869'); // QoS -1, short 'ab', 'hi'
    await settle();
    c.nothing();
    assert.deepEqual(h.broker.on('beacons/1'), ['42']);
    assert.deepEqual(h.broker.on('ab'), ['hi']);
    assert.equal(h.broker.published[0]?.qos, 0);
  });

  it('drops an unknown predefined id silently', async () => {
    const h = await harness();
    const c = h.client('x');
    c.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'predefined', topicId: 5, payload: Buffer.from('x') });
    await settle();
    c.nothing();
    assert.equal(h.broker.published.length, 0);
    assert.equal(h.gateway.stats.dropped.qosMinusOneRejected, 1);
  });

  it("accepts Paho's inline-name extension only when configured", async () => {
    const off = await harness();
    off.client('x').sendRaw('0f0c6000030000612f6268656c6c6f');
    await settle();
    assert.equal(off.broker.published.length, 0);
    const on = await harness({ qosMinusOne: { inlineTopicNames: true } });
    on.client('x').sendRaw('0f0c6000030000612f6268656c6c6f');
    await settle();
    assert.deepEqual(on.broker.on('a/b'), ['hello']);
  });

  it('does not disturb the session of a connected sender', async () => {
    const h = await harness({ predefinedTopics: { '16': 'beacons/1' } });
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('cmd', 1);
    c.sendRaw('090c61001000003432');
    await settle();
    c.nothing();
    await h.publishFromBroker('cmd', 'go', 1);
    assert.equal(c.one('PUBLISH').payload.toString(), 'go');
  });
});

describe('gateway: gateway -> client PUBLISH', () => {
  it('retransmits a QoS 1 PUBLISH with DUP after T_RETRY and loses the client after N_RETRY', async () => {
    const h = await harness({ timers: { retryMs: 10_000, maxRetries: 3 } });
    const c = h.client('a');
    await c.connect('a', { keepAlive: 0 });
    await c.subscribe('cmd', 1);
    await h.publishFromBroker('cmd', 'go', 1);
    const first = c.one('PUBLISH');
    assert.equal(first.dup, false);
    assert.equal(first.qos, 1);
    for (let i = 0; i < 3; i++) {
      await h.advance(10_000);
      const again = c.one('PUBLISH');
      assert.equal(again.dup, true);
      assert.equal(again.msgId, first.msgId);
    }
    await h.advance(10_000);
    c.nothing();
    assert.equal(h.gateway.sessions.has('a'), false, 'a clean session is gone once lost');
  });

  it('runs the QoS 2 flow toward the client: PUBREC -> PUBREL -> PUBCOMP, PUBREL retried', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const sub = await c.subscribe('cmd', 2);
    await h.publishFromBroker('cmd', 'go', 2);
    const pub = c.one('PUBLISH');
    assert.deepEqual([pub.qos, pub.topicIdType === 'normal' && pub.topicId], [2, sub.topicId]);
    c.send({ type: 'PUBREC', msgId: pub.msgId });
    assert.equal(c.one('PUBREL').msgId, pub.msgId);
    await h.advance(10_000);
    assert.equal(c.one('PUBREL').msgId, pub.msgId);
    c.send({ type: 'PUBCOMP', msgId: pub.msgId });
    await h.publishFromBroker('cmd', 'next', 2);
    assert.equal(c.one('PUBLISH').payload.toString(), 'next');
  });

  it('keeps one message in flight per client and queues the rest, in order', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('cmd', 1);
    for (const p of ['1', '2', '3']) await h.publishFromBroker('cmd', p, 1);
    for (const p of ['1', '2', '3']) {
      const pub = c.one('PUBLISH');
      assert.equal(pub.payload.toString(), p);
      c.send({ type: 'PUBACK', topicId: pub.topicIdType === 'normal' ? pub.topicId : 0, msgId: pub.msgId, returnCode: 0 });
    }
    c.nothing();
  });

  it('delivers at the lower of the message QoS and the granted QoS', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('cmd', 0);
    await h.publishFromBroker('cmd', 'x', 2);
    assert.equal(c.one('PUBLISH').qos, 0);
  });

  it('silently skips a message that does not fit the medium', async () => {
    const h = await harness();
    h.transport.maxFrameSize = 64;
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('cmd', 0);
    await h.publishFromBroker('cmd', 'x'.repeat(100));
    c.nothing();
    assert.equal(h.gateway.stats.dropped.tooLarge, 1);
    await h.publishFromBroker('cmd', 'small');
    assert.equal(c.one('PUBLISH').payload.toString(), 'small');
  });
});
