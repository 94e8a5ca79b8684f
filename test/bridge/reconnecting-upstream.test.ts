import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { BridgeErrorCode } from '../../src/bridge/errors.js';
import { ReconnectingUpstream, type ConnectionLoss } from '../../src/bridge/reconnecting-upstream.js';
import { zeroCounters } from '../../src/bridge/types.js';
import { FakeUpstream } from './fake-upstream.js';

/** The connection both bridge modes keep: unit tests of the shared part, on a fake clock and upstream. */
function setup(retries?: () => boolean) {
  const clock = new FakeClock();
  const upstream = new FakeUpstream();
  const counters = zeroCounters();
  const events = { connected: 0, messages: [] as string[], losses: [] as ConnectionLoss[] };
  const link = new ReconnectingUpstream({
    connector: upstream.connector,
    clock,
    random: () => 0,
    reconnect: { initialMs: 1000, maxMs: 8000 },
    profile: undefined,
    counters,
    connected: () => events.connected++,
    message: (msg, done) => {
      events.messages.push(msg.topic);
      done();
    },
    closed: (loss) => events.losses.push(loss),
    retries,
  });
  return { clock, upstream, counters, events, link };
}

describe('bridge: reconnecting upstream connection', () => {
  it('retries a lost connection after the backoff, and reports the loss classified', () => {
    const { clock, upstream, counters, events, link } = setup();
    link.start();
    upstream.last.accept();
    assert.equal(link.upstreamState(), 'connected');
    upstream.last.drop();
    assert.equal(events.losses.length, 1);
    const loss = events.losses[0]!;
    assert.equal(loss.established, true);
    assert.equal(loss.wasConnected, true);
    assert.equal(loss.error.code, BridgeErrorCode.LOST);
    // Equal jitter at random 0: half the first step.
    assert.equal(loss.retryInMs, 500);
    assert.equal(link.upstreamState(), 'reconnecting');
    assert.equal(counters.disconnects, 1);
    clock.advance(499);
    assert.equal(upstream.connections.length, 1);
    clock.advance(1);
    assert.equal(upstream.connections.length, 2);
    upstream.last.accept();
    assert.equal(link.attempts, 0);
    assert.equal(counters.connects, 2);
  });

  it('ignores the events of a connection that is no longer current', async () => {
    const { upstream, events, link } = setup();
    link.start();
    const first = upstream.last;
    first.accept();
    link.renew(() => undefined);
    assert.equal(first.ended, 'graceful');
    // The old connection's late close and message must not touch the new one.
    first.drop();
    assert.equal(events.losses.length, 0);
    let acked = false;
    await new Promise<void>((resolve) =>
      first.handlers.message({ topic: 'old', payload: Buffer.from('x'), qos: 1, retain: false }, () => {
        acked = true;
        resolve();
      }),
    );
    assert.equal(acked, true, 'a stale message is still acknowledged');
    assert.deepEqual(events.messages, []);
    upstream.last.accept();
    assert.equal(events.connected, 2);
  });

  it('stops after a failure the owner does not retry', () => {
    const { clock, upstream, events, link } = setup(() => false);
    link.start();
    upstream.last.fail(new Error('connect ECONNREFUSED'));
    assert.equal(events.losses[0]?.retryInMs, undefined);
    assert.equal(link.state, 'stopped');
    clock.advance(60_000);
    assert.equal(upstream.connections.length, 1);
  });
});
