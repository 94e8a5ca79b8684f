/**
 * Sessions across a restart, on the memory store (the SQLite store runs the same store
 * conformance suite, and the kill tests run the real process on a real file).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { harness, settle } from './harness.js';

describe('gateway: sessions survive a restart', () => {
  it('keeps a sleeper asleep with its buffer; its wake gets the messages, then PINGRESP', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('a');
    await c.connect('sleepy', { cleanSession: true });
    const sub = await c.subscribe('cmd', 1);
    c.send({ type: 'DISCONNECT', duration: 600 });
    c.one('DISCONNECT');
    await h.publishFromBroker('cmd', 'stored', 1);
    await h.restart();
    assert.equal(h.gateway.sessions.get('sleepy')?.state, 'asleep');
    c.send({ type: 'PINGREQ', clientId: 'sleepy' });
    // The client knew the id from SUBACK, but not in this gateway's life: it is told again.
    const reg = c.one('REGISTER');
    assert.equal(reg.topicId, sub.topicId);
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const pub = c.one('PUBLISH');
    assert.equal(pub.payload.toString(), 'stored');
    c.send({ type: 'PUBACK', topicId: reg.topicId, msgId: pub.msgId, returnCode: 0 });
    c.one('PINGRESP');
  });

  it('lets an active clean-session-false client go on without a new CONNECT', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    const id = await c.register('dev/temp');
    await c.subscribe('dev/cmd', 0);
    await h.restart();
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 5, topicIdType: 'normal', topicId: id, payload: Buffer.from('21') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('dev/temp'), ['21']);
    await h.publishFromBroker('dev/cmd', 'go');
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    assert.equal(c.one('PUBLISH').payload.toString(), 'go');
  });

  it('does not deliver a QoS 2 message twice when the client repeats it after the restart', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    const id = await c.register('dev/door');
    const pub = { type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 9, topicIdType: 'normal', topicId: id, payload: Buffer.from('open') } as const;
    c.send(pub);
    await settle();
    c.one('PUBREC');
    await h.restart();
    c.send({ ...pub, dup: true }); // our PUBREC was lost in the crash, say
    await settle();
    c.one('PUBREC');
    c.send({ type: 'PUBREL', msgId: 9 });
    c.one('PUBCOMP');
    assert.deepEqual(h.broker.on('dev/door'), ['open']);
  });

  it('sends an unacknowledged QoS 1 message again after the restart, same MsgId, DUP set', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    const sub = await c.subscribe('dev/cmd', 1);
    await h.publishFromBroker('dev/cmd', 'on', 1);
    const first = c.one('PUBLISH');
    await h.restart();
    // A new gateway life: the id is told again before the message goes out once more.
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const again = c.one('PUBLISH');
    assert.deepEqual([again.msgId, again.dup, again.payload.toString()], [first.msgId, true, 'on']);
    c.send({ type: 'PUBACK', topicId: sub.topicId, msgId: again.msgId, returnCode: 0 });
    await h.restart();
    c.nothing(); // acknowledged: gone from the store
  });

  it('continues a QoS 2 delivery with PUBREL when PUBREC had come before the restart', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    await c.subscribe('dev/cmd', 2);
    await h.publishFromBroker('dev/cmd', 'once', 2);
    const pub = c.one('PUBLISH');
    c.send({ type: 'PUBREC', msgId: pub.msgId });
    c.one('PUBREL');
    await h.restart();
    assert.equal(c.one('PUBREL').msgId, pub.msgId);
    c.send({ type: 'PUBCOMP', msgId: pub.msgId });
    await h.restart();
    c.nothing();
  });

  it('keeps nothing of a clean session that is not asleep', async () => {
    const store = new MemorySessionStore();
    const h = await harness({}, store);
    await h.client('a').connect('clean', { cleanSession: true });
    await h.client('b').connect('kept', { cleanSession: false });
    const state = await store.load();
    assert.deepEqual(state.sessions.map((s) => s.clientId), ['kept']);
  });

  it('acknowledges a QoS 1 PUBLISH only once the store says it is durable', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    class GatedStore extends MemorySessionStore {
      override flush(): Promise<void> {
        return gate;
      }
    }
    const h = await harness({}, new GatedStore());
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 3, topicIdType: 'short', topicName: 'ab', payload: Buffer.from('x') });
    await settle();
    c.nothing();
    release();
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
  });
});
