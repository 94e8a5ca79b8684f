/**
 * The gateway rules behind issue #17 (clients written by others), on the fake clock with the
 * default timers and limits. test/interop/ replays the same clients' bytes over real UDP.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsRegistry } from '../../src/observability/metrics.js';
import { parseMetrics, valueOf } from '../observability/helpers.js';
import { harness, recordingLogger, settle } from './harness.js';

describe('gateway: what clients written by others need', () => {
  it('a REGISTER never answered drops that message and the topic, not the session (default timers)', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, undefined, logger);
    const c = h.client('emcute');
    await c.connect('emcute', { keepAlive: 0 });
    await c.subscribe('s/#', 1);
    await h.publishFromBroker('s/a', '1', 1);
    const reg = c.one('REGISTER');
    // T_RETRY 10 s, N_RETRY 3: the first try and three retransmissions, then nothing more.
    for (let i = 0; i < 3; i++) {
      await h.advance(10_000);
      assert.equal(c.one('REGISTER').msgId, reg.msgId);
    }
    await h.advance(10_000);
    c.nothing();
    const s = h.gateway.sessions.get('emcute');
    assert.equal(s?.state, 'active', 'the session is kept');
    assert.equal(h.gateway.stats.dropped.registerUnanswered, 1);
    assert.equal(h.gateway.stats.dropped.retriesExhausted, undefined);
    const line = lines.find((l) => l.obj.reason === 'registerUnanswered');
    assert.equal(line?.level, 'info');
    assert.equal(line.obj.topic, 's/a');

    await h.publishFromBroker('s/a', '2', 1); // refused for this client, as after REGACK 0x03
    c.nothing();
    await h.publishFromBroker('s/b', '3', 1); // other topics go on
    const reg2 = c.one('REGISTER');
    assert.equal(reg2.topicName, 's/b');
    c.send({ type: 'REGACK', topicId: reg2.topicId, msgId: reg2.msgId, returnCode: 0 });
    assert.equal(c.one('PUBLISH').payload.toString(), '3');
  });

  it('an unanswered PUBLISH still loses the client', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a', { keepAlive: 0 });
    await c.subscribe('t', 1);
    await h.publishFromBroker('t', '1', 1);
    c.one('PUBLISH');
    for (let i = 0; i < 4; i++) await h.advance(10_000);
    assert.equal(h.gateway.stats.dropped.retriesExhausted, 1);
    assert.equal(h.gateway.sessions.has('a'), false, 'a clean session ends when lost');
  });

  it('PUBACK 0x03 to a DUP copy is counted by return code and logged', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, undefined, logger);
    const c = h.client('a');
    await c.connect('a', { keepAlive: 0 });
    const sub = await c.subscribe('cmd', 1);
    await h.publishFromBroker('cmd', 'on', 1);
    c.one('PUBLISH'); // this copy is lost on the radio
    await h.advance(10_000);
    const dup = c.one('PUBLISH');
    assert.equal(dup.dup, true);
    c.send({ type: 'PUBACK', topicId: sub.topicId, msgId: dup.msgId, returnCode: 3 });
    assert.deepEqual(h.gateway.stats.clientRefusals.PUBACK, { '0x03': 1 });
    assert.equal(h.gateway.stats.dropped.clientRefused, 1);
    assert.equal(h.gateway.stats.dropped.invalidTopic, undefined, 'not mistaken for an unknown topic id');
    const line = lines.find((l) => l.obj.reason === 'clientRefused');
    assert.deepEqual([line?.level, line?.obj.dup, line?.obj.returnCode], ['info', true, 3]);
    await h.advance(10_000);
    c.nothing(); // settled: not sent a third time
    const { samples } = parseMetrics(await createMetricsRegistry({ gateway: h.gateway, transports: [] }).metrics());
    assert.equal(valueOf(samples, 'mqttsn_client_refusals_total', { message: 'PUBACK', return_code: '0x03' }), 1);
    assert.equal(valueOf(samples, 'mqttsn_dropped_total', { reason: 'clientRefused' }), 1);
  });

  it('a REGACK refusal is counted by return code', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    await c.subscribe('s/#', 0);
    await h.publishFromBroker('s/x', '1');
    const reg = c.one('REGISTER');
    c.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 2 });
    assert.deepEqual(h.gateway.stats.clientRefusals.REGACK, { '0x02': 1 });
  });

  it('drops from a connected client are logged at info, one line per interval with the count held back', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, undefined, logger);
    const c = h.client('a');
    await c.connect('a');
    for (let i = 0; i < 3; i++) c.sendRaw('090c28000100036f'); // truncated PUBLISH
    const first = lines.filter((l) => l.obj.reason === 'decode');
    assert.equal(first.length, 1);
    assert.deepEqual([first[0]!.level, first[0]!.obj.clientId, first[0]!.obj.suppressed], ['info', 'a', 0]);
    assert.equal(h.gateway.stats.dropped.decode, 3);
    await h.advance(10_000);
    c.sendRaw('090c28000100036f');
    const all = lines.filter((l) => l.obj.reason === 'decode');
    assert.equal(all.length, 2);
    assert.equal(all[1]!.obj.suppressed, 2, 'the two held back are reported');
  });

  it('the publisher gets its PUBACK before its own message', async () => {
    const h = await harness();
    const c = h.client('pub0sub1');
    await c.connect('pub0sub1');
    const sub = await c.subscribe('t/a', 1);
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 7, topicIdType: 'normal', topicId: sub.topicId, payload: Buffer.from('x') });
    await settle();
    await settle();
    const got = c.take();
    assert.deepEqual(got.map((p) => p.type), ['PUBACK', 'PUBLISH']);
  });

  it('the QoS 2 publisher gets its PUBREC before its own message', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const sub = await c.subscribe('t/a', 0);
    c.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 9, topicIdType: 'normal', topicId: sub.topicId, payload: Buffer.from('x') });
    await settle();
    await settle();
    assert.deepEqual(c.take().map((p) => p.type), ['PUBREC', 'PUBLISH']);
  });

  it('an empty client id with clean session gets one assigned; without clean session it is refused', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, undefined, logger);
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: '' });
    await settle();
    assert.equal(c.one('CONNACK').returnCode, 0);
    const assigned = lines.find((l) => l.msg.includes('client id assigned'))?.obj.clientId;
    assert.ok(typeof assigned === 'string' && assigned.length > 0);
    assert.equal(h.gateway.sessions.get(assigned)?.state, 'active');
    const d = h.client('b');
    d.send({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: '' });
    await settle();
    assert.equal(d.one('CONNACK').returnCode, 3);
  });

  it('SUBSCRIBE at QoS -1 is granted QoS 0', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: -1, msgId: 4, topicIdType: 'normal', topicName: 't' });
    await settle();
    const ack = c.one('SUBACK');
    assert.deepEqual([ack.qos, ack.returnCode, ack.msgId], [0, 0, 4]);
    await h.publishFromBroker('t', 'v', 1);
    const pub = c.one('PUBLISH');
    assert.equal(pub.qos, 0);
  });

  it('MsgId 0 in REGISTER, SUBSCRIBE and UNSUBSCRIBE is echoed', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 0, topicName: 'r' });
    await settle();
    assert.deepEqual([c.one('REGACK').msgId], [0]);
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 0, topicIdType: 'normal', topicName: 's' });
    await settle();
    assert.equal(c.one('SUBACK').msgId, 0);
    c.send({ type: 'UNSUBSCRIBE', msgId: 0, topicIdType: 'normal', topicName: 's' });
    await settle();
    assert.equal(c.one('UNSUBACK').msgId, 0);
  });
});
