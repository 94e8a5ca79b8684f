/** Forwarder encapsulation (MQTT-SN.md §2.7) as a decorator over memory and UDP transports. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { decapsulate, encapsulate, ForwarderTransport, type ForwardedPeer } from '../../src/transport/forwarder.js';
import { MemoryTransport, type MemoryPeer } from '../../src/transport/memory.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { transportConformance } from './conformance.js';
import { hex, nasty, PINGREQ, Queue, vectors } from './helpers.js';

const NODE = hex('1234');
const NODE64 = hex('0013a20040a1b2c3');

/** What a forwarder sends back to its node: the reply, which must carry the node's id. */
function unwrapFor(nodeId: Buffer, frame: Buffer): Buffer {
  const parts = decapsulate(frame);
  assert.ok(parts, `not an encapsulated frame: ${frame.toString('hex')}`);
  assert.deepEqual(parts.nodeId, nodeId);
  return Buffer.from(parts.message);
}

transportConformance('forwarder over memory', async () => {
  const hub = new MemoryTransport({ maxFrameSize: 100 });
  const fwd = new ForwarderTransport(hub);
  await fwd.open();
  const forwarder = hub.connect('fwd');
  const received = new Queue<Buffer>();
  forwarder.on('frame', (_p, f) => received.push(unwrapFor(NODE, f)));
  return {
    transport: fwd,
    received,
    peerKey: 'mem:fwd/fwd:1234',
    limit: 100 - 5,
    canInjectOversize: false,
    overhead: 5,
    inject: (frame) => forwarder.send(forwarder.gateway, encapsulate(NODE, frame)),
    dispose: () => fwd.close(),
  };
});

// UDP unwraps by itself, by default: no decorator.
transportConformance('forwarder over UDP (8-byte node id)', async () => {
  const fwd = new UdpTransport({ host: '127.0.0.1', port: 0, maxFrameSize: 100 });
  await fwd.open();
  const port = fwd.address().port;
  const remote = dgram.createSocket('udp4');
  await new Promise<void>((r) => remote.bind(0, '127.0.0.1', r));
  const received = new Queue<Buffer>();
  remote.on('message', (m) => received.push(unwrapFor(NODE64, m)));
  return {
    transport: fwd,
    received,
    peerKey: `udp:127.0.0.1:${remote.address().port}/fwd:0013a20040a1b2c3`,
    limit: 100 - 11,
    canInjectOversize: true,
    acceptsOversizeIn: true,
    overhead: 11,
    inject: (frame) =>
      new Promise((resolve, reject) => remote.send(encapsulate(NODE64, frame), port, '127.0.0.1', (e) => (e ? reject(e) : resolve()))),
    dispose: async () => {
      await fwd.close();
      await new Promise<void>((r) => remote.close(() => r()));
    },
  };
});

async function setUp() {
  const hub = new MemoryTransport();
  const fwd = new ForwarderTransport(hub);
  await fwd.open();
  const forwarder = hub.connect('fwd');
  const atGateway = new Queue<{ peer: MemoryPeer | ForwardedPeer<MemoryPeer>; frame: Buffer }>();
  fwd.on('frame', (peer, frame) => atGateway.push({ peer, frame }));
  const atForwarder = new Queue<Buffer>();
  forwarder.on('frame', (_p, f) => atForwarder.push(f));
  return { hub, fwd, forwarder, atGateway, atForwarder };
}

