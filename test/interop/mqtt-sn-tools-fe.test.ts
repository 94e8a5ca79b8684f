/**
 * mqtt-sn-tools with `--fe` (mqtt-sn-pub / mqtt-sn-sub / mqtt-sn-serial-bridge), replayed byte
 * for byte against the shipped config (issue #17, item 10). With `--fe` every packet goes out in
 * forwarder encapsulation (MQTT-SN 1.2 §5.5): Length = 3 + node id length, 0xFE, Ctrl 0, the
 * wireless node id (by default the tool's PID in upper-case hex ASCII, `-w`/`--wlnid` sets it),
 * then the packet. The tool refuses any answer that is not encapsulated, so the answers must be.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex, message, startShipped, udpClient, until, utf8, type ShippedGateway } from './shipped-gateway.js';

/** What mqtt-sn-tools puts around a packet with --fe (no radius: Ctrl 0). */
function fe(nodeId: string, packet: Buffer): Buffer {
  const id = utf8(nodeId);
  return Buffer.concat([Buffer.from([3 + id.length, 0xfe, 0x00]), id, packet]);
}

/** The packet inside an encapsulated answer, after checking it is addressed to `nodeId`. */
function unwrap(nodeId: string, frame: Buffer): string {
  const id = utf8(nodeId);
  assert.equal(frame[1], 0xfe, `answer not encapsulated: ${frame.toString('hex')}`);
  assert.equal(frame[0], 3 + id.length);
  assert.deepEqual(frame.subarray(3, 3 + id.length), id, 'the answer carries the node id it answers');
  return frame.subarray(3 + id.length).toString('hex');
}

// CONNECT: flags 0x04 (clean session), protocol 0x01, keep-alive 10 s, the tool's client id.
const connect = (clientId: string): Buffer => message('04', '04', '01', '000a', utf8(clientId));

describe('interop: mqtt-sn-tools --fe, shipped config', () => {
  let gw: ShippedGateway;

  before(async () => {
    gw = await startShipped();
  });
  after(async () => {
    await gw.close();
  });

  it('mqtt-sn-pub --fe: CONNECT, REGISTER, PUBLISH QoS 0 and 1, DISCONNECT, every answer encapsulated', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      const node = '1A2B'; // PID 6699, as the tool writes it
      c.send(fe(node, connect('mqtt-sn-tools-6699')));
      assert.equal(unwrap(node, await c.received.next(5000, 'CONNACK')), '030500');
      // REGISTER: topic id 0, MsgId 1, "fe/temp"
      c.send(fe(node, message('0a', '0000', '0001', utf8('fe/temp'))));
      const regack = unwrap(node, await c.received.next(5000, 'REGACK'));
      assert.match(regack, /^070b[0-9a-f]{4}000100$/);
      const topicId = regack.slice(4, 8);
      // PUBLISH QoS 0 (flags 0x00), then QoS 1 (flags 0x20) with MsgId 2
      c.send(fe(node, message('0c', '00', topicId, '0000', utf8('21.5'))));
      c.send(fe(node, message('0c', '20', topicId, '0002', utf8('21.6'))));
      assert.equal(unwrap(node, await c.received.next(5000, 'PUBACK')), `070d${topicId}000200`);
      await until(() => gw.published.filter((m) => m.topic === 'fe/temp').length === 2, 5000, 'both messages at the broker');
      assert.deepEqual(gw.published.filter((m) => m.topic === 'fe/temp').map((m) => m.payload.toString()), ['21.5', '21.6']);
      c.send(fe(node, message('18')));
      assert.equal(unwrap(node, await c.received.next(5000, 'DISCONNECT')), '0218');
    } finally {
      await c.close();
    }
  });

  it('two tools behind one socket keep their own identity (sessions keyed on forwarder and node id)', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      c.send(fe('A1', connect('fe-node-a')));
      assert.equal(unwrap('A1', await c.received.next()), '030500');
      c.send(fe('B2', connect('fe-node-b')));
      assert.equal(unwrap('B2', await c.received.next()), '030500');
      // PINGREQ from each: each is answered under its own id, so neither took over the other.
      c.send(fe('A1', hex('0216')));
      assert.equal(unwrap('A1', await c.received.next()), '0217');
      c.send(fe('B2', hex('0216')));
      assert.equal(unwrap('B2', await c.received.next()), '0217');
      const peers = gw.lines.filter((l) => l.msg === 'client connected' && String(l.obj.clientId).startsWith('fe-node-')).map((l) => l.obj.peer);
      assert.equal(peers.length, 2);
      assert.match(String(peers[0]), /^udp:127\.0\.0\.1:\d+\/fwd:4131$/);
      assert.match(String(peers[1]), /^udp:127\.0\.0\.1:\d+\/fwd:4232$/);
    } finally {
      await c.close();
    }
  });
});

describe('interop: mqtt-sn-tools --fe against "forwarder": false', () => {
  let gw: ShippedGateway;

  before(async () => {
    // The switch under test: an operator who wants no forwarded traffic on this port.
    gw = await startShipped((json) => {
      json.transports[0]!.forwarder = false;
    });
  });
  after(async () => {
    await gw.close();
  });

  it('refuses the wrapped CONNECT and says so at info, once per burst, with the count held back', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      for (let i = 0; i < 3; i++) c.send(fe('1A2B', connect('mqtt-sn-tools-6699')));
      c.send(connect('bare-client')); // a bare CONNECT is served as ever
      assert.equal((await c.received.next()).toString('hex'), '030500', 'the first answer is the bare CONNACK');
      const refused = gw.lines.filter((l) => l.level === 'info' && l.obj.reason === 'unsupported');
      assert.equal(refused.length, 1);
      assert.match(refused[0]!.msg, /forwarder-encapsulated datagram refused/);
      assert.equal(gw.running.transports[0]!.stats().dropped.unsupported, 3);
    } finally {
      await c.close();
    }
  });
});
