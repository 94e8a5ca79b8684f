/** The load generator: bounded by duration and count, paced, each node its own peer. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from '../../firmware-sim/load.js';
import { MiniGateway } from './mini-gateway.js';

describe('runLoad', () => {
  let gw: MiniGateway;
  before(async () => {
    gw = await MiniGateway.start();
  });
  after(() => gw.close());

  it('drives many nodes, each a distinct peer, at the target rate for the duration', async () => {
    const r = await runLoad({ gateway: gw.url, nodes: 200, rate: 1000, durationMs: 600, qos: 1, connectRate: 2000 });
    assert.deepEqual(r.nodes, { requested: 200, connected: 200, failed: 0 });
    assert.equal(gw.sessions.size >= 200, true);
    assert.ok(new Set([...gw.byPeer.keys()]).size >= 200, 'every node has its own source port');
    assert.equal(r.acknowledged, r.sent);
    assert.equal(r.lost, 0);
    // Paced: about rate x duration, never a burst of everything at once.
    assert.ok(r.sent >= 200 && r.sent <= 700, `sent ${r.sent}`);
    assert.ok(r.latency.publish !== undefined && r.latency.publish.count === r.sent);
    assert.ok(r.memory.heapPerNodeBytes > 0);
  });

  it('stops at the message count', async () => {
    // A run long enough that ending at the count and ending at the duration cannot be confused,
    // whatever the machine's speed: 150 messages at 2000/s take well under a second.
    const r = await runLoad({ gateway: gw.url, nodes: 20, rate: 2000, durationMs: 120_000, maxMessages: 150, qos: 0, topic: 'short' });
    assert.equal(r.sent, 150);
    assert.ok(r.durationMs < 60_000, `took ${r.durationMs} ms: the run did not end at the message count`);
  });

  it('rejects QoS -1 on registered names', async () => {
    await assert.rejects(runLoad({ gateway: gw.url, nodes: 1, rate: 1, durationMs: 10, qos: -1, topic: 'register' }), { code: 'SIM_ERR_BAD_ARGUMENT' });
  });
});
