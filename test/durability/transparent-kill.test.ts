/**
 * Transparent mode across a crash: the gateway CLI on its SQLite file, a device with a persistent
 * session and an upstream subscription, SIGKILL, a message published upstream while the gateway is
 * down, restart on the same file and ports. The device, which never reconnects, gets the message
 * (its upstream connection was reopened from the stored session, and the upstream broker kept the
 * session for it) and goes on publishing with its topic id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { GatewayChild, writeConfig } from '../cli/cli-process.js';
import { watch } from '../bridge/harness.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { publishQos1, register, subscribe, until } from './sn.js';

describe('durability: transparent mode, SIGKILL and restart on the same file', () => {
  let dir: string;
  let upstream: Mosquitto;
  let gw: GatewayChild | undefined;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-transparent-kill-'));
    upstream = await Mosquitto.start();
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await gw?.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reopens the device's upstream connection from the store: what came while the gateway was down arrives, no new CONNECT", { timeout: 60_000 }, async () => {
    const udpPort = await freeUdpPort();
    const config = await writeConfig(dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      timers: { advertiseIntervalSec: 0 },
      upstream: { url: upstream.url, mode: 'transparent', clientId: 'tk-gw', clientIdPrefix: 'tk-', reconnect: { initialMs: 100, maxMs: 300 } },
    });
    const up = await watch(upstream.url, 'tk/up/#', 1);
    closers.push(() => up.close());

    gw = await GatewayChild.start(config);
    const dev = await SnClient.open(udpPort);
    closers.push(() => dev.close());
    await dev.connect('dev', { cleanSession: false, keepAlive: 60 });
    await subscribe(dev, 'tk/cmd/#', 1, 1);
    const upId = await register(dev, 'tk/up/v', 2);
    await publishQos1(dev, upId, 3, 'before');
    await until('the first message upstream', () => up.got.length === 1);

    gw.signal('SIGKILL');
    await gw.exitCode();
    // The upstream keeps the device's session (clean session false) and queues this for it.
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await pub.publishAsync('tk/cmd/lamp', 'while-down', { qos: 1 });
    await pub.endAsync();

    gw = await GatewayChild.start(config);
    // No CONNECT: the stored session is active at the device's address.
    const reg = await dev.next('REGISTER', 10_000);
    assert.equal(reg.topicName, 'tk/cmd/lamp');
    dev.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const msg = await dev.next('PUBLISH');
    assert.equal(msg.payload.toString(), 'while-down');
    dev.send({ type: 'PUBACK', topicId: msg.topicIdType === 'normal' ? msg.topicId : 0, msgId: msg.msgId, returnCode: 0 });

    await publishQos1(dev, upId, 4, 'after');
    await until('the message after the restart upstream', () => up.got.length === 2);
    assert.deepEqual(
      up.got.map((m) => m.payload),
      ['before', 'after'],
    );
  });
});
