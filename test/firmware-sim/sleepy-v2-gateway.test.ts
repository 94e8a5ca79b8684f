/**
 * A sleepy MQTT-SN 2.0 node (firmware-sim's library, `protocol: '2'`) against the gateway CLI on
 * the shipped config: it subscribes, sleeps with SLEEPREQ, messages published meanwhile by an MQTT
 * client on the local listener are buffered by the gateway, and when the node wakes (PINGREQ) it
 * gets every one of them, in order, before PINGRESP puts it back to sleep [CSD01 4.14.2]. A
 * message published while it is asleep again is kept for the next wake, not lost or sent early.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { SimNode, UdpLink, parseUdpUrl } from '../../firmware-sim/index.js';
import { expectNothing } from '../helpers/wait.js';
import { startShippedProcess, type ShippedProcess } from '../interop/shipped-process.js';

describe('a sleepy 2.0 firmware-sim node against the gateway as shipped', () => {
  let gw: ShippedProcess;
  let node: SimNode | undefined;
  let pub: mqtt.MqttClient | undefined;

  before(async () => {
    gw = await startShippedProcess();
  });
  after(async () => {
    await node?.close();
    await pub?.endAsync();
    await gw?.close();
  });

  it('gets what was published while it slept, in order, when it wakes; and again on the next wake', { timeout: 60_000 }, async () => {
    node = new SimNode({ link: await UdpLink.open({ gateway: parseUdpUrl(`udp://127.0.0.1:${gw.udpPort}`) }), protocol: '2', reconnect: false });
    const early: string[] = [];
    node.on('message', ({ payload }) => early.push(payload.toString()));
    await node.connect({ clientId: 'sleepy-v2', cleanSession: true, keepAlive: 60, sessionExpiry: 3600 });
    await node.subscribe('cmd/sleepy-v2', 1);
    await node.sleep(120);
    assert.equal(node.state, 'asleep');

    pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'sleepy-v2-sender' });
    for (const n of [1, 2, 3]) await pub.publishAsync('cmd/sleepy-v2', `msg-${n}`, { qos: 1 });
    // Asleep: the gateway holds them (a delivery now would be a PUBLISH to a sleeping radio). The
    // barrier: one more acknowledged publish through the same broker core, after the three.
    await expectNothing('a delivery to the sleeping node', () => pub!.publishAsync('other/topic', 'barrier', { qos: 1 }), () => early);

    const first = await node.wake();
    assert.deepEqual(first.map((m) => [m.topic, m.payload.toString(), m.qos]), [
      ['cmd/sleepy-v2', 'msg-1', 1],
      ['cmd/sleepy-v2', 'msg-2', 1],
      ['cmd/sleepy-v2', 'msg-3', 1],
    ]);
    assert.equal(node.state, 'asleep', 'PINGRESP ended the wake');

    await pub.publishAsync('cmd/sleepy-v2', 'msg-4', { qos: 1 });
    const second = await node.wake();
    assert.deepEqual(second.map((m) => m.payload.toString()), ['msg-4'], 'buffered again, and nothing delivered twice');
    await node.disconnect();
  });
});
