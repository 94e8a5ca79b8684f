/**
 * Transparent mode end to end against a real mosquitto: every MQTT-SN node (firmware-sim over
 * UDP) appears upstream as its own MQTT client, with its client id, will, clean-session flag and
 * credentials; MQTT.js clients on mosquitto are the other side.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimError, type SimMessage } from '../../firmware-sim/index.js';
import { ReturnCode } from '../../src/codec/index.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { expectNothing } from '../helpers/wait.js';
import { connectRefusal, isMarker, markerDown, markerUp, publisher, startBridgedGateway, suiteParts, until } from './harness.js';


describe('transparent mode with mosquitto', () => {
  let mosq: Mosquitto;
  const cleanup: Array<() => Promise<unknown>> = [];
  before(async () => {
    // Each MQTT client may write only below its own client id: proof that the device, not the gateway, is who mosquitto sees.
    aclDir = await mkdtemp(join(tmpdir(), 'mqttsn-acl-'));
    const acl = join(aclDir, 'acl');
    await writeFile(acl, 'topic read devices/#\ntopic readwrite open/#\npattern readwrite devices/%c/#\n');
    mosq = await Mosquitto.start({ extraConfig: [`acl_file ${acl}`] });
  });
  let aclDir = '';
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await mosq.close();
    await rm(aclDir, { recursive: true, force: true });
  });

  const { gateway, node, watcher } = suiteParts(() => mosq.url, cleanup, { mode: 'transparent' });

  it('connects each device as itself (prefixed id) and carries QoS 0, 1 and 2 up', async () => {
    const gw = await gateway({ clientIdPrefix: 'site1-' });
    const w = await watcher('devices/#');
    const n = await node(gw, 'tp-up');
    await n.publish({ topic: 'devices/site1-tp-up/t', payload: 'q0', qos: 0 });
    await n.publish({ topic: 'devices/site1-tp-up/t', payload: 'q1', qos: 1 });
    await n.publish({ topic: 'devices/site1-tp-up/t', payload: 'q2', qos: 2 });
    // The ACL lets a client write only under its own id: this one is not the device's.
    await n.publish({ topic: 'devices/someone-else/t', payload: 'denied', qos: 1 });
    await until(() => w.got.length >= 3, 5000, 'three messages upstream');
    // Then a marker from the same device: the denied message, had mosquitto let it through, is ahead of it.
    await expectNothing('the message the ACL denies', () => markerUp(n, w, 'devices/site1-tp-up/t'), () => w.got.filter((m) => m.topic === 'devices/someone-else/t'));
    assert.deepEqual(
      w.got.filter((m) => !isMarker(m.payload)).map((m) => [m.topic, m.payload, m.qos]).sort(),
      [
        ['devices/site1-tp-up/t', 'q0', 0],
        ['devices/site1-tp-up/t', 'q1', 1],
        ['devices/site1-tp-up/t', 'q2', 2],
      ],
    );
    assert.deepEqual(gw.bridge.status().clients, { total: 1, connected: 1 });
  });

  it("turns a device's SUBSCRIBE into its own upstream subscription, retained message included", async () => {
    const pub = await publisher(mosq.url);
    cleanup.push(() => pub.endAsync());
    await pub.publishAsync('open/tp-down/config', 'retained-config', { qos: 1, retain: true });
    const gw = await gateway();
    const n = await node(gw, 'tp-down');
    const got: SimMessage[] = [];
    n.on('message', (m) => got.push(m));
    const sub = await n.subscribe('open/tp-down/#', 2);
    assert.equal(sub.grantedQos, 2);
    await until(() => got.length === 1, 5000, 'the retained message from upstream');
    assert.equal(got[0]?.payload.toString(), 'retained-config');
    assert.equal(got[0]?.retain, true);
    for (const qos of [0, 1, 2] as const) await pub.publishAsync('open/tp-down/cmd', `c${qos}`, { qos });
    await until(() => got.length === 4, 5000, 'three live messages');
    assert.deepEqual(
      got.slice(1).map((m) => [m.topic, m.payload.toString(), m.qos, m.retain]),
      [
        ['open/tp-down/cmd', 'c0', 0, false],
        ['open/tp-down/cmd', 'c1', 1, false],
        ['open/tp-down/cmd', 'c2', 2, false],
      ],
    );
    // After UNSUBSCRIBE the upstream sends nothing more. The barrier: a marker on another topic the
    // device still subscribes to, published after, down the same upstream connection.
    await n.subscribe('open/tp-down-mark', 1);
    await n.unsubscribe('open/tp-down/#');
    await pub.publishAsync('open/tp-down/cmd', 'after', { qos: 1 });
    await expectNothing('a message after UNSUBSCRIBE', () => markerDown(pub, got, 'open/tp-down-mark'), () => got.filter((m) => m.payload.toString() === 'after'));
  });

  it('leaves the will of a lost device to the upstream broker, and publishes none after DISCONNECT', async () => {
    const gw = await gateway();
    const w = await watcher('devices/+/status');
    const polite = await node(gw, 'tp-polite', { keepAlive: 1, will: { topic: 'devices/tp-polite/status', payload: 'gone', qos: 1 } });
    await polite.disconnect();
    const lost = await node(gw, 'tp-lost', { keepAlive: 1, will: { topic: 'devices/tp-lost/status', payload: 'offline', qos: 1, retain: false } });
    await lost.close(); // silent: no DISCONNECT; the gateway loses it after 1.5 x keep-alive
    await until(() => w.got.length >= 1, 6000, 'the will upstream');
    // The polite device's will, had it been published at its DISCONNECT, came before the lost
    // one's; a second copy of that, before a marker published after it on the watched filter.
    const marker = await publisher(mosq.url, { clientId: 'tp-marker' });
    cleanup.push(() => marker.endAsync());
    await expectNothing(
      'a will besides the lost device’s',
      async () => {
        await marker.publishAsync('devices/tp-marker/status', 'marker-will', { qos: 1 });
        await until(() => w.got.some((m) => m.payload === 'marker-will'), 5000, 'the marker upstream');
      },
      () => w.got.filter((m) => m.payload !== 'marker-will').slice(1),
    );
    assert.deepEqual(w.got.filter((m) => m.payload !== 'marker-will'), [{ topic: 'devices/tp-lost/status', payload: 'offline', qos: 1, retain: false }]);
    assert.equal(gw.bridge.status().clients?.total, 0);
  });

  it('keeps the upstream session while a device sleeps: what arrives meanwhile is handed over at wake-up', async () => {
    const gw = await gateway();
    const n = await node(gw, 'tp-sleeper', { cleanSession: false, keepAlive: 30 });
    await n.subscribe('open/tp-sleeper/#', 1);
    await n.sleep(60);
    const pub = await publisher(mosq.url);
    cleanup.push(() => pub.endAsync());
    await pub.publishAsync('open/tp-sleeper/cmd', 'while-asleep-1', { qos: 1 });
    await pub.publishAsync('open/tp-sleeper/cmd', 'while-asleep-2', { qos: 1 });
    // Both came down the device's upstream connection into its sleep buffer: it stood meanwhile.
    await until(() => gw.running.gateway.sessions.get('tp-sleeper')?.queue.length === 2, 5000, 'both messages buffered for the sleeper');
    assert.deepEqual(gw.bridge.status().clients, { total: 1, connected: 1 }, 'the upstream connection stays while the device sleeps');
    const woke = await n.wake();
    assert.deepEqual(
      woke.map((m) => m.payload.toString()),
      ['while-asleep-1', 'while-asleep-2'],
    );
  });

  it('answers CONNECT 0x03 when the upstream refuses the device, and uses per-device credentials', async () => {
    const secured = await Mosquitto.start({ users: { gateway: 'gw-secret', 'dev-a': 'a-secret' } });
    cleanup.push(() => secured.close());
    const gw = await startBridgedGateway(
      {
        url: secured.url,
        mode: 'transparent',
        username: 'gateway',
        passwordEnv: 'GW_PW',
        clients: [
          { clientId: 'dev-a', username: '%c', passwordEnv: 'DEV_A_PW' },
          { clientId: 'dev-b*', username: '%c', password: 'wrong' },
        ],
      },
      { GW_PW: 'gw-secret', DEV_A_PW: 'a-secret' },
    );
    cleanup.push(() => gw.close());
    await until(() => gw.bridge.connected, 5000, "the gateway's own connection");
    const a = await node(gw, 'dev-a'); // its own user name and password
    await a.publish({ topic: 'x/y', payload: 'ok', qos: 1 });
    const other = await node(gw, 'plain-device'); // no entry: the section's credentials
    await other.publish({ topic: 'x/y', payload: 'ok', qos: 1 });
    assert.equal(await connectRefusal(gw.udpPort, 'dev-b1'), ReturnCode.NOT_SUPPORTED);
  });

  it('answers QoS 1 with 0x01 while the upstream is away, and takes it again when it is back', async () => {
    const gw = await gateway();
    const w = await watcher('devices/tp-restart/#');
    const n = await node(gw, 'tp-restart', { cleanSession: false, keepAlive: 30 });
    await n.publish({ topic: 'devices/tp-restart/v', payload: 'before', qos: 1 });
    await mosq.kill('SIGKILL');
    await until(() => gw.bridge.status().clients?.connected === 0, 5000, 'the loss noticed');
    const refusal = await n.publish({ topic: 'devices/tp-restart/v', payload: 'during', qos: 1 }).then(
      () => undefined,
      (err: unknown) => (err instanceof SimError ? err.returnCode : -1),
    );
    assert.equal(refusal, ReturnCode.CONGESTION);
    await mosq.restart();
    await until(() => gw.bridge.status().clients?.connected === 1, 10_000, 'the device connection re-established');
    const w2 = await watcher('devices/tp-restart/#');
    await n.publish({ topic: 'devices/tp-restart/v', payload: 'after', qos: 1 });
    await until(() => w2.got.length === 1, 5000, 'the message after the restart');
    assert.equal(w2.got[0]?.payload, 'after');
    assert.deepEqual(
      w.got.map((m) => m.payload),
      ['before'],
    );
  });
});
