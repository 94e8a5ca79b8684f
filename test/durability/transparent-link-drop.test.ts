/**
 * Transparent mode, a QoS 2 message the device holds (it has the PUBLISH and has not answered
 * PUBREC) when its upstream connection is replaced by another:
 *
 * - the connection is cut (a TCP relay between the gateway and mosquitto closing every
 *   connection, as a network outage or a NAT timeout would) and reopened by the gateway;
 * - the device disconnects with its session kept (clean session false) and connects again, and the
 *   gateway opens it a new connection.
 *
 * Either way the broker, which has no PUBREC, sends the message again on the new connection; the
 * gateway, which still holds it for the device, does not hand it on a second time, and the
 * device's PUBREC, when it comes, completes the flow on the new connection. The device gets the
 * message exactly once; the broker sees PUBREC, PUBREL, PUBCOMP, and sends it no more.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqtt from 'mqtt';
import type { PublishPacket } from '../../src/codec/index.js';
import { startBridgedGateway, type BridgedGateway } from '../bridge/harness.js';
import { loggingBroker } from '../bridge/broker-log.js';
import { SnClient } from '../integration/gateway-process.js';
import { nextPublish, receiveQos2, subscribe, until } from './sn.js';

/** A TCP relay to `port` on 127.0.0.1 whose `cut()` closes every connection through it (new ones are still relayed). */
async function relay(port: number): Promise<{ url: string; cut: () => void; close: () => Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    for (const s of open) s.destroy();
  };
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut,
    close: () => {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('durability: transparent mode, a QoS 2 message the device holds across a new upstream connection', () => {
  const broker = loggingBroker();
  const { closers, logged } = broker;

  it('the connection cut: the message reaches the device once, and its PUBREC completes the flow on the new connection', { timeout: 60_000 }, async () => {
    const upstream = broker.mosquitto;
    const cutter = await relay(upstream.port);
    closers.push(() => cutter.close());
    const { pub, dev, held } = await holding(cutter.url, 'ld');

    const connects = logged(' as ld-dev (');
    cutter.cut();
    // The gateway reconnects the device's session (clean session false), and mosquitto sends the
    // message again, DUP set, as it has no PUBREC for it (MQTT 3.1.1 §4.4).
    await until('the device upstream again', () => logged(' as ld-dev (') > connects);
    await until('mosquitto sending the message again', () => /Sending PUBLISH to ld-dev \(d1, q2/.test(upstream.log));

    await receiveQos2(dev, held);
    await until('the QoS 2 flow completed upstream', () => logged('Received PUBCOMP from ld-dev (') === 1);
    assert.equal(logged('Received PUBREC from ld-dev ('), 1);

    await noSecondCopy(pub, dev, held, 'ld-dev', 'ld/cmd/lamp');
  });

  it('the device back after a DISCONNECT with its session kept: the message reaches it once, and its PUBREC completes the flow on the new connection', { timeout: 60_000 }, async () => {
    const upstream = broker.mosquitto;
    const { pub, dev } = await holding(upstream.url, 'rc');

    // Away without answering; the gateway keeps the session and the message, and closes the
    // device's upstream connection with DISCONNECT (no will).
    dev.send({ type: 'DISCONNECT' });
    await dev.next('DISCONNECT');
    await until('the upstream connection closed', () => logged('Received DISCONNECT from rc-dev') === 1);

    const connects = logged(' as rc-dev (');
    await dev.connect('dev', { cleanSession: false, keepAlive: 60 });
    await until('the device upstream again', () => logged(' as rc-dev (') > connects);
    await until('mosquitto sending the message again', () => /Sending PUBLISH to rc-dev \(d1, q2/.test(upstream.log));

    // The gateway sends the message it kept again (§6.13: same MsgId, DUP).
    const again = await nextPublish(dev);
    assert.equal(again.payload.toString(), 'held');
    await receiveQos2(dev, again);
    await until('the QoS 2 flow completed upstream', () => logged('Received PUBCOMP from rc-dev (') === 1);
    assert.equal(logged('Received PUBREC from rc-dev ('), 1);
    await noSecondCopy(pub, dev, again, 'rc-dev', 'rc/cmd/lamp');
  });

  /**
   * A transparent gateway on `url` (the broker, or a relay to it), its upstream client ids
   * prefixed `<name>-`; a device "dev" (clean session false) subscribed at QoS 2 to `<name>/cmd/#`;
   * a QoS 2 message "held" published to it, which the device has and has not answered.
   */
  async function holding(url: string, name: string): Promise<{ pub: mqtt.MqttClient; dev: SnClient; held: PublishPacket }> {
    const gw: BridgedGateway = await startBridgedGateway({ url, mode: 'transparent', clientIdPrefix: `${name}-` });
    closers.push(() => gw.close());
    const pub = await mqtt.connectAsync(broker.mosquitto.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());
    const dev = await SnClient.open(gw.udpPort);
    closers.push(() => dev.close());
    await dev.connect('dev', { cleanSession: false, keepAlive: 60 });
    await subscribe(dev, `${name}/cmd/#`, 2, 1);
    await pub.publishAsync(`${name}/cmd/lamp`, 'held', { qos: 2 });
    const held = await nextPublish(dev);
    assert.equal(held.payload.toString(), 'held');
    assert.equal(logged(`Received PUBREC from ${name}-dev (`), 0, 'no PUBREC upstream while the device has not answered');
    return { pub, dev, held };
  }

  /**
   * A marker after the message: a second copy of it would be ahead. The gateway's own
   * retransmissions of the device's PUBLISH (same MsgId, DUP, if T_RETRY ran out) are not copies.
   */
  async function noSecondCopy(pub: mqtt.MqttClient, dev: SnClient, held: PublishPacket, upstreamId: string, topic: string): Promise<void> {
    await pub.publishAsync(topic, 'marker', { qos: 2 });
    let next: PublishPacket;
    do next = await nextPublish(dev);
    while (next.dup && next.msgId === held.msgId);
    assert.equal(next.payload.toString(), 'marker');
    await receiveQos2(dev, next);
    await until("the marker's QoS 2 flow completed upstream", () => logged(`Received PUBCOMP from ${upstreamId} (`) === 2);
  }
});
