/**
 * Issue #19: a broker core that cannot keep up (a slow local subscriber) must not make the gateway
 * grow without bound. Past MAX_PUBLISH_BACKLOG unsettled publishes, QoS 0 is shed and counted;
 * QoS 1 is not. The end-to-end twin with the real broker core and a subscriber that stops reading
 * is test/integration/overload.e2e.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brokerUplink } from '../../src/broker/uplink.js';
import { defaultConfig } from '../../src/config/index.js';
import { MAX_PUBLISH_BACKLOG } from '../../src/gateway/gateway.js';
import { createMetricsRegistry } from '../../src/observability/metrics.js';
import type { Uplink } from '../../src/uplink/port.js';
import { parseMetrics, valueOf } from '../observability/helpers.js';
import { Harness, MemoryBroker, recordingLogger, settle } from './harness.js';

/** An uplink whose publishes settle only when the test says so: a broker core that is behind. */
function stalledUplink(): { uplink: Uplink; taken: string[]; release: () => void } {
  const waiting: Array<() => void> = [];
  const taken: string[] = [];
  const uplink: Uplink = {
    ...brokerUplink(new MemoryBroker()),
    publish: (_clientId, msg) =>
      new Promise<void>((resolve) => {
        taken.push(msg.payload.toString());
        waiting.push(resolve);
      }),
  };
  return { uplink, taken, release: () => waiting.splice(0).forEach((r) => r()) };
}

/**
 * One client floods here, so its per-peer publish rate limit (a separate guard, tested in
 * rate-limit.test.ts) is lifted; the backlog bound is the default, the one under test.
 */
const flood = { limits: { ...defaultConfig().limits, rate: { ...defaultConfig().limits.rate, publishPerPeer: { perSecond: 1e6, burst: 1e6 } } } };

describe('gateway: publishes into a broker core that is behind', () => {
  it('sheds QoS 0 beyond the backlog bound, counts it, and takes QoS 0 again once the backlog settles', async () => {
    const { logger, lines } = recordingLogger();
    const stalled = stalledUplink();
    const h = await new Harness(flood, undefined, logger, stalled.uplink).start();
    const c = h.client('a');
    await c.connect('sensor');
    const id = await c.register('t');
    const over = 25;
    for (let n = 0; n < MAX_PUBLISH_BACKLOG + over; n++) {
      c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: id, payload: Buffer.from(String(n)) });
    }
    await settle();
    assert.equal(stalled.taken.length, MAX_PUBLISH_BACKLOG, 'the uplink was handed no more than the bound');
    assert.equal(stalled.taken.at(-1), String(MAX_PUBLISH_BACKLOG - 1), 'the first ones are kept, the newest shed');
    assert.equal(h.gateway.stats.dropped.overloaded, over);
    assert.equal(h.gateway.publishBacklog, MAX_PUBLISH_BACKLOG);
    const { samples } = parseMetrics(await createMetricsRegistry({ gateway: h.gateway, transports: [] }).metrics());
    assert.equal(valueOf(samples, 'mqttsn_dropped_total', { reason: 'overloaded' }), over);
    assert.ok(lines.some((l) => l.level === 'warn' && l.obj.reason === 'overloaded'), 'the shedding is logged as a warning');
    assert.deepEqual(c.take(), [], 'QoS 0 has no answer to shed, and the session stays');

    stalled.release();
    await settle();
    assert.equal(h.gateway.publishBacklog, 0);
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: id, payload: Buffer.from('after') });
    await settle();
    assert.equal(stalled.taken.at(-1), 'after');
    assert.equal(h.gateway.stats.dropped.overloaded, over, 'nothing more shed');
  });

  it('does not shed QoS 1 (the client holds one in flight and retries): it waits for the broker core', async () => {
    const stalled = stalledUplink();
    const h = await new Harness(flood, undefined, undefined, stalled.uplink).start();
    const q0 = h.client('a');
    await q0.connect('flooder');
    const id0 = await q0.register('t');
    for (let n = 0; n < MAX_PUBLISH_BACKLOG; n++) {
      q0.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: id0, payload: Buffer.from('x') });
    }
    const q1 = h.client('b');
    await q1.connect('careful');
    const id1 = await q1.register('t');
    q1.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 9, topicIdType: 'normal', topicId: id1, payload: Buffer.from('keep') });
    await settle();
    assert.equal(stalled.taken.at(-1), 'keep', 'QoS 1 is handed on over the bound');
    assert.equal(h.gateway.stats.dropped.overloaded, undefined);
    stalled.release();
    await settle();
    await settle();
    const ack = q1.one('PUBACK');
    assert.equal(ack.returnCode, 0);
  });
});