describe('forwarder encapsulation', () => {
  const fixtures = vectors('mqtt-sn').filter((v) => v.name.startsWith('Forwarder encapsulation'));

  it('has the fixture vectors to test against', () => assert.equal(fixtures.length, 2));

  for (const v of fixtures) {
    it(`unwraps, attributes to forwarder + node, and wraps the reply: ${v.name}`, async () => {
      const { fwd, forwarder, atGateway, atForwarder } = await setUp();
      const frame = hex(v.hex);
      const nodeHex = v.decoded.wirelessNodeId_hex as string;
      const headerLen = v.decoded.length as number;
      await forwarder.send(forwarder.gateway, frame);
      const got = await atGateway.next();
      assert.equal(got.peer.key, `mem:fwd/fwd:${nodeHex}`);
      assert.deepEqual(got.frame, frame.subarray(headerLen));
      await fwd.send(got.peer, hex('0217')); // PINGRESP
      // Same node id, radius 0 (Ctrl reserved bits 0): MQTT-SN.md §2.7.
      assert.equal((await atForwarder.next()).toString('hex'), `${(3 + nodeHex.length / 2).toString(16).padStart(2, '0')}fe00${nodeHex}0217`);
    });
  }

  it('passes frames that are not encapsulated through, with the sender as peer', async () => {
    const { fwd, forwarder, atGateway, atForwarder } = await setUp();
    await forwarder.send(forwarder.gateway, PINGREQ);
    const got = await atGateway.next();
    assert.equal(got.peer.key, 'mem:fwd');
    assert.deepEqual(got.frame, PINGREQ);
    await fwd.send(got.peer, hex('0217'));
    assert.deepEqual(await atForwarder.next(), hex('0217'));
  });

  it('tells apart nodes behind one forwarder, and answers each under its own id', async () => {
    const { fwd, forwarder, atGateway, atForwarder } = await setUp();
    await forwarder.send(forwarder.gateway, encapsulate(hex('0001'), PINGREQ));
    await forwarder.send(forwarder.gateway, encapsulate(hex('0002'), PINGREQ));
    const one = await atGateway.next();
    const two = await atGateway.next();
    assert.notEqual(one.peer.key, two.peer.key);
    await fwd.send(two.peer, nasty(2));
    await fwd.send(one.peer, nasty(1));
    assert.deepEqual(unwrapFor(hex('0002'), await atForwarder.next()), nasty(2));
    assert.deepEqual(unwrapFor(hex('0001'), await atForwarder.next()), nasty(1));
  });

  it('drops malformed encapsulations: Length < 3, Length beyond the datagram, nested (MQTT-SN.md §7)', async () => {
    const { fwd, forwarder, atGateway } = await setUp();
    for (const bad of ['02fe0216', '09fe001234', '05fe001234' + '05fe0056780216']) {
      await forwarder.send(forwarder.gateway, hex(bad));
    }
    await forwarder.send(forwarder.gateway, encapsulate(NODE, PINGREQ));
    const got = await atGateway.next();
    assert.deepEqual(got.frame, PINGREQ, 'only the good frame gets through');
    assert.equal(fwd.stats().dropped.malformed, 3);
    assert.equal(fwd.stats().framesIn, 4, 'the wrapped transport saw all four');
  });

  it('rebuilds forwarded peers from their keys', async () => {
    const { fwd, atForwarder } = await setUp();
    const peer = fwd.peerFromKey('mem:fwd/fwd:00ff');
    assert.ok(peer);
    await fwd.send(peer, PINGREQ);
    assert.equal((await atForwarder.next()).toString('hex'), '05fe0000ff0216');
    assert.equal(fwd.peerFromKey('mem:nobody/fwd:00ff'), undefined);
    assert.equal(fwd.peerFromKey('mem:fwd/fwd:0'), undefined);
  });

  it('refuses a reply that would not fit once wrapped', async () => {
    const hub = new MemoryTransport({ maxFrameSize: 20 });
    const fwd = new ForwarderTransport(hub);
    await fwd.open();
    const forwarder = hub.connect('f');
    const p = fwd.peerFromKey(`${forwarder.peer.key}/fwd:1234`)!;
    await fwd.send(p, Buffer.alloc(15, 1)); // 5-byte header + 15 = the hub's 20
    await assert.rejects(fwd.send(p, Buffer.alloc(16, 1)), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE);
    assert.equal(fwd.stats().sendErrors, 1);
  });

  it('encodes radius in Ctrl bits 1-0 and rejects a node id too long for the 1-byte Length', () => {
    assert.equal(encapsulate(NODE, PINGREQ, 3).toString('hex'), '05fe0312340216');
    assert.equal(encapsulate(NODE, PINGREQ, 7).toString('hex'), '05fe0312340216');
    assert.deepEqual(decapsulate(hex('05fe0312340216'))?.radius, 3);
    assert.throws(() => encapsulate(Buffer.alloc(253), PINGREQ), RangeError);
    assert.equal(decapsulate(PINGREQ), undefined);
    // a 3-byte Length whose high byte happens to be 0xFE is not an encapsulation
    assert.equal(decapsulate(hex('01fe00')), undefined);
  });
});
