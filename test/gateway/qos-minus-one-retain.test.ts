/**
 * A QoS -1 PUBLISH (no connection, MQTT-SN 1.2 §6.8) sets a retained message only where
 * `auth.qosMinusOne.retain` allows it (#16 §2): by default anyone who can send one datagram could
 * otherwise decide what every later subscriber of a topic gets first.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';

const retainedShort = { type: 'PUBLISH', dup: false, qos: -1, retain: true, msgId: 0, topicIdType: 'short', topicName: 'ab', payload: Buffer.from('forged') } as const;

describe('gateway: retain on QoS -1', () => {
  it('by default publishes the message but retains nothing', async () => {
    const h = await harness();
    h.client('anyone').send(retainedShort);
    await settle();
    assert.deepEqual(h.broker.on('ab'), ['forged'], 'the message itself goes out');
    assert.equal(h.broker.published[0]?.retain, false);
    assert.deepEqual(await h.broker.retained('ab'), []);
  });

  it('retains it where auth.qosMinusOne.retain is on', async () => {
    const h = await harness({ auth: { qosMinusOne: { topics: 'all', shortTopics: true, retain: true } } });
    h.client('beacon').send(retainedShort);
    await settle();
    assert.deepEqual((await h.broker.retained('ab')).map((m) => m.payload.toString()), ['forged']);
  });

  it('a connected client keeps its retain flag at QoS 0 (the rule is for QoS -1 only)', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev');
    c.send({ ...retainedShort, qos: 0 });
    await settle();
    assert.deepEqual((await h.broker.retained('ab')).map((m) => m.payload.toString()), ['forged']);
  });
});
