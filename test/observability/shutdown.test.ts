/**
 * SIGTERM with QoS 1 traffic in flight, both ways, through the real CLI: every message the
 * gateway acknowledged reaches the subscriber, every message it took for a client reaches the
 * client, no will is published, and the exit code is 0.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { GatewayChild, tempDir, writeConfig } from '../cli/cli-process.js';
import { getJson, until } from './helpers.js';

interface Setup {
  gw: GatewayChild;
  udpPort: number;
  mqttPort: number;
  httpPort: number;
}

describe('observability: graceful stop', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const open: Array<{ close(): unknown }> = [];
  const children: GatewayChild[] = [];

  before(async () => ({ dir, cleanup } = await tempDir()));
  after(async () => {
    for (const c of open.splice(0)) await c.close();
    for (const g of children) await g.close();
    await cleanup();
  });

  async function start(extra: Record<string, unknown> = {}): Promise<Setup> {
    const udpPort = await freeUdpPort();
    const mqttPort = await freeTcpPort();
    const httpPort = await freeTcpPort();
    const file = await writeConfig(dir, `gw-${udpPort}.json`, {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [{ host: '127.0.0.1', port: mqttPort }] },
      timers: { advertiseIntervalSec: 0 },
      http: { enabled: true, port: httpPort },
      ...extra,
    });
    const gw = await GatewayChild.start(file);
    children.push(gw);
    return { gw, udpPort, mqttPort, httpPort };
  }

  async function sn(port: number): Promise<SnClient> {
    const c = await SnClient.open(port);
    open.push(c);
    return c;
  }

  async function subscriber(port: number, filter: string): Promise<{ client: MqttClient; got: string[] }> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    open.push({ close: () => client.endAsync(true) });
    const got: string[] = [];
    client.on('message', (_topic, payload) => got.push(payload.toString()));
    await client.subscribeAsync(filter, { qos: 1 });
    return { client, got };
  }

  it('client -> gateway: every PUBACKed QoS 1 message reaches the subscriber; exit 0', async () => {
    const { gw, udpPort, mqttPort } = await start();
    const { got } = await subscriber(mqttPort, 'sd/in/#');
    const c = await sn(udpPort);
    await c.connect('sd-in');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'sd/in/t' });
    const { topicId } = await c.next('REGACK');
    const acked: string[] = [];
    let msgId = 1;
    let signalled = false;
    // One message at a time, as MQTT-SN wants; SIGTERM lands between a PUBLISH and its PUBACK.
    for (let i = 0; i < 200; i++) {
      const payload = `m${i}`;
      c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: ++msgId, payload: Buffer.from(payload), topicIdType: 'normal', topicId });
      if (i === 20) {
        gw.signal('SIGTERM');
        signalled = true;
      }
      try {
        const ack = await c.next('PUBACK', 300);
        assert.equal(ack.returnCode, 0);
        acked.push(payload);
      } catch {
        break; // the gateway no longer takes new messages: the client keeps them for later
      }
    }
    assert.ok(signalled);
    assert.equal(await gw.exitCode(), 0, gw.stderr);
    assert.ok(acked.length >= 20, `acknowledged before the stop: ${acked.length}`);
    assert.deepEqual(got.slice(0, acked.length), acked, 'every acknowledged message was delivered, in order');
    assert.ok(gw.lines.some((l) => l.includes('"handshakes finished"')));
  });

  it('gateway -> client: the QoS 1 message in flight and those queued behind it are delivered before the exit', async () => {
    const { gw, udpPort, mqttPort, httpPort } = await start();
    const c = await sn(udpPort);
    await c.connect('sd-out');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'sd/out' });
    await c.next('SUBACK');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    for (let i = 0; i < 5; i++) await pub.publishAsync('sd/out', `o${i}`, { qos: 1 });
    await pub.endAsync();

    const first = await c.next('PUBLISH');
    assert.equal(first.payload.toString(), 'o0');
    gw.signal('SIGTERM');
    await gw.waitFor((l) => l.includes('"stopping: new connections and messages refused'));
    const health = await getJson(httpPort, '/healthz');
    assert.equal(health.status, 503);
    assert.equal((health.body as { status: string }).status, 'stopping');

    // A newcomer is not taken while the gateway stops.
    const late = await sn(udpPort);
    late.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sd-late' });

    const received = [first];
    for (;;) {
      const p = received[received.length - 1]!;
      await new Promise((r) => setTimeout(r, 150)); // a slow client
      c.send({ type: 'PUBACK', topicId: p.topicIdType === 'normal' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
      if (received.length === 5) break;
      received.push(await c.next('PUBLISH', 3000));
    }
    assert.deepEqual(received.map((p) => p.payload.toString()), ['o0', 'o1', 'o2', 'o3', 'o4']);
    assert.equal(await gw.exitCode(), 0, gw.stderr);
    assert.deepEqual(late.pending(), [], 'no CONNACK for a CONNECT while stopping');
    const done = gw.records().find((r) => r.msg === 'handshakes finished');
    assert.ok(done !== undefined, 'the drain settled');
    assert.equal(done.inFlight, 0);
  });

  it('publishes no will for the clients it leaves', async () => {
    const { gw, udpPort, mqttPort } = await start();
    const { got } = await subscriber(mqttPort, 'sd/will/#');
    const c = await sn(udpPort);
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sd-will' });
    await c.next('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 1, retain: false, willTopic: 'sd/will/status' });
    await c.next('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('offline') });
    await c.next('CONNACK');
    gw.signal('SIGTERM');
    assert.equal(await gw.exitCode(), 0);
    assert.deepEqual(got, []);
    assert.equal(gw.lines.some((l) => l.includes('will published')), false);
  });

  it('waits no longer than shutdown.graceMs for a client that never answers', async () => {
    const { gw, udpPort, mqttPort } = await start({ shutdown: { graceMs: 400 } });
    const c = await sn(udpPort);
    await c.connect('sd-mute');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'sd/mute' });
    await c.next('SUBACK');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    await pub.publishAsync('sd/mute', 'x', { qos: 1 });
    await pub.endAsync();
    await c.next('PUBLISH');
    const t0 = Date.now();
    gw.signal('SIGTERM');
    assert.equal(await gw.exitCode(), 0);
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 3000, `stopped after ${took} ms`);
    const line = gw.records().find((r) => r.msg === 'grace period over with handshakes still open; their clients retry after the restart');
    assert.ok(line !== undefined, gw.lines.join('\n'));
    assert.equal(line.inFlight, 1);
  });

  it('a second SIGTERM ends the wait at once', async () => {
    const { gw, udpPort, mqttPort } = await start({ shutdown: { graceMs: 60_000 } });
    const c = await sn(udpPort);
    await c.connect('sd-hurry');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: 'sd/hurry' });
    await c.next('SUBACK');
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    await pub.publishAsync('sd/hurry', 'x', { qos: 1 });
    await pub.endAsync();
    await c.next('PUBLISH');
    gw.signal('SIGTERM');
    await gw.waitFor((l) => l.includes('"stopping: '));
    await until(() => true);
    const t0 = Date.now();
    gw.signal('SIGTERM');
    // Not a speed check: without the second signal the stop would wait out the 60 s grace period.
    assert.equal(await gw.exitCode(30_000), 0);
    assert.ok(Date.now() - t0 < 30_000, 'the second signal ended the wait');
    assert.ok(gw.lines.some((l) => l.includes('second stop signal')));
  });

  it('SIGINT (Ctrl-C) stops the same way', async () => {
    const { gw } = await start();
    gw.signal('SIGINT');
    assert.equal(await gw.exitCode(), 0);
    assert.ok(gw.lines.some((l) => l.includes('"signal":"SIGINT"')));
  });
});
