/**
 * Transparent mode, an instance that dies for good (issue #21): a QoS 1 message the device has
 * not acknowledged (PUBACK), a QoS 2 message it has not received (PUBREC), is not acknowledged
 * upstream either, so the broker keeps it and sends it again when the device comes back through
 * another gateway (with no store of the first one's); a message the device did acknowledge is not
 * sent again, and its QoS 2 flow with the broker runs to PUBCOMP.
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

/** The device's half of a QoS 2 delivery (MQTT-SN 1.2 §6.7): PUBREC, then PUBCOMP to the gateway's PUBREL. */
async function receiveQos2(dev: SnClient, p: PublishPacket): Promise<void> {
  assert.equal(p.qos, 2, `${p.payload.toString()} comes at QoS 2`);
  dev.send({ type: 'PUBREC', msgId: p.msgId });
  const rel = await dev.next('PUBREL');
  assert.equal(rel.msgId, p.msgId);
  dev.send({ type: 'PUBCOMP', msgId: p.msgId });
}

describe('durability: transparent mode acknowledges upstream only what the device acknowledged', () => {
  const dirs: string[] = [];
  let upstream: Mosquitto;
  const closers: Array<() => Promise<unknown>> = [];

  before(async () => {
    // mosquitto's debug log lines are the broker's own account of each QoS 2 flow ("Received
    // PUBREC from <client id> (Mid: n)"); nothing else in its config is changed.
    upstream = await Mosquitto.start({ extraConfig: ['log_type debug'] });
  });

  /** Whether mosquitto logged receiving `ack` (PUBREC, PUBCOMP...) from the upstream client `clientId`. */
  const brokerGot = (ack: string, clientId: string): boolean => upstream.log.includes(`Received ${ack} from ${clientId} (`);
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

  /** A device of `gw` with a persistent session (clean session false), subscribed to `filter` at `qos` when given. */
  async function device(gw: { udpPort: number }, clientId: string, sub?: { filter: string; qos: 1 | 2 }): Promise<SnClient> {
    const dev = await SnClient.open(gw.udpPort);
    closers.push(() => dev.close());
    await dev.connect(clientId, { cleanSession: false, keepAlive: 60 });
    if (sub !== undefined) await subscribe(dev, sub.filter, sub.qos, 1);
    return dev;
  }

  /** An MQTT.js publisher on the upstream broker. */
  async function publisher(): Promise<mqtt.MqttClient> {
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());
    return pub;
  }

  /** SIGKILL, and the instance never comes back. */
  async function kill(i: { gw: GatewayChild }): Promise<void> {
    i.gw.signal('SIGKILL');
    await i.gw.exitCode();
  }

  it('a message the device never PUBACKed comes again through a fresh gateway after SIGKILL; an acknowledged one does not', { timeout: 60_000 }, async () => {
    const pub = await publisher();

    const a = await instance();
    const dev = await device(a, 'dev', { filter: 'aa/cmd/#', qos: 1 });

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
    await kill(a);

    const b = await instance();
    const dev2 = await device(b, 'dev');
    const again = await nextPublish(dev2);
    assert.equal(again.payload.toString(), 'unacked');
    puback(dev2, again);
    // A marker after it: had the acknowledged message come again, it would be ahead of it.
    await pub.publishAsync('aa/cmd/lamp', 'marker', { qos: 1 });
    const next = await nextPublish(dev2);
    assert.equal(next.payload.toString(), 'marker');
    puback(dev2, next);
  });

  it('a QoS 2 message the device never PUBRECed comes again through a fresh gateway after SIGKILL; a silent device holds up no other', { timeout: 60_000 }, async () => {
    const pub = await publisher();

    const a = await instance();
    const dev = await device(a, 'q2silent', { filter: 'aa/q2/#', qos: 2 });
    const other = await device(a, 'q2other', { filter: 'aa/q2/#', qos: 2 });

    await pub.publishAsync('aa/q2/lamp', 'unreceived', { qos: 2 });
    const kept = await nextPublish(dev);
    assert.equal(kept.payload.toString(), 'unreceived');
    assert.equal(kept.qos, 2);
    // The device has the message but has not said so: the broker must not have its PUBREC (with
    // MQTT.js answering on receipt it had it, and PUBREL and PUBCOMP too, before the device saw anything).
    assert.equal(brokerGot('PUBREC', 'aa-q2silent'), false, `mosquitto got PUBREC before the device's:\n${upstream.log}`);
    // The other device of the same gateway gets the same message and completes its flow meanwhile.
    const theirs = await nextPublish(other);
    assert.equal(theirs.payload.toString(), 'unreceived');
    await receiveQos2(other, theirs);
    await until('the broker completing the QoS 2 flow of the device that answered', () => brokerGot('PUBCOMP', 'aa-q2other'));

    // No PUBREC from the silent device; the instance dies and never comes back.
    await kill(a);

    const b = await instance();
    const dev2 = await device(b, 'q2silent');
    const again = await nextPublish(dev2);
    assert.equal(again.payload.toString(), 'unreceived');
    await receiveQos2(dev2, again);
    await until('the broker completing the QoS 2 flow once the device answered', () => brokerGot('PUBCOMP', 'aa-q2silent'));
  });

  it('a QoS 2 message the device took runs its whole flow upstream (PUBREC, PUBREL, PUBCOMP) and does not come again after SIGKILL', { timeout: 60_000 }, async () => {
    const pub = await publisher();

    const a = await instance();
    const dev = await device(a, 'q2taker', { filter: 'aa/q2t/#', qos: 2 });

    await pub.publishAsync('aa/q2t/lamp', 'taken', { qos: 2 });
    const first = await nextPublish(dev);
    assert.equal(first.payload.toString(), 'taken');
    await receiveQos2(dev, first);
    await until('mosquitto getting PUBCOMP for the message the device took', () => brokerGot('PUBCOMP', 'aa-q2taker'));
    assert.match(upstream.log, /Received PUBREC from aa-q2taker \(Mid: (\d+)\)[^]*Sending PUBREL to aa-q2taker \(m\1\)[^]*Received PUBCOMP from aa-q2taker \(Mid: \1,/);

    await kill(a);

    const b = await instance();
    const dev2 = await device(b, 'q2taker');
    // A marker after it: had the completed message come again, it would be ahead of it.
    await pub.publishAsync('aa/q2t/lamp', 'marker', { qos: 2 });
    const next = await nextPublish(dev2);
    assert.equal(next.payload.toString(), 'marker');
    await receiveQos2(dev2, next);
  });
});
