/** `limits.maxBufferedBytesTotal` (issue 9): one cap on what all sleeping and absent clients hold together. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsRegistry } from '../../src/observability/metrics.js';
import { parseMetrics, valueOf } from '../observability/helpers.js';
import { harness, recordingLogger, type Harness, type TestClient } from './harness.js';

/** Every message below is topic `x` (1 byte) and a 9-byte payload: 10 bytes against the cap. */
const msg = (n: number): string => `message-${n}`;

async function sleeper(h: Harness, key: string, clientId: string): Promise<TestClient> {
  const c = h.client(key);
  await c.connect(clientId);
  await c.subscribe('x', 1);
  c.send({ type: 'DISCONNECT', duration: 600 });
  c.one('DISCONNECT');
  return c;
}

/** Wakes a sleeper and takes what it was holding, acknowledging each message. */
function wake(c: TestClient, clientId: string): string[] {
  c.send({ type: 'PINGREQ', clientId });
  const got: string[] = [];
  for (let i = 0; i < 100; i++) {
    const [p] = c.take();
    if (p === undefined || p.type === 'PINGRESP') return got;
    if (p.type === 'REGISTER') c.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
    else if (p.type === 'PUBLISH') {
      got.push(p.payload.toString());
      if (p.qos === 1) c.send({ type: 'PUBACK', topicId: 'topicId' in p ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
    } else assert.fail(`unexpected ${p.type}`);
  }
  return assert.fail('the wake did not end');
}

describe('gateway: limits.maxBufferedBytesTotal', () => {
  it('drops new messages for sleepers beyond the total, keeps what was buffered, and serves awake clients', async () => {
    const h = await harness({ limits: { maxBufferedBytesTotal: 30 } });
    const a = await sleeper(h, 'a', 'sleeper-a');
    const b = await sleeper(h, 'b', 'sleeper-b');
    const awake = h.client('c');
    await awake.connect('awake');
    await awake.subscribe('x', 0);
    for (let n = 1; n <= 4; n++) await h.publishFromBroker('x', msg(n), 1);
    // Fan-out order is a, b per message: a1 b1 a2 fill 30 bytes; everything after is refused.
    assert.equal(h.gateway.buffered.bytes, 30);
    const { samples } = parseMetrics(await createMetricsRegistry({ gateway: h.gateway, transports: [] }).metrics());
    assert.equal(valueOf(samples, 'mqttsn_queued_bytes'), 30);
    assert.equal(valueOf(samples, 'mqttsn_dropped_total', { reason: 'bufferedBytesFull' }), 5);
    assert.equal(h.gateway.stats.dropped.bufferedBytesFull, 5);
    assert.equal(h.gateway.stats.dropped.sleepBufferFull, undefined);
    const live = awake.take().map((p) => (p.type === 'PUBLISH' ? p.payload.toString() : p.type));
    assert.deepEqual(live.filter((x) => x !== 'REGISTER'), [msg(1), msg(2), msg(3), msg(4)], 'an awake client is not held to the cap');

    assert.deepEqual(wake(a, 'sleeper-a'), [msg(1), msg(2)]);
    assert.equal(h.gateway.buffered.bytes, 10, 'delivered messages give their bytes back');
    await h.publishFromBroker('x', msg(5), 1);
    assert.deepEqual(wake(b, 'sleeper-b'), [msg(1), msg(5)]);
    assert.equal(h.gateway.buffered.bytes, 10, 'a is asleep again and holds message 5');
    assert.deepEqual(wake(a, 'sleeper-a'), [msg(5)]);
    assert.equal(h.gateway.buffered.bytes, 0);
  });

  it('gives the bytes of a dropped session back', async () => {
    const h = await harness({ limits: { maxBufferedBytesTotal: 1000 } });
    await sleeper(h, 'a', 'gone');
    await h.publishFromBroker('x', msg(1), 1);
    assert.equal(h.gateway.buffered.bytes, 10);
    // Silent past 1.5 x its sleep: lost, and with clean session its session goes with its buffer.
    await h.advance(900_001);
    assert.equal(h.gateway.sessions.has('gone'), false);
    assert.equal(h.gateway.buffered.bytes, 0);
  });

  it('logs the refusal at most once per 10 s, with the number held back', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({ limits: { maxBufferedBytesTotal: 10 } }, undefined, logger);
    await sleeper(h, 'a', 's');
    for (let n = 1; n <= 6; n++) await h.publishFromBroker('x', msg(n), 1);
    const warned = (): typeof lines => lines.filter((l) => l.obj.reason === 'bufferedBytesFull');
    assert.equal(warned().length, 1);
    assert.equal(warned()[0]!.level, 'warn');
    await h.advance(10_000);
    await h.publishFromBroker('x', msg(7), 1);
    assert.equal(warned().length, 2);
    assert.equal(warned()[1]!.obj.suppressed, 4);
    assert.equal(h.gateway.stats.dropped.bufferedBytesFull, 6);
  });
});
