/**
 * Transparent mode, the device's upstream connection cut while the device holds a QoS 2 message
 * (it has the PUBLISH and has not answered PUBREC): the broker, which has no PUBREC, sends the
 * message again on the reconnected connection; the gateway does not hand it to the device a second
 * time, and the device's PUBREC, when it comes, completes the flow on the new connection. The
 * device gets the message exactly once; the broker sees PUBREC, PUBREL, PUBCOMP, and sends it no
 * more. The cut is a TCP relay between the gateway and mosquitto closing every connection, as a
 * network outage or a NAT timeout would.
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

describe('durability: transparent mode, a QoS 2 message the device holds across a cut of its upstream connection', () => {
  const broker = loggingBroker();
  const { closers, logged } = broker;

  it('reaches the device once, and its PUBREC completes the flow on the new connection', { timeout: 60_000 }, async () => {
    const upstream = broker.mosquitto;
    const cutter = await relay(upstream.port);
    closers.push(() => cutter.close());
    const gw: BridgedGateway = await startBridgedGateway({ url: cutter.url, mode: 'transparent', clientIdPrefix: 'ld-' });
    closers.push(() => gw.close());
    const pub = await mqtt.connectAsync(upstream.url, { protocolVersion: 4, reconnectPeriod: 0 });
    closers.push(() => pub.endAsync());

    const dev = await SnClient.open(gw.udpPort);
    closers.push(() => dev.close());
    await dev.connect('dev', { cleanSession: false, keepAlive: 60 });
    await subscribe(dev, 'ld/cmd/#', 2, 1);

    await pub.publishAsync('ld/cmd/lamp', 'held', { qos: 2 });
    const held = await nextPublish(dev);
    assert.equal(held.payload.toString(), 'held');
    assert.equal(logged('Received PUBREC from ld-dev ('), 0, 'no PUBREC upstream while the device has not answered');

    const connects = logged(' as ld-dev (');
    cutter.cut();
    // The gateway reconnects the device's session (clean session false), and mosquitto sends the
    // message again, DUP set, as it has no PUBREC for it (MQTT 3.1.1 §4.4).
    await until('the device upstream again', () => logged(' as ld-dev (') > connects);
    await until('mosquitto sending the message again', () => /Sending PUBLISH to ld-dev \(d1, q2/.test(upstream.log));

    await receiveQos2(dev, held);
    await until('the QoS 2 flow completed upstream', () => logged('Received PUBCOMP from ld-dev (') === 1);
    assert.equal(logged('Received PUBREC from ld-dev ('), 1);

    // A marker after it: a second copy of the message would be ahead of it. The gateway's own
    // retransmissions of the first PUBLISH (same MsgId, DUP, if T_RETRY ran out) are not copies.
    await pub.publishAsync('ld/cmd/lamp', 'marker', { qos: 2 });
    let next: PublishPacket;
    do next = await nextPublish(dev);
    while (next.dup && next.msgId === held.msgId);
    assert.equal(next.payload.toString(), 'marker');
    await receiveQos2(dev, next);
    await until("the marker's QoS 2 flow completed upstream", () => logged('Received PUBCOMP from ld-dev (') === 2);
  });
});
