/**
 * Transparent mode, an instance that dies for good (issue #21): a QoS 1 message the device has
 * not acknowledged (PUBACK), a QoS 2 message it has not received (PUBREC), is not acknowledged
 * upstream either, so the broker keeps it and sends it again when the device comes back through
 * another gateway (with no store of the first one's); a message the device did acknowledge is not
 * sent again, and its QoS 2 flow with the broker runs to PUBCOMP.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { GatewayChild, writeConfig } from '../cli/cli-process.js';
import { loggingBroker } from '../bridge/broker-log.js';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { nextPublish, puback, receiveQos2, subscribe, until } from './sn.js';

describe('durability: transparent mode acknowledges upstream only what the device acknowledged', () => {
  const dirs: string[] = [];
  const broker = loggingBroker();
  const { closers } = broker;
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** Whether mosquitto logged receiving `ack` (PUBREC, PUBCOMP...) from the upstream client `clientId`. */
  const brokerGot = (ack: string, clientId: string): boolean => broker.logged(`Received ${ack} from ${clientId} (`) > 0;

  /** A gateway CLI on its own directory (its own store): a separate instance. */
  async function instance(): Promise<{ gw: GatewayChild; udpPort: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-ack-after-'));
    dirs.push(dir);
    const udpPort = await freeUdpPort();
    const config = await writeConfig(dir, 'gateway.config.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      timers: { advertiseIntervalSec: 0 },
      upstream: { url: broker.mosquitto.url, mode: 'transparent', clientId: 'aa-gw', clientIdPrefix: 'aa-', reconnect: { initialMs: 100, maxMs: 300 } },
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
    const pub = await mqtt.connectAsync(broker.mosquitto.url, { protocolVersion: 4, reconnectPeriod: 0 });
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
    assert.equal(brokerGot('PUBREC', 'aa-q2silent'), false, `mosquitto got PUBREC before the device's:\n${broker.mosquitto.log}`);
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
    assert.match(broker.mosquitto.log, /Received PUBREC from aa-q2taker \(Mid: (\d+)\)[^]*Sending PUBREL to aa-q2taker \(m\1\)[^]*Received PUBCOMP from aa-q2taker \(Mid: \1,/);

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
