/**
 * A trusted front end's node ids carry the device's address (src/transport/front-end-address.ts):
 * the UDP transport turns them into a peer named and counted by the device's address, answers it
 * through the front end, and reads anyone else's node ids as opaque, as before.
 */
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decapsulate, encapsulate } from '../../src/transport/forwarder.js';
import { deviceNodeId, deviceOfNodeId, parseSourcePattern, TrustedSources } from '../../src/transport/front-end-address.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { PINGREQ, Queue } from './helpers.js';

const PINGRESP = Buffer.from('0217', 'hex');

describe('front-end node ids', () => {
  it('carry IPv4 in 6 bytes and IPv6 in 18, a port after each, and read back the same', () => {
    assert.equal(deviceNodeId('203.0.113.5', 40001).toString('hex'), 'cb007105' + '9c41');
    assert.equal(deviceNodeId('::ffff:203.0.113.5', 40001).toString('hex'), 'cb0071059c41', 'a mapped address is IPv4');
    assert.equal(deviceNodeId('2001:db8::5', 1).toString('hex'), '20010db8000000000000000000000005' + '0001');
    assert.equal(deviceNodeId('fe80::1%eth0', 2).toString('hex'), 'fe800000000000000000000000000001' + '0002');
    for (const [address, port] of [['203.0.113.5', 40001], ['2001:db8::5', 1], ['::1', 65535], ['::', 7], ['1::', 8], ['64:ff9b::1.2.3.4', 9]] as const) {
      const back = deviceOfNodeId(deviceNodeId(address, port));
      assert.deepEqual(back, { address: address === '64:ff9b::1.2.3.4' ? '64:ff9b::102:304' : address, port });
    }
    assert.equal(deviceOfNodeId(Buffer.from('1234', 'hex')), undefined, 'any other length is no device address');
  });

  it('trust an address, a CIDR block, or one address and port; refuse anything else with a reason', () => {
    const t = new TrustedSources(['10.0.0.5', '10.1.0.0/16', '127.0.0.1:1884', '[::1]:1885']);
    assert.equal(t.trusts('10.0.0.5', 9), true);
    assert.equal(t.trusts('10.1.9.9', 9), true);
    assert.equal(t.trusts('10.2.0.1', 9), false);
    assert.equal(t.trusts('127.0.0.1', 1884), true);
    assert.equal(t.trusts('127.0.0.1', 1885), false);
    assert.equal(t.trusts('::1', 1885), true);
    assert.equal(new TrustedSources([]).trusts('127.0.0.1', 1), false);
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.1:0', '[::1]:99999', 'fd00::/129']) assert.equal(typeof parseSourcePattern(bad), 'string', bad);
  });
});

async function setUp(frontEnds: (frontEndPort: number) => string[]) {
  const frontEnd = dgram.createSocket('udp4');
  await new Promise<void>((r) => frontEnd.bind(0, '127.0.0.1', r));
  const fePort = frontEnd.address().port;
  const t = new UdpTransport({ host: '127.0.0.1', port: 0, frontEnds: frontEnds(fePort) });
  await t.open();
  const atGateway = new Queue<{ key: string; address: string | undefined; frame: Buffer; peer: Parameters<UdpTransport['send']>[0] }>();
  t.on('frame', (peer, frame) => atGateway.push({ key: peer.key, address: peer.address, frame, peer }));
  const atFrontEnd = new Queue<Buffer>();
  frontEnd.on('message', (m) => atFrontEnd.push(m));
  const send = (b: Buffer): void => frontEnd.send(b, t.address().port, '127.0.0.1');
  const close = async (): Promise<void> => {
    await t.close();
    await new Promise<void>((r) => frontEnd.close(() => r()));
  };
  return { t, fePort, atGateway, atFrontEnd, send, close };
}

describe('UDP transport: trusted front ends', () => {
  it('says it is behind front ends only with frontEnds configured (the gateway keeps restored sessions dormant then)', () => {
    assert.equal(new UdpTransport({ host: '127.0.0.1', port: 0, frontEnds: ['127.0.0.1'] }).behindFrontEnds, true);
    assert.equal(new UdpTransport({ host: '127.0.0.1', port: 0, frontEnds: [] }).behindFrontEnds, false);
    assert.equal(new UdpTransport({ host: '127.0.0.1', port: 0 }).behindFrontEnds, false);
  });

  it("names a front end's device by the device's address and port, and answers it wrapped through the front end", async () => {
    const { t, fePort, atGateway, atFrontEnd, send, close } = await setUp((port) => [`127.0.0.1:${port}`]);
    try {
      const id = deviceNodeId('203.0.113.5', 40001);
      send(encapsulate(id, PINGREQ));
      const got = await atGateway.next();
      assert.equal(got.key, `udp:203.0.113.5:40001/fe:127.0.0.1:${fePort}`);
      assert.equal(got.address, '203.0.113.5', 'per-address limits count the device, not the front end');
      assert.deepEqual(got.frame, PINGREQ);
      await t.send(got.peer, PINGRESP);
      const reply = decapsulate(await atFrontEnd.next());
      assert.deepEqual(reply?.nodeId, id);
      assert.deepEqual(reply?.message, PINGRESP);

      // An IPv6 device through the same (IPv4) front end, and back to it from its key alone.
      send(encapsulate(deviceNodeId('2001:db8::5', 7), PINGREQ));
      const v6 = await atGateway.next();
      assert.equal(v6.key, `udp:[2001:db8::5]:7/fe:127.0.0.1:${fePort}`);
      const again = t.peerFromKey(v6.key);
      assert.ok(again);
      await t.send(again, PINGRESP);
      assert.deepEqual(decapsulate(await atFrontEnd.next())?.nodeId, deviceNodeId('2001:db8::5', 7));
    } finally {
      await close();
    }
  });

  it("keeps an untrusted forwarder's node ids opaque, as before", async () => {
    const { t, fePort, atGateway, send, close } = await setUp((port) => [`127.0.0.1:${port + 1}`]);
    try {
      send(encapsulate(deviceNodeId('203.0.113.5', 40001), PINGREQ));
      const got = await atGateway.next();
      assert.equal(got.key, `udp:127.0.0.1:${fePort}/fwd:cb0071059c41`);
      assert.equal(got.address, '127.0.0.1');
      assert.equal(t.peerFromKey(`udp:203.0.113.5:40001/fe:127.0.0.1:${fePort}`), undefined, 'no front-end peer from an untrusted address');
    } finally {
      await close();
    }
  });

  it("reads a trusted front end's node id of another length as opaque", async () => {
    const { atGateway, fePort, send, close } = await setUp(() => ['127.0.0.0/8']);
    try {
      send(encapsulate(Buffer.from('1234', 'hex'), PINGREQ));
      assert.equal((await atGateway.next()).key, `udp:127.0.0.1:${fePort}/fwd:1234`);
    } finally {
      await close();
    }
  });
});
