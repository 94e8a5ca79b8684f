/**
 * A fair share of `limits.maxBufferedBytesTotal` per client (#16 §2): sessions that subscribed to
 * a busy topic and never came back can fill the global budget, but not keep an honest sleeper's
 * command out of its buffer. Shipped defaults (64 MiB, 100 messages per sleeper).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/index.js';
import { harness, settle, type Harness, type TestClient } from './harness.js';

const { maxBufferedBytesTotal, sleepBufferMessages } = defaultConfig().limits;
const TOPIC = 'busy/feed';
/**
 * One payload object for every message (the budget counts it per queue, memory holds it once),
 * sized so that a message costs 64 KiB with its topic: the 64 MiB default fills to the byte.
 */
const big = Buffer.alloc(64 * 1024 - TOPIC.length, 0x61);
const COST = big.length + TOPIC.length;
/** Absent sessions whose buffers together pass the budget. */
const ABSENT = Math.floor(maxBufferedBytesTotal / (sleepBufferMessages * COST)) + 1;

async function parkAbsent(h: Harness, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = h.client(`absent-${i}`);
    await c.connect(`absent-${i}`, { cleanSession: false });
    await c.subscribe(TOPIC, 1);
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
  }
}

async function fillBusy(h: Harness): Promise<void> {
  // Bounded: sleepBufferMessages per absent session is all any of them keeps.
  for (let m = 0; m < sleepBufferMessages; m++) {
    await h.broker.publish({ topic: TOPIC, payload: big, qos: 1, retain: false }, 'mqtt');
    await settle();
  }
}

async function honestSleeper(h: Harness): Promise<TestClient> {
  const c = h.client('honest');
  await c.connect('valve', { cleanSession: false });
  await c.subscribe('cmd/valve', 1);
  c.send({ type: 'DISCONNECT', duration: 600 });
  c.one('DISCONNECT');
  return c;
}

describe('gateway: a fair share of limits.maxBufferedBytesTotal per client', () => {
  it("buffers an honest sleeper's command although absent sessions filled the budget, and delivers it on wake", async () => {
    const h = await harness();
    const sleeper = await honestSleeper(h);
    await parkAbsent(h, ABSENT);
    await fillBusy(h);
    assert.equal(maxBufferedBytesTotal % COST, 0);
    assert.equal(h.gateway.buffered.bytes, maxBufferedBytesTotal, 'the budget is full to the byte');
    assert.ok((h.gateway.stats.dropped.bufferedBytesFull ?? 0) > 0);

    await h.publishFromBroker('cmd/valve', 'close', 1);
    assert.ok(h.gateway.buffered.bytes <= maxBufferedBytesTotal);
    sleeper.send({ type: 'PINGREQ', clientId: 'valve' });
    // The id came with SUBACK in this connection's life: the PUBLISH comes without REGISTER.
    const pub = sleeper.one('PUBLISH');
    assert.equal(pub.payload.toString(), 'close');
  });

  it('clients at their share take nothing from each other: the next message of a busy topic is dropped for all', async () => {
    const h = await harness();
    await parkAbsent(h, ABSENT);
    await fillBusy(h);
    const held = (): number[] => [...h.gateway.sessions.values()].map((s) => s.queue.length);
    const before = held();
    // Everyone got the same within one message.
    assert.ok(Math.max(...before) - Math.min(...before) <= 1, `messages held: ${before.join(' ')}`);
    const dropped = h.gateway.stats.dropped.bufferedBytesFull ?? 0;
    await h.broker.publish({ topic: TOPIC, payload: big, qos: 1, retain: false }, 'mqtt');
    await settle();
    assert.deepEqual(held(), before);
    assert.equal(h.gateway.buffered.bytes, maxBufferedBytesTotal);
    assert.equal(h.gateway.stats.dropped.bufferedBytesFull, dropped + ABSENT);
  });
});
