/**
 * Admission over real UDP with the shipped defaults (issue #16 §1): an idle gateway refuses no
 * honest work from one address, whether it comes from many source ports (a NAT) or through one
 * forwarder socket. The gateway CLI runs as a process, as deployed; an MQTT subscriber on its
 * broker listener sees what got through.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import mqtt from 'mqtt';
import { decode, DecodeError, encode, type Packet } from '../../src/codec/index.js';
import { startGateway, type GatewayProcess } from './gateway-process.js';
import { until } from '../helpers/wait.js';

const NAT_CLIENTS = 200;
const FORWARDED_NODES = 1000;

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

const connect = (clientId: string): Packet => ({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 120, clientId });

describe('admission over UDP: an idle gateway serves one busy address in full (shipped defaults)', () => {
  let gw: GatewayProcess;

  before(async () => {
    gw = await startGateway({}, { logLevel: 'warn' });
  });

  after(async () => {
    await gw?.stop();
  });

  it(`connects ${NAT_CLIENTS} clients from one address at once, and each one's QoS 1 publish arrives`, async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
    const arrived = new Set<string>();
    sub.on('message', (_t, payload) => arrived.add(payload.toString()));
    await sub.subscribeAsync('na', { qos: 1 });
    const sockets = await Promise.all(Array.from({ length: NAT_CLIENTS }, udpSocket));
    const firstConnack = new Map<number, number>();
    const acked = new Set<number>();
    try {
      sockets.forEach((s, i) =>
        s.on('message', (m) => {
          const p = decode(m);
          if (p instanceof DecodeError) return;
          if (p.type === 'CONNACK' && !firstConnack.has(i)) {
            firstConnack.set(i, p.returnCode);
            // A short topic name needs no REGISTER (MQTT-SN 1.2 §3); QoS 1 so that the PUBACK says it was taken.
            if (p.returnCode === 0) s.send(encode({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1, topicIdType: 'short', topicName: 'na', payload: Buffer.from(`nat-${i}`) }), gw.udpPort, '127.0.0.1');
          }
          if (p.type === 'PUBACK' && p.returnCode === 0) acked.add(i);
        }),
      );
      // All at once, as a site behind one NAT address after a power cut; a datagram the kernel
      // dropped is sent again (only those still unanswered), as a device would after T_RETRY.
      const kick = (): void =>
        sockets.forEach((s, i) => {
          if (!firstConnack.has(i)) s.send(encode(connect(`nat-${i}`)), gw.udpPort, '127.0.0.1');
          else if (firstConnack.get(i) === 0 && !acked.has(i)) s.send(encode({ type: 'PUBLISH', dup: true, qos: 1, retain: false, msgId: 1, topicIdType: 'short', topicName: 'na', payload: Buffer.from(`nat-${i}`) }), gw.udpPort, '127.0.0.1');
        });
      kick();
      let polls = 0;
      await until(() => {
        if (polls++ > 0) kick();
        return acked.size === NAT_CLIENTS || [...firstConnack.values()].some((r) => r !== 0);
      }, 30_000, 'every client connected and its publish acknowledged', 1000);
      assert.deepEqual([...firstConnack.entries()].filter(([, r]) => r !== 0), [], 'no client was refused');
      await until(() => arrived.size === NAT_CLIENTS, 10_000, 'every publish at the subscriber');
    } finally {
      for (const s of sockets) s.close();
      await sub.endAsync();
    }
  });

  it(`connects ${FORWARDED_NODES} nodes behind one forwarder socket at once`, async () => {
    const s = await udpSocket();
    const answers = new Map<number, number>();
    s.on('message', (m) => {
      const outer = decode(m);
      if (outer instanceof DecodeError || outer.type !== 'ENCAPSULATED') return;
      const p = decode(outer.message);
      if (!(p instanceof DecodeError) && p.type === 'CONNACK') answers.set(outer.wirelessNodeId.readUInt32BE(0), p.returnCode);
    });
    const send = (node: number): void => {
      const id = Buffer.alloc(4);
      id.writeUInt32BE(node);
      s.send(encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: id, message: encode(connect(`fwd-${node}`)) }), gw.udpPort, '127.0.0.1');
    };
    try {
      // In windows of 250, so that the kernel's buffers are not what is measured.
      for (let from = 0; from < FORWARDED_NODES; from += 250) {
        for (let n = from; n < from + 250; n++) send(n);
        let polls = 0;
        await until(() => {
          if (polls++ > 0) for (let n = from; n < from + 250; n++) if (!answers.has(n)) send(n);
          return [...Array(250).keys()].every((k) => answers.has(from + k));
        }, 30_000, `CONNACKs for nodes ${from}..${from + 249}`, 500);
      }
      assert.deepEqual([...answers.entries()].filter(([, r]) => r !== 0).slice(0, 5), [], 'no node was refused');
      assert.equal(answers.size, FORWARDED_NODES);
    } finally {
      s.close();
    }
  });
});
