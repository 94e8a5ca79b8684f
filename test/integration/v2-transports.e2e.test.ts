/**
 * Issue #18: both MQTT-SN versions on every transport. The shipped gateway with the serial lines a
 * user adds (real pty pairs made by socat, opened by the real serialport binding on both ends):
 * one SLIP device, a SLIP line of nodes behind a 1.2 forwarder (0xFE), two XBee coordinators
 * (API mode 1 and 2, the simulator playing the module and its radios); and nodes behind a 1.2
 * forwarder on the shipped UDP port. On each, a 2.0 node (and a 1.2 node where the medium carries
 * more than one) does CONNECT, SUBSCRIBE QoS 1, PUBLISH QoS 1 up and takes a QoS 1 message down,
 * every frame it gets checked against its own version (test/helpers/strict-node.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { SerialMedium, type Framing, type Link } from '../../firmware-sim/index.js';
import type { ProtocolVersion } from '../../firmware-sim/node-types.js';
import { decapsulate, encapsulate } from '../../src/transport/forwarder.js';
import { strictNode, type StrictNode } from '../helpers/strict-node.js';
import { startShipped, until, type ShippedGateway } from '../interop/shipped-gateway.js';
import { ptyPair } from '../transport/helpers.js';

/** A node behind a 1.2 forwarder on UDP: its frames wrapped with its node id (MQTT-SN 1.2 §5.5), the answers unwrapped. */
async function udpForwarded(port: number, nodeId: Buffer): Promise<Link> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    name: `udp-fwd#${nodeId.toString('hex')}`,
    send: (frame) => void socket.send(encapsulate(nodeId, frame), port, '127.0.0.1'),
    onFrame: (cb) =>
      socket.on('message', (m) => {
        const d = decapsulate(m);
        if (d && d.nodeId.equals(nodeId)) cb(d.message);
      }),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

describe('MQTT-SN 2.0 (and 1.2 beside it) on serial SLIP, XBee API 1 and 2, and behind 1.2 forwarders', () => {
  const ptys = { slip: ptyPair(), slipFwd: ptyPair(), api1: ptyPair(), api2: ptyPair() };
  const media: SerialMedium[] = [];
  const nodes: StrictNode[] = [];
  let gw: ShippedGateway | undefined;

  before(async () => {
    await Promise.all(Object.values(ptys).map((p) => p.start()));
    gw = await startShipped((json) => {
      json.transports.push(
        { type: 'serial', path: ptys.slip.a, framing: 'slip' },
        { type: 'serial', path: ptys.slipFwd.a, framing: 'slip', forwarder: true },
        { type: 'serial', path: ptys.api1.a, framing: 'xbee-api1' },
        { type: 'serial', path: ptys.api2.a, framing: 'xbee-api2' },
      );
      // ADVERTISE is a 1.2 broadcast to every node of a line, whatever version it speaks (a 2.0
      // node reads Packet Type 0x00 as reserved); off, so the strict check sees answers only.
      json.timers = { ...(json.timers as Record<string, unknown> | undefined), advertiseIntervalSec: 0 };
    });
    await until(() => gw!.running.transports.every((t) => t.state === 'open'), 10_000, 'every line open');
  });
  // Guarded: a gateway that refuses the config must fail the tests, not leave socat running.
  after(async () => {
    for (const n of nodes) await n.node.close();
    for (const m of media) await m.close();
    await gw?.close();
    await Promise.all(Object.values(ptys).map((p) => p.dispose()));
  });

  async function line(path: string, framing: Framing, forwarder = false): Promise<SerialMedium> {
    const m = await SerialMedium.open({ path, baudRate: 115200, framing, forwarder });
    media.push(m);
    return m;
  }

  /** CONNECT, SUBSCRIBE QoS 1, PUBLISH QoS 1 up, a QoS 1 message down; `name` tells the topics apart. */
  async function roundTrip(link: Link, protocol: ProtocolVersion, name: string): Promise<void> {
    const n = strictNode(link, protocol, { clientId: name });
    nodes.push(n);
    await n.node.connect({ keepAlive: 60 });
    assert.equal((await n.node.subscribe(`tr/${name}/down`, 1)).grantedQos, 1);
    // 2.0 names the topic inside the PUBLISH [2.4]; 1.2 registers it first (§6.5).
    const up = `tr/${name}/up`;
    await n.node.publish({ ...(protocol === '2' ? { topicName: up } : { topic: up }), payload: `up from ${name}`, qos: 1 });
    await until(() => gw!.published.some((m) => m.topic === up), 10_000, `${up} at the broker`);
    assert.deepEqual(gw!.published.filter((m) => m.topic === up).map((m) => [m.payload.toString(), m.qos]), [[`up from ${name}`, 1]]);
    await gw!.running.broker.publish({ topic: `tr/${name}/down`, payload: Buffer.from(`down to ${name}`), qos: 1, retain: false });
    await until(() => n.got.length > 0, 10_000, `the message down at ${name}`);
    assert.deepEqual(n.got.map((m) => [m.topic, m.payload.toString(), m.qos]), [[`tr/${name}/down`, `down to ${name}`, 1]]);
    assert.deepEqual(n.strays, [], `${name} got only ${protocol === '2' ? '2.0' : '1.2'}`);
    const s = gw!.running.gateway.sessions.get(name);
    assert.equal(s?.version, protocol === '2' ? '2.0' : '1.2');
  }

  it('SLIP: a 2.0 device', async () => {
    const m = await line(ptys.slip.b, 'slip');
    await roundTrip(m.link(0), '2', 'slip-20');
  });

  it('SLIP behind a 1.2 forwarder: a 2.0 and a 1.2 node on one line, 0xFE around both', async () => {
    const m = await line(ptys.slipFwd.b, 'slip', true);
    await Promise.all([roundTrip(m.link(0), '2', 'fwd-20'), roundTrip(m.link(1), '1.2', 'fwd-12')]);
  });

  for (const framing of ['xbee-api1', 'xbee-api2'] as const) {
    it(`${framing}: a 2.0 and a 1.2 radio behind one coordinator`, async () => {
      const m = await line(framing === 'xbee-api1' ? ptys.api1.b : ptys.api2.b, framing);
      await Promise.all([roundTrip(m.link(0), '2', `${framing}-20`), roundTrip(m.link(1), '1.2', `${framing}-12`)]);
    });
  }

  it('UDP behind a 1.2 forwarder (0xFE with a header-only Length around a 2.0 packet): a 2.0 and a 1.2 node', async () => {
    const port = gw!.udpPort;
    const [a, b] = await Promise.all([udpForwarded(port, Buffer.from('c0a80001', 'hex')), udpForwarded(port, Buffer.from('c0a80002', 'hex'))]);
    await Promise.all([roundTrip(a, '2', 'udpfwd-20'), roundTrip(b, '1.2', 'udpfwd-12')]);
  });
});
