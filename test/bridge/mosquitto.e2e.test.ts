/**
 * The bridge end to end against a real mosquitto on a free loopback port: MQTT-SN nodes over UDP
 * on one side of the gateway, MQTT.js clients on mosquitto on the other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimMessage, SimNode } from '../../firmware-sim/index.js';
import { BridgeErrorCode } from '../../src/bridge/errors.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { startGateway } from '../integration/gateway-process.js';
import { expectNothing } from '../helpers/wait.js';
import { isMarker, markerDown, markerUp, publisher, snNode, startBridgedGateway, suiteParts, until, watch, type BridgedGateway } from './harness.js';

describe('bridge with mosquitto: both directions', () => {
  let mosq: Mosquitto;
  const cleanup: Array<() => Promise<unknown>> = [];
  before(async () => {
    mosq = await Mosquitto.start();
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await mosq.close();
  });

  const { gateway, node, watcher } = suiteParts(() => mosq.url, cleanup);

  it('carries QoS 0, 1 and 2 from a sensor up, renamed by the prefixes, at min(QoS)', async () => {
    const gw = await gateway({
      topics: [
        { pattern: 'sensors/#', direction: 'out', qos: 2, localPrefix: 'home/', remotePrefix: 'site1/' },
        { pattern: 'slow/#', direction: 'out', qos: 1 },
      ],
    });
    const w = await watcher('#');
    const n = await node(gw, 'up-1');
    await n.publish({ topic: 'home/sensors/t', payload: 'q0', qos: 0 });
    await n.publish({ topic: 'home/sensors/t', payload: 'q1', qos: 1 });
    await n.publish({ topic: 'home/sensors/t', payload: 'q2', qos: 2 });
    await n.publish({ topic: 'slow/x', payload: 'q2-capped', qos: 2 });
    await n.publish({ topic: 'unbridged/x', payload: 'no', qos: 1 });
    await until(() => w.got.length >= 4, 5000, 'four messages upstream');
    await expectNothing(
      'an unbridged topic or a second copy upstream',
      () => markerUp(n, w, 'home/sensors/t'),
      () => w.got.filter((m) => !isMarker(m.payload)).slice(4),
    );
    // MQTT orders messages per topic and QoS only: mosquitto hands on a QoS 2 message at PUBREL.
    assert.deepEqual(
      w.got
        .filter((m) => !isMarker(m.payload))
        .map((m) => [m.topic, m.payload, m.qos])
        .sort(),
      [
        ['site1/sensors/t', 'q0', 0],
        ['site1/sensors/t', 'q1', 1],
        ['site1/sensors/t', 'q2', 2],
        ['slow/x', 'q2-capped', 1],
      ],
    );
  });

  it('carries QoS 0, 1 and 2 from upstream down to a subscribed sensor, renamed by the prefixes', async () => {
    const gw = await gateway({ topics: [{ pattern: 'cmd/#', direction: 'in', qos: 2, localPrefix: 'dev/', remotePrefix: 'site1/' }] });
    const n = await node(gw, 'down-1');
    const got: SimMessage[] = [];
    n.on('message', (m) => got.push(m));
    await n.subscribe('dev/cmd/#', 2);
    const pub = await publisher(mosq.url);
    cleanup.push(() => pub.endAsync());
    await pub.publishAsync('site1/cmd/lamp', 'on-0', { qos: 0 });
    await pub.publishAsync('site1/cmd/lamp', 'on-1', { qos: 1 });
    await pub.publishAsync('site1/cmd/lamp', 'on-2', { qos: 2 });
    await pub.publishAsync('elsewhere/cmd/lamp', 'no', { qos: 1 });
    await until(() => got.length >= 3, 5000, 'three messages down');
    await expectNothing(
      'a message from outside the rule, or a second copy, down at the node',
      () => markerDown(pub, got, 'site1/cmd/lamp'),
      () => got.filter((m) => !isMarker(m.payload)).slice(3),
    );
    assert.deepEqual(
      got.filter((m) => !isMarker(m.payload)).map((m) => [m.topic, m.payload.toString(), m.qos]),
      [
        ['dev/cmd/lamp', 'on-0', 0],
        ['dev/cmd/lamp', 'on-1', 1],
        ['dev/cmd/lamp', 'on-2', 2],
      ],
    );
    assert.equal(gw.bridge.status().counters.received, 4, 'the three and the marker');
  });

  it('keeps retained messages retained, both ways', async () => {
    // Retained upstream before the gateway exists: it comes down on the bridge's SUBSCRIBE.
    const pub = await publisher(mosq.url);
    await pub.publishAsync('ret/down/state', 'configured', { qos: 1, retain: true });
    await pub.endAsync();
    const gw = await gateway({ topics: [{ pattern: 'ret/#', direction: 'both', qos: 1 }] });
    await until(() => gw.bridge.status().counters.received === 1, 5000, 'retained message taken in');
    const n = await node(gw, 'ret-1');
    const got: SimMessage[] = [];
    n.on('message', (m) => got.push(m));
    await n.subscribe('ret/down/state', 1);
    await until(() => got.length === 1, 5000, 'retained delivery after SUBACK');
    assert.equal(got[0]?.payload.toString(), 'configured');
    assert.equal(got[0]?.retain, true);

    await n.publish({ topic: 'ret/up/state', payload: 'online', qos: 1, retain: true });
    await until(() => gw.bridge.status().counters.acked >= 1, 5000, 'upstream acknowledged');
    // A subscriber that comes later gets it from mosquitto's retained store.
    const later = await watcher('ret/up/#');
    await until(() => later.got.length === 1, 5000, 'retained upstream');
    assert.deepEqual(later.got[0], { topic: 'ret/up/state', payload: 'online', qos: 1, retain: true });
  });

  it('publishes the will of a lost sensor upstream', async () => {
    const gw = await gateway({ topics: [{ pattern: 'will/#', direction: 'out', qos: 1 }] });
    const w = await watcher('will/#');
    const n = await node(gw, 'will-1', { keepAlive: 1, will: { topic: 'will/will-1/status', payload: 'offline', qos: 1 } });
    await n.close(); // silent: no DISCONNECT, the gateway loses it after 1.5 x keep-alive
    await until(() => w.got.length === 1, 5000, 'will upstream');
    assert.deepEqual(w.got[0], { topic: 'will/will-1/status', payload: 'offline', qos: 1, retain: false });
  });

  it('never sends a message from upstream back up, nor delivers its own echo twice', async () => {
    const gw = await gateway({ topics: [{ pattern: 'loop/#', direction: 'both', qos: 1 }] });
    const w = await watcher('loop/#');
    const listener = await node(gw, 'loop-listener');
    const heard: SimMessage[] = [];
    listener.on('message', (m) => heard.push(m));
    const payloads = (list: ReadonlyArray<{ payload: string | Buffer }>): string[] => list.filter((m) => !isMarker(m.payload)).map((m) => m.payload.toString());
    await listener.subscribe('loop/#', 1);

    // Down: mosquitto -> gateway. If it went back up, the watcher would see it twice.
    const pub = await publisher(mosq.url);
    cleanup.push(() => pub.endAsync());
    await pub.publishAsync('loop/down', 'from-upstream', { qos: 1 });
    await until(() => payloads(heard).includes('from-upstream'), 5000, 'down');
    // Had the bridge sent it back up, it would have done so before handling the next message down.
    await markerDown(pub, heard, 'loop/down');
    assert.equal(gw.bridge.status().counters.sent, 0, 'nothing was published upstream');

    // Up: gateway -> mosquitto, which echoes it to the bridge (subscribed to loop/#).
    const sensor = await node(gw, 'loop-sensor');
    await sensor.publish({ topic: 'loop/up', payload: 'from-sensor', qos: 1 });
    await until(() => payloads(w.got).length === 2, 5000, 'up');
    await until(() => gw.bridge.status().counters.echoes === 1, 5000, 'echo seen');
    // The echo came down before the marker: a second delivery of it would reach the listener first.
    await expectNothing(
      'the echo delivered again',
      () => markerDown(pub, heard, 'loop/down'),
      () => payloads(heard).slice(2),
    );
    assert.deepEqual(payloads(heard), ['from-upstream', 'from-sensor'], 'the local subscriber gets each message once');
    assert.deepEqual(payloads(w.got), ['from-upstream', 'from-sensor']);
    assert.equal(gw.bridge.status().counters.sent, 1);
  });

  it('runs from the CLI with an upstream section and a password from the environment', async () => {
    const auth = await Mosquitto.start({ users: { cli: 'cli-secret' } });
    cleanup.push(() => auth.close());
    const w = await watch(auth.url, 'cli/#', 1, { username: 'cli', password: 'cli-secret' });
    cleanup.push(() => w.close());
    // The child inherits this environment; nothing else here reads the variable.
    process.env.MQTTSN_TEST_CLI_UPSTREAM_PASSWORD = 'cli-secret';
    const gw = await startGateway({
      timers: { advertiseIntervalSec: 0 },
      upstream: {
        url: auth.url,
        clientId: 'gw-cli',
        username: 'cli',
        passwordEnv: 'MQTTSN_TEST_CLI_UPSTREAM_PASSWORD',
        topics: [{ pattern: 'cli/#', direction: 'out', qos: 1 }],
      },
    });
    delete process.env.MQTTSN_TEST_CLI_UPSTREAM_PASSWORD;
    try {
      await until(() => gw.lines.some((l) => l.includes('"upstream connected"')), 10_000, 'upstream connected in the log');
      const n = await snNode(gw.udpPort, 'cli-node');
      await n.publish({ topic: 'cli/t', payload: 'via-cli', qos: 1 });
      await n.close();
      await until(() => w.got.length === 1, 5000, 'message upstream');
      assert.equal(w.got[0]?.payload, 'via-cli');
    } finally {
      assert.equal(await gw.stop(), 0, 'Ctrl-C stops the gateway cleanly');
    }
  });
});

describe('bridge with mosquitto: failures', () => {
  it('reports a refused connection clearly and retries until it is accepted, queueing meanwhile', async () => {
    const mosq = await Mosquitto.start({ users: { gw: 'right' } });
    let gw: BridgedGateway | undefined;
    let n: SimNode | undefined;
    try {
      gw = await startBridgedGateway(
        { url: mosq.url, username: 'gw', passwordEnv: 'UPSTREAM_PW', topics: [{ pattern: 'auth/#', direction: 'out', qos: 1 }], reconnect: { initialMs: 50, maxMs: 200 } },
        { UPSTREAM_PW: 'wrong' },
      );
      const bridge = gw.bridge;
      await until(() => bridge.status().counters.connectFailures >= 3, 5000, 'three refused attempts');
      const s = bridge.status();
      assert.equal(s.state, 'reconnecting');
      assert.equal(s.connected, false);
      assert.equal(s.lastError?.code, BridgeErrorCode.REFUSED);
      assert.match(s.lastError?.message ?? '', /not authorized|bad user name or password/);
      const failed = gw.logs.filter((l) => l.msg === 'upstream connection failed');
      assert.ok(failed.length >= 3);
      assert.equal(failed[0]?.level, 'warn');
      assert.equal(failed[0]?.obj.code, BridgeErrorCode.REFUSED);

      // MQTT-SN keeps working against the broker core; QoS 1 waits in the queue.
      n = await snNode(gw.udpPort, 'auth-node');
      await n.publish({ topic: 'auth/t', payload: 'queued', qos: 1 });
      assert.equal(bridge.status().queue.messages, 1);

      // A watcher first (mosquitto would drop a message nobody subscribed to), then the operator
      // fixes the broker side: the next attempt gets in and the queue drains.
      await mosq.setUsers({ gw: 'right', watcher: 'w' });
      const w = await watch(mosq.url, 'auth/#', 1, { username: 'watcher', password: 'w' });
      await mosq.setUsers({ gw: 'wrong', watcher: 'w' });
      try {
        await until(() => bridge.connected, 5000, 'accepted after the fix');
        await until(() => w.got.length === 1, 5000, 'queued message delivered');
        assert.equal(w.got[0]?.payload, 'queued');
        assert.equal(bridge.status().queue.messages, 0);
      } finally {
        await w.close();
      }
    } finally {
      await n?.close();
      await gw?.close();
      await mosq.close();
    }
  });

  it('loses nothing when mosquitto is killed and restarted mid-stream, and keeps each publisher in order', async (t) => {
    const users = { gw: 'gw-pass', watcher: 'watch-pass' };
    const mosq = await Mosquitto.start({ users });
    const nodes: SimNode[] = [];
    const watchers: Array<Awaited<ReturnType<typeof watch>>> = [];
    let gw: BridgedGateway | undefined;
    try {
      gw = await startBridgedGateway(
        { url: mosq.url, username: 'gw', passwordEnv: 'PW', topics: [{ pattern: 'kill/#', direction: 'out', qos: 1 }], reconnect: { initialMs: 100, maxMs: 300 } },
        { PW: users.gw },
      );
      const bridge = gw.bridge;
      await until(() => bridge.connected, 5000, 'bridge connected');
      // The watcher subscribes at QoS 0 so it sends mosquitto nothing: a process killed with
      // unread input resets its sockets, and would discard what it had already written to us.
      const watcherOptions = { username: 'watcher', password: users.watcher };
      watchers.push(await watch(mosq.url, 'kill/#', 0, watcherOptions));

      const PUBLISHERS = 3;
      const PER_PUBLISHER = 150;
      // Each publisher stops at WHILE_AWAY until mosquitto is killed, and at RESTART until it is
      // back: some messages are published with the upstream away, whatever the machine's speed.
      const WHILE_AWAY = 100;
      const RESTART = 125;
      let killed!: () => void;
      let restarted!: () => void;
      const wasKilled = new Promise<void>((r) => (killed = r));
      const wasRestarted = new Promise<void>((r) => (restarted = r));
      for (let i = 0; i < PUBLISHERS; i++) nodes.push(await snNode(gw.udpPort, `kill-${i}`));
      let published = 0;
      const streams = nodes.map(async (n, i) => {
        for (let seq = 0; seq < PER_PUBLISHER; seq++) {
          if (seq === WHILE_AWAY) await wasKilled;
          if (seq === RESTART) await wasRestarted;
          await n.publish({ topic: `kill/${i}`, payload: String(seq), qos: 1 });
          published++;
        }
      });

      await until(() => watchers[0]!.got.length >= 100, 10_000, 'traffic flowing upstream');
      await mosq.kill('SIGKILL');
      const killedAt = published;
      killed();
      await until(() => bridge.status().state === 'reconnecting', 5000, 'bridge notices');
      await until(() => published === PUBLISHERS * RESTART, 10_000, 'the publishes made while the upstream is away');
      assert.ok(published > killedAt, 'MQTT-SN publishers keep going while the upstream is away');
      assert.ok(bridge.status().queue.messages > 0, 'and their messages wait in the queue');

      // Back up, but refusing the gateway until the watcher listens again: a message mosquitto
      // accepted before anyone subscribed would be lost by mosquitto, not by the bridge.
      await mosq.restart({ watcher: users.watcher });
      watchers.push(await watch(mosq.url, 'kill/#', 0, watcherOptions));
      await mosq.setUsers(users);
      restarted();

      await Promise.all(streams);
      const firstSeen = (): Map<string, number[]> => {
        const seen = new Map<string, number[]>();
        for (const w of watchers) {
          for (const m of w.got) {
            const list = seen.get(m.topic) ?? [];
            // Re-sent after the kill: a message may arrive twice (QoS 1), never be missing or out of order.
            if (!list.includes(Number(m.payload))) list.push(Number(m.payload));
            seen.set(m.topic, list);
          }
        }
        return seen;
      };
      await until(() => [...firstSeen().values()].reduce((s, l) => s + l.length, 0) === PUBLISHERS * PER_PUBLISHER, 15_000, 'every message upstream');
      const expected = Array.from({ length: PER_PUBLISHER }, (_, k) => k);
      for (let i = 0; i < PUBLISHERS; i++) assert.deepEqual(firstSeen().get(`kill/${i}`), expected, `publisher ${i} complete and in order`);
      await until(() => bridge.status().queue.messages === 0, 5000, 'the last acknowledgements');
      const s = bridge.status();
      assert.equal(s.connected, true);
      assert.ok(s.counters.disconnects >= 1);
      assert.ok(s.counters.connectFailures >= 1, 'refused while the watcher was away');
      assert.equal(s.counters.droppedQueueFull, 0);
      assert.equal(s.queue.messages, 0);
      const { sent, resent, acked, disconnects, connectFailures } = s.counters;
      t.diagnostic(`killed after ${killedAt} publishes; sent ${sent}, re-sent ${resent}, acked ${acked}, lost ${disconnects}x, refused ${connectFailures}x`);
    } finally {
      for (const n of nodes) await n.close();
      for (const w of watchers) await w.close();
      await gw?.close();
      await mosq.close();
    }
  });
});
