/**
 * The aggregating bridge against a scripted upstream (no broker upstream), the real broker core
 * in process, and a fake clock: every rule about queueing, re-sending, backoff, loops and echoes,
 * in milliseconds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeErrorCode } from '../../src/bridge/errors.js';
import { SUSPECT_WINDOW_MS } from '../../src/bridge/poison.js';
import { BRIDGE_ORIGIN } from '../../src/bridge/types.js';
import { withFakeBridge, type FakeBridgeCtx } from './fake-bridge.js';

type Ctx = FakeBridgeCtx;

const withBridge = (upstream: Record<string, unknown>, fn: (ctx: Ctx) => Promise<void> | void, opts: { drainMs?: number } = {}): Promise<void> =>
  withFakeBridge({ url: 'mqtt://127.0.0.1:1', clientId: 'gw', topics: [{ pattern: '#', direction: 'both', qos: 2 }] }, upstream, fn, opts);

const refused = (rc: number): Error => Object.assign(new Error(`Connection refused: ${rc}`), { code: rc });

describe('aggregating bridge: gateway to upstream', () => {
  it('sends what the rules cover, renamed, at min(QoS), with the retain flag', () =>
    withBridge({ topics: [{ pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: 'l/', remotePrefix: 'site1/' }] }, async ({ fake, local }) => {
      fake.last.accept();
      await local('l/sensors/t', 'a', 0);
      await local('l/sensors/t', 'b', 2, true);
      await local('other/t', 'c', 1);
      await local('sensors/t', 'd', 1);
      assert.deepEqual(
        fake.last.published.map((p) => [p.msg.topic, p.msg.payload.toString(), p.msg.qos, p.msg.retain]),
        [
          ['site1/sensors/t', 'a', 0, false],
          ['site1/sensors/t', 'b', 1, true],
        ],
      );
    }));

  it('queues QoS 1 and 2 while not connected, drops QoS 0 (counted), then sends in order', () =>
    withBridge({}, async ({ fake, bridge, local }) => {
      assert.equal(bridge.status().state, 'connecting');
      await local('t', 'q1', 1);
      await local('t', 'q0', 0);
      await local('t', 'q2', 2);
      assert.equal(fake.last.published.length, 0);
      assert.equal(bridge.status().queue.messages, 2);
      assert.equal(bridge.status().counters.droppedOffline, 1);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['q1', 'q2']);
      fake.last.ack();
      const s = bridge.status();
      assert.equal(s.queue.messages, 0);
      assert.equal(s.counters.acked, 2);
      assert.equal(s.counters.sent, 2);
    }));

  it('keeps at most maxInflight unacknowledged, and sends on as acks come', () =>
    withBridge({ maxInflight: 2 }, async ({ fake, bridge, local }) => {
      fake.last.accept();
      for (const p of ['1', '2', '3', '4', '5']) await local('t', p, 1);
      assert.deepEqual(fake.last.payloads(), ['1', '2']);
      assert.equal(bridge.status().queue.inFlight, 2);
      fake.last.ack(1);
      assert.deepEqual(fake.last.payloads(), ['1', '2', '3']);
      fake.last.ack();
      fake.last.ack();
      assert.deepEqual(fake.last.payloads(), ['1', '2', '3', '4', '5']);
      fake.last.ack();
      assert.equal(bridge.status().queue.messages, 0);
    }));

  it('sends again, in order, what was unacknowledged when the connection dropped', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 1000 } }, async ({ fake, clock, bridge, local, logs }) => {
      fake.last.accept();
      for (const p of ['1', '2', '3', '4']) await local('t', p, 1);
      fake.last.ack(2);
      fake.last.drop();
      assert.equal(bridge.connected, false);
      assert.equal(bridge.status().state, 'reconnecting');
      await local('t', '5', 1);
      const lost = logs.find((l) => l.msg.startsWith('upstream connection lost'));
      assert.equal(lost?.obj.code, BridgeErrorCode.LOST);
      assert.equal(lost?.obj.unacked, 2);
      clock.advance(100);
      assert.equal(fake.connections.length, 2);
      fake.last.accept();
      // The close came right after sends: one at a time until '4', the last in flight then, is
      // through (a message the upstream closes the connection over is found that way), then the
      // full window again.
      assert.deepEqual(fake.last.payloads(), ['3']);
      fake.last.ack(1);
      assert.deepEqual(fake.last.payloads(), ['3', '4']);
      fake.last.ack(1);
      assert.deepEqual(fake.last.payloads(), ['3', '4', '5']);
      fake.last.ack();
      const s = bridge.status();
      assert.equal(s.queue.messages, 0);
      assert.deepEqual([s.counters.sent, s.counters.resent, s.counters.acked], [5, 2, 5]);
    }));

  it('ignores acknowledgements and failures of a connection it has left', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 100 } }, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      await local('t', '1', 1);
      const old = fake.last;
      old.drop();
      clock.advance(100);
      fake.last.accept();
      old.published[0]!.done?.(new Error('Connection closed'));
      old.ack();
      assert.equal(bridge.connected, true);
      assert.deepEqual(fake.last.payloads(), ['1'], 'still waiting for the new connection to acknowledge it');
      assert.equal(bridge.status().queue.messages, 1);
    }));

  it('sets aside, counts and logs a message the upstream closes the connection over each time it goes alone', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 100 } }, async ({ fake, clock, bridge, local, logs }) => {
      fake.last.accept();
      for (const p of ['ok-1', 'poison', 'ok-2']) await local('t', p, 1);
      fake.last.ack(1);
      fake.last.drop(); // right after 'poison' and 'ok-2' went out
      clock.advance(100);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['poison'], 'one at a time now');
      fake.last.drop(); // alone in flight: a first strike
      clock.advance(100);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['poison']);
      fake.last.drop(); // the second: set aside
      clock.advance(100);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['ok-2'], 'what was behind it goes');
      fake.last.ack();
      const s = bridge.status();
      assert.equal(s.counters.setAside, 1);
      assert.equal(s.queue.messages, 0);
      assert.equal(logs.find((l) => l.msg.startsWith('message set aside'))?.level, 'warn');
    }));

  it('sets nothing aside for a close long after the send, or one close followed by an ack', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 100 } }, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      await local('t', 'slow', 1);
      clock.advance(SUSPECT_WINDOW_MS + 1);
      fake.last.drop(); // no answer for a while, then the network went: not the message's doing
      clock.advance(100);
      fake.last.accept();
      await local('t', 'next', 1);
      assert.deepEqual(fake.last.payloads(), ['slow', 'next'], 'the full window: nothing suspected');
      fake.last.drop(); // right after the sends: probing
      clock.advance(100);
      fake.last.accept();
      fake.last.drop(); // 'slow' alone: one strike
      clock.advance(100);
      fake.last.accept();
      fake.last.ack(); // then taken: it was the network after all
      fake.last.ack();
      const s = bridge.status();
      assert.equal(s.counters.setAside, 0);
      assert.equal(s.queue.messages, 0);
      assert.equal(s.counters.acked, 2);
    }));

  it('treats a failed publish on a live connection as a lost connection', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 100 } }, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      await local('t', '1', 1);
      await local('t', '2', 1);
      fake.last.published[0]!.done?.(new Error('client disconnecting'));
      assert.equal(bridge.connected, false);
      assert.equal(fake.connections[0]!.ended, 'forced');
      clock.advance(100);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['1', '2']);
    }));

  it('drops the oldest when the queue is full, counts it and says so in the log', () =>
    withBridge({ queue: { maxMessages: 3 } }, async ({ fake, bridge, local, logs }) => {
      for (const p of ['1', '2', '3', '4', '5']) await local('t', p, 1);
      assert.equal(bridge.status().counters.droppedQueueFull, 2);
      const warn = logs.find((l) => l.msg.startsWith('upstream queue full'));
      assert.equal(warn?.level, 'warn');
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['3', '4', '5']);
    }));

  it('drops QoS 0 rather than piling it up behind a full socket', () =>
    withBridge({}, async ({ fake, bridge, local }) => {
      fake.last.accept();
      fake.last.writeBacklog = 64 * 1024 * 1024;
      await local('t', 'x', 0);
      await local('t', 'y', 1);
      assert.deepEqual(fake.last.payloads(), ['y'], 'QoS 1 still goes: its window bounds it');
      assert.equal(bridge.status().counters.droppedCongested, 1);
    }));

  it('covers $ topics through a subscription of their own, once each', () =>
    withBridge(
      {
        topics: [
          { pattern: '#', direction: 'out', localPrefix: '$app/', remotePrefix: 'app/' },
          { pattern: 'x/#', direction: 'out', localPrefix: '$app/', remotePrefix: 'never/' },
          { pattern: 'plain/#', direction: 'out' },
        ],
      },
      async ({ fake, local }) => {
        fake.last.accept();
        await local('$app/x/1', 'a', 1);
        await local('plain/1', 'b', 1);
        await local('$SYS/x', 'c', 1);
        assert.deepEqual(
          fake.last.published.map((p) => [p.msg.topic, p.msg.payload.toString()]),
          [
            ['app/x/1', 'a'],
            ['plain/1', 'b'],
          ],
        );
      },
    ));
});

describe('aggregating bridge: upstream to gateway', () => {
  it('subscribes to the inbound filters on every connection', () =>
    withBridge(
      {
        topics: [
          { pattern: 'cmd/#', direction: 'in', qos: 1, remotePrefix: 'site1/' },
          { pattern: 'up/#', direction: 'out' },
        ],
        reconnect: { initialMs: 10, maxMs: 10 },
      },
      ({ fake, clock }) => {
        fake.last.accept();
        assert.deepEqual(fake.last.subscriptions, [[{ filter: 'site1/cmd/#', qos: 1 }]]);
        fake.last.drop();
        clock.advance(10);
        fake.last.accept(true);
        assert.deepEqual(fake.last.subscriptions, [[{ filter: 'site1/cmd/#', qos: 1 }]]);
      },
    ));

  it('logs a refused subscription', () =>
    withBridge({ topics: [{ pattern: 'cmd/#', direction: 'in' }] }, async ({ fake, logs }) => {
      const c = fake.last;
      c.grant = () => 128;
      c.accept();
      await new Promise((r) => setImmediate(r));
      assert.ok(logs.some((l) => l.level === 'warn' && l.msg.includes('refused a subscription') && l.obj.filter === 'cmd/#'));
    }));

  it('publishes into the broker core, renamed, with retain kept and the bridge origin, and acknowledges after', () =>
    withBridge({ topics: [{ pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'local/', remotePrefix: 'site1/' }] }, async ({ fake, seen, bridge }) => {
      fake.last.accept();
      await fake.last.deliver('site1/cmd/lamp', 'on', 2, true);
      await fake.last.deliver('site1/other', 'x', 1);
      await fake.last.deliver('elsewhere/cmd/lamp', 'y', 1);
      assert.deepEqual(seen, [{ topic: 'local/cmd/lamp', payload: 'on', qos: 1, retain: true, origin: BRIDGE_ORIGIN }]);
      assert.equal(bridge.status().counters.received, 1);
    }));

  it('never sends a message that came down back up (no loop)', () =>
    withBridge({ topics: [{ pattern: '#', direction: 'both', qos: 2 }] }, async ({ fake, seen }) => {
      fake.last.accept();
      await fake.last.deliver('cmd/lamp', 'on', 1);
      await fake.last.deliver('cmd/lamp', 'off', 0);
      assert.equal(seen.length, 2);
      assert.equal(fake.last.published.length, 0);
    }));

  it('does not deliver its own messages a second time when the upstream echoes them', () =>
    withBridge({}, async ({ fake, seen, bridge, local }) => {
      fake.last.accept();
      await local('room/t', '21.5', 1);
      await local('room/t', '21.5', 0);
      assert.equal(fake.last.published.length, 2);
      // The broker sends both back: we are subscribed to '#'.
      await fake.last.deliver('room/t', '21.5', 1);
      await fake.last.deliver('room/t', '21.5', 0);
      // Someone else's message on the same topic is not an echo.
      await fake.last.deliver('room/t', '22.0', 1);
      assert.deepEqual(
        seen.map((m) => [m.payload, m.origin]),
        [
          ['21.5', 'mqttsn'],
          ['21.5', 'mqttsn'],
          ['22.0', BRIDGE_ORIGIN],
        ],
      );
      assert.equal(bridge.status().counters.echoes, 2);
    }));
});

describe('aggregating bridge: connection state', () => {
  it('retries with growing waits, and reports why', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 400 } }, ({ fake, clock, bridge, logs }) => {
      assert.equal(bridge.status().state, 'connecting');
      const waits: number[] = [];
      fake.last.fail(refused(4));
      for (let i = 0; i < 4; i++) {
        const s = bridge.status();
        assert.equal(s.state, 'reconnecting');
        assert.equal(s.attempts, i + 1);
        waits.push(s.nextAttemptInMs!);
        clock.advance(s.nextAttemptInMs!);
        assert.equal(bridge.status().nextAttemptInMs, undefined, 'an attempt is under way');
        fake.last.fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      }
      // random() = 0.999: the top of each step.
      assert.deepEqual(waits, [100, 200, 400, 400]);
      assert.equal(fake.connections.length, 5);
      const first = logs.find((l) => l.msg === 'upstream connection failed');
      assert.equal(first?.obj.code, BridgeErrorCode.REFUSED);
      assert.match(String(first?.obj.reason), /bad user name or password/);
      assert.equal(bridge.status().lastError?.code, BridgeErrorCode.UNREACHABLE);
      assert.equal(bridge.status().counters.connectFailures, 5);
      clock.advance(400);
      fake.last.accept();
      const s = bridge.status();
      assert.equal(s.state, 'connected');
      assert.equal(s.attempts, 0);
      assert.equal(s.nextAttemptInMs, undefined);
    }));

  it('tells listeners when the connection comes and goes', () =>
    withBridge({ reconnect: { initialMs: 10, maxMs: 10 } }, ({ fake, clock, bridge }) => {
      const changes: boolean[] = [];
      const off = bridge.onConnectedChange((c) => changes.push(c));
      fake.last.accept();
      fake.last.drop();
      clock.advance(10);
      fake.last.fail(refused(5));
      clock.advance(10);
      fake.last.accept();
      off();
      fake.last.drop();
      assert.deepEqual(changes, [true, false, true]);
    }));

  it('reports its state, queue and counters', () =>
    withBridge({ queue: { maxMessages: 10, maxBytes: 4096 } }, async ({ fake, bridge, clock, local }) => {
      clock.advance(250);
      await local('t', 'abc', 1);
      const s = bridge.status();
      assert.equal(s.mode, 'aggregating');
      assert.equal(s.url, 'mqtt://127.0.0.1:1');
      assert.equal(s.clientId, 'gw');
      assert.equal(s.connected, false);
      assert.equal(s.forMs, 250);
      assert.ok(!Number.isNaN(Date.parse(s.since)));
      assert.deepEqual(s.queue, { messages: 1, bytes: 4, inFlight: 0, maxMessages: 10, maxBytes: 4096 });
      fake.last.accept();
      assert.equal(bridge.status().queue.inFlight, 1);
      assert.equal(bridge.status().forMs, 0);
    }));

  it('waits a moment for in-flight acknowledgements when closing, then disconnects cleanly', async () => {
    let conn: import('./fake-upstream.js').FakeConnection | undefined;
    let closing: Promise<void> | undefined;
    await withBridge(
      {},
      async ({ fake, bridge, local }) => {
        fake.last.accept();
        await local('t', '1', 1);
        conn = fake.last;
        closing = bridge.close();
        await new Promise((r) => setImmediate(r));
        assert.equal(conn.ended, undefined, 'still waiting for the ack');
        conn.ack();
        await closing;
        assert.equal(bridge.status().state, 'stopped');
        assert.equal(bridge.status().queue.messages, 0);
      },
      { drainMs: 60_000 },
    );
    assert.equal(conn?.ended, 'graceful');
  });

  it('stops a pending retry on close', () =>
    withBridge({ reconnect: { initialMs: 100, maxMs: 100 } }, async ({ fake, clock, bridge }) => {
      fake.last.fail(refused(3));
      await bridge.close();
      clock.advance(1000);
      assert.equal(fake.connections.length, 1);
      assert.equal(clock.pending(), 0);
    }));
});
