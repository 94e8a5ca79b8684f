/**
 * A device the front end has forgotten (its UDP session idle longer than nginx's proxy_timeout):
 * a message the gateway sends it goes to a proxy port nobody reads. When the device next sends,
 * nginx opens a new session from a new port, the gateway does not know that address and answers
 * DISCONNECT, the device CONNECTs with clean session false, takes its session over and gets the
 * message it missed. The README's Deployment section says why proxy_timeout must exceed keep-alive x 1.5;
 * this is what happens when it does not, and it loses nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { Device, DEFAULT_DEVICE, sleep } from './device.js';
import { planFrontEnd } from './front-end.js';
import { GatewayInstance } from './gateway-instance.js';

describe('cluster: a device whose front-end session timed out', () => {
  it('gets the message sent while it was unreachable after DISCONNECT and CONNECT (clean session false)', { timeout: 120_000 }, async () => {
    const broker = await Mosquitto.start();
    // nginx's own timeout is under test here, whatever MQTTSN_CLUSTER_FRONTEND says.
    const choice = planFrontEnd('nginx-stream');
    const udp = { host: '127.0.0.1', port: await freeUdpPort() };
    const gw = await GatewayInstance.start({ gatewayId: 1, udp, httpPort: await freeTcpPort(), transport: choice.transportFor(udp), brokerUrl: `mqtt://127.0.0.1:${broker.port}`, clientIdPrefix: 'fleet-' });
    // proxy_timeout deliberately shorter than the keep-alive (60 s), to make nginx forget the device.
    const PROXY_TIMEOUT_SEC = 2;
    const front = await choice.start([udp], PROXY_TIMEOUT_SEC);
    const dev = new Device('pt-1', front.listen, { ...DEFAULT_DEVICE, keepAliveSec: 60 });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'pt-publisher' });
    try {
      await dev.open();
      await dev.connect();
      await dev.subscribe('pt/x');
      await dev.ping();
      // nginx's idle timer is what is under test and nothing shows when it fires: wait it out.
      await sleep((PROXY_TIMEOUT_SEC + 1.5) * 1000);
      await pub.publishAsync('pt/x', 'while-forgotten', { qos: 1 });
      // The device's next packets: DISCONNECT (a new proxy port is an unknown peer), CONNECT, the message.
      const loop = dev.run(() => dev.ping(), () => Promise.resolve(), () => 500);
      await until(() => dev.received.has('while-forgotten'), 30_000, 'the message sent while the device was forgotten');
      dev.close();
      await loop;
      // Had nginx still known the device, the message would have come without a DISCONNECT.
      assert.ok(dev.disconnectsFromGateway >= 1, 'the gateway did not answer the new proxy port with DISCONNECT');
    } finally {
      dev.close();
      await pub.endAsync();
      await front.stop();
      await gw.stop();
      await broker.close();
    }
  });
});
