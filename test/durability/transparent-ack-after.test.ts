/**
 * Transparent mode, an instance that dies for good (issue #21): a QoS 1 message the device has
 * not acknowledged is not acknowledged upstream either, so the broker keeps it and sends it again
 * when the device comes back through another gateway (with no store of the first one's); a
 * message the device did acknowledge is not sent again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Packet, PublishPacket } from '../../src/codec/index.js';
import { GatewayChild, writeConfig } from '../cli/cli-process.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { subscribe, until } from './sn.js';

const held = new WeakMap<SnClient, Packet[]>();

/** The next PUBLISH, REGISTERs on the way answered (other packets are passed over). */
async function nextPublish(dev: SnClient): Promise<PublishPacket> {
  const queue = held.get(dev) ?? [];
  held.set(dev, queue);
  for (;;) {
    await until('a REGISTER or PUBLISH', () => {
      queue.push(...dev.pending());
      return queue.some((p) => p.type === 'REGISTER' || p.type === 'PUBLISH');
    });
    const p = queue.splice(0, queue.findIndex((q) => q.type === 'REGISTER' || q.type === 'PUBLISH') + 1).pop();
    if (p?.type === 'PUBLISH') return p;
    if (p?.type === 'REGISTER') dev.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
  }
}

function puback(dev: SnClient, p: PublishPacket): void {
  dev.send({ type: 'PUBACK', topicId: p.topicIdType === 'normal' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
}

describe('durability: transparent mode acknowledges upstream only what the device acknowledged', () => {
  const dirs: string[] = [];
  let upstream: Mosquitto;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    upstream = await Mosquitto.start();
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await upstream.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** A gateway CLI on its own directory (its own store): a separate instance. */
  async function instance(): Promise<{ gw: GatewayChild; udpPort: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-ack-after-'));
    dirs.push(dir);
    const udpPort = await freeUdpPort();
    const config = await writeConfig(dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      timers: { advertiseIntervalSec: 0 },
      upstream: { url: upstream.url, mode: 'transparent', clientId: 'aa-gw', clientIdPrefix: 'aa-', reconnect: { initialMs: 100, maxMs: 300 } },
    });
    const gw = await GatewayChild.start(config);
    closers.push(() => gw.close());
    return { gw, udpPort };
  }

  it('a message the device never PUBACKed comes again through a fresh gateway after SIGKILL; an acknowledged one does not', { timeout: 60_000 }, async () => {
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());

    const a = await instance();
    const dev = await SnClient.open(a.udpPort);
    closers.push(() => dev.close());
    await dev.connect('dev', { cleanSession: false, keepAlive: 60 });
    await subscribe(dev, 'aa/cmd/#', 1, 1);

    await pub.publishAsync('aa/cmd/lamp', 'acked', { qos: 1 });
    const first = await nextPublish(dev);
    assert.equal(first.payload.toString(), 'acked');
    puback(dev, first);
    // One message is in flight to a device at a time: this one leaves only once the first is
    // settled, and so its PUBACK is on its way upstream.
    await pub.publishAsync('aa/cmd/lamp', 'unacked', { qos: 1 });
    const second = await nextPublish(dev);
    assert.equal(second.payload.toString(), 'unacked');

    // No PUBACK from the device; the instance dies and never comes back.
    a.gw.signal('SIGKILL');
    await a.gw.exitCode();

    const b = await instance();
    const dev2 = await SnClient.open(b.udpPort);
    closers.push(() => dev2.close());
    await dev2.connect('dev', { cleanSession: false, keepAlive: 60 });
    const again = await nextPublish(dev2);
    assert.equal(again.payload.toString(), 'unacked');
    puback(dev2, again);
    // A marker after it: had the acknowledged message come again, it would be ahead of it.
    await pub.publishAsync('aa/cmd/lamp', 'marker', { qos: 1 });
    const next = await nextPublish(dev2);
    assert.equal(next.payload.toString(), 'marker');
    puback(dev2, next);
  });
});
