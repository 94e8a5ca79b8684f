/** UDP adapter: real sockets on 127.0.0.1 and ::1, ports chosen at run time. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { UdpTransport, udpPeer, type UdpOptions, type UdpSource } from '../../src/transport/udp.js';
import type { Peer } from '../../src/transport/types.js';
import { transportConformance, type Harness } from './conformance.js';
import { encapsulate } from '../../src/transport/forwarder.js';
import { hex, nasty, PINGREQ, publish, Queue } from './helpers.js';

async function bindRaw(host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => s.bind(0, host, resolve));
  return s;
}

const closeRaw = (s: dgram.Socket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

async function udpHarness(host: string): Promise<Harness> {
  const transport = new UdpTransport({ host, port: 0, maxFrameSize: 100 });
  await transport.open();
  const { port } = transport.address();
  const remote = await bindRaw(host);
  const received = new Queue<Buffer>();
  remote.on('message', (m) => received.push(m));
  const rport = remote.address().port;
  return {
    transport,
    received,
    peerKey: host.includes(':') ? `udp:[${host}]:${rport}` : `udp:${host}:${rport}`,
    limit: 100,
    canInjectOversize: true,
    acceptsOversizeIn: true,
    inject: (frame) =>
      new Promise((resolve, reject) => remote.send(frame, port, host, (err) => (err ? reject(err) : resolve()))),
    dispose: async () => {
      await transport.close();
      await closeRaw(remote);
    },
  };
}

transportConformance('UDP over IPv4 loopback', () => udpHarness('127.0.0.1'));
transportConformance('UDP over IPv6 loopback', () => udpHarness('::1'));

const isCode = (code: string) => (e: unknown) => e instanceof TransportError && e.code === code;

async function opened(options: Partial<UdpOptions> & { host: string }): Promise<UdpTransport> {
  const t = new UdpTransport({ port: 0, ...options });
  await t.open();
  return t;
}

describe('UDP adapter', () => {
  it('serves IPv4 and IPv6 side by side, each answering its own senders', async () => {
    const v4 = await opened({ host: '127.0.0.1' });
    const v6 = await opened({ host: '::1' });
    const keys: string[] = [];
    for (const t of [v4, v6]) {
      t.on('frame', (peer, frame) => {
        keys.push(peer.key);
        void t.send(peer, frame);
      });
    }
    // Two UDP transports used as clients: the adapter is symmetric.
    const c4 = await opened({ host: '127.0.0.1' });
    const c6 = await opened({ host: '::1' });
    const replies = new Queue<string>();
    c4.on('frame', (p, f) => replies.push(`${p.key} ${f.toString('hex')}`));
    c6.on('frame', (p, f) => replies.push(`${p.key} ${f.toString('hex')}`));
    await c4.send(udpPeer('127.0.0.1', v4.address().port), PINGREQ);
    assert.equal(await replies.next(), `udp:127.0.0.1:${v4.address().port} 0216`);
    await c6.send(udpPeer('::1', v6.address().port), PINGREQ);
    assert.equal(await replies.next(), `udp:[::1]:${v6.address().port} 0216`);
    assert.deepEqual(keys, [`udp:127.0.0.1:${c4.address().port}`, `udp:[::1]:${c6.address().port}`]);
    for (const t of [v4, v6, c4, c6]) await t.close();
  });

  it('broadcasts to the configured address (a loopback listener stands in for the LAN)', async () => {
    const listener = await bindRaw('127.0.0.1');
    const heard = new Queue<Buffer>();
    listener.on('message', (m) => heard.push(m));
    const t = await opened({ host: '127.0.0.1', advertise: { address: '127.0.0.1', port: listener.address().port } });
    const advertise = Buffer.from('0500010384', 'hex');
    await t.broadcast(advertise);
    assert.deepEqual(await heard.next(), advertise);
    await t.close();
    await closeRaw(listener);
  });

  it('refuses to broadcast when no address is configured', async () => {
    const t = await opened({ host: '::1' });
    await assert.rejects(t.broadcast(PINGREQ), isCode(TransportErrorCode.BROADCAST_UNSUPPORTED));
    assert.equal(t.stats().sendErrors, 0, 'a capability answer, not a failed send');
    await t.close();
  });

  it('fails to open with OPEN_FAILED on a port in use or an advertise address of the other family', async () => {
    const first = await opened({ host: '127.0.0.1' });
    const taken = new UdpTransport({ host: '127.0.0.1', port: first.address().port });
    await assert.rejects(taken.open(), isCode(TransportErrorCode.OPEN_FAILED));
    assert.equal(taken.state, 'closed');
    await assert.rejects(
      new UdpTransport({ host: '::1', port: 0, advertise: { address: '255.255.255.255', port: 1 } }).open(),
      isCode(TransportErrorCode.OPEN_FAILED),
    );
    await first.close();
  });

  it('binds a host name to the address it resolves to', async () => {
    const t = await opened({ host: 'localhost' });
    const { address, port } = t.address();
    assert.ok(address === '127.0.0.1' || address === '::1', address);
    const frames = new Queue<string>();
    t.on('frame', (p) => frames.push(p.key));
    const raw = await bindRaw(address);
    raw.send(PINGREQ, port, address);
    assert.equal(await frames.next(), address === '::1' ? `udp:[::1]:${raw.address().port}` : `udp:127.0.0.1:${raw.address().port}`);
    await t.close();
    await closeRaw(raw);
  });

  it('drops an empty datagram as malformed', async () => {
    const t = await opened({ host: '127.0.0.1' });
    const frames = new Queue<Buffer>();
    t.on('frame', (_p, f) => frames.push(f));
    const raw = await bindRaw('127.0.0.1');
    raw.send(Buffer.alloc(0), t.address().port, '127.0.0.1');
    raw.send(PINGREQ, t.address().port, '127.0.0.1');
    assert.deepEqual(await frames.next(), PINGREQ);
    assert.equal(t.stats().dropped.malformed, 1);
    await t.close();
    await closeRaw(raw);
  });

  it('takes a datagram larger than maxFrameSize that arrived whole, and still refuses to send one', async () => {
    const t = await opened({ host: '127.0.0.1', maxFrameSize: 1400 }); // the shipped config's limit
    const frames = new Queue<Buffer>();
    t.on('frame', (_p, f) => frames.push(f));
    const raw = await bindRaw('127.0.0.1');
    const big = publish(Buffer.alloc(2000, 0x57));
    const largest = publish(Buffer.alloc(65507 - 9, 0x58)); // the IPv4 UDP maximum
    assert.equal(largest.length, 65507);
    raw.send(big, t.address().port, '127.0.0.1');
    raw.send(largest, t.address().port, '127.0.0.1');
    assert.deepEqual(await frames.next(), big);
    assert.deepEqual(await frames.next(), largest);
    assert.equal(t.stats().dropped.oversize, 0);
    await assert.rejects(t.send(udpPeer('127.0.0.1', raw.address().port), big), isCode(TransportErrorCode.FRAME_TOO_LARGE));
    await t.close();
    await closeRaw(raw);
  });

  it('unwraps forwarder encapsulation by default: each node is a peer of its own, answered wrapped', async () => {
    const t = await opened({ host: '127.0.0.1' });
    const got = new Queue<{ peer: UdpSource; frame: Buffer }>();
    t.on('frame', (peer, frame) => got.push({ peer, frame }));
    const raw = await bindRaw('127.0.0.1');
    const answers = new Queue<Buffer>();
    raw.on('message', (m) => answers.push(m));
    const from = `udp:127.0.0.1:${raw.address().port}`;
    raw.send(encapsulate(hex('3141'), PINGREQ), t.address().port, '127.0.0.1');
    raw.send(encapsulate(hex('3142'), nasty(1)), t.address().port, '127.0.0.1');
    raw.send(PINGREQ, t.address().port, '127.0.0.1');
    const a = await got.next();
    const b = await got.next();
    const c = await got.next();
    assert.deepEqual([a.peer.key, b.peer.key, c.peer.key], [`${from}/fwd:3141`, `${from}/fwd:3142`, from]);
    assert.deepEqual([a.frame, b.frame, c.frame], [PINGREQ, nasty(1), PINGREQ]);
    // per-address limits see the forwarder's address, whatever node ids it makes up
    assert.deepEqual([a.peer.address, b.peer.address], ['127.0.0.1', '127.0.0.1']);
    await t.send(b.peer, hex('0217'));
    assert.equal((await answers.next()).toString('hex'), '05fe0031420217');
    // a restart finds the node again from its key
    await t.send(t.peerFromKey(`${from}/fwd:3141`)!, hex('0217'));
    assert.equal((await answers.next()).toString('hex'), '05fe0031410217');
    assert.equal(t.stats().bytesIn, 5 + 2 + 5 + nasty(1).length + 2, 'bytes counted as received, wrapping included');
    await t.close();
    await closeRaw(raw);
  });

  it('with "forwarder": false refuses encapsulated datagrams: counted, logged at info with what was held back', async () => {
    const infos: Array<Record<string, unknown>> = [];
    const logger = { warn: () => {}, info: (o: object) => infos.push(o as Record<string, unknown>), debug: () => {} };
    const t = await opened({ host: '127.0.0.1', forwarder: false, logger });
    const frames = new Queue<Buffer>();
    t.on('frame', (_p, f) => frames.push(f));
    const raw = await bindRaw('127.0.0.1');
    for (let i = 0; i < 3; i++) raw.send(encapsulate(hex('3141'), PINGREQ), t.address().port, '127.0.0.1');
    raw.send(PINGREQ, t.address().port, '127.0.0.1');
    assert.deepEqual(await frames.next(), PINGREQ);
    assert.equal(t.stats().dropped.unsupported, 3);
    const refused = infos.filter((o) => o.reason === 'unsupported');
    assert.equal(refused.length, 1, 'one line, the rest held back (and counted on the next line: see RateLimitedWarn)');
    await t.close();
    await closeRaw(raw);
  });

  it('rebuilds peers from their keys, for its own IP family only', () => {
    const v4 = new UdpTransport({ host: '127.0.0.1', port: 0 });
    const v6 = new UdpTransport({ host: '::1', port: 0 });
    assert.deepEqual(v4.peerFromKey('udp:127.0.0.1:40001'), { key: 'udp:127.0.0.1:40001', address: '127.0.0.1', port: 40001 });
    assert.deepEqual(v6.peerFromKey('udp:[::1]:40001'), { key: 'udp:[::1]:40001', address: '::1', port: 40001 });
    assert.equal(v4.peerFromKey('udp:[::1]:40001'), undefined);
    assert.equal(v6.peerFromKey('udp:127.0.0.1:40001'), undefined);
    assert.equal(v4.peerFromKey('udp:127.0.0.1:70000'), undefined);
    assert.equal(v4.peerFromKey('xbee:0013a20040a1b2c3'), undefined);
    assert.equal(udpPeer('::1', 5).key, 'udp:[::1]:5');
  });

  it('rejects a peer of another adapter with UNKNOWN_PEER', async () => {
    const t = await opened({ host: '127.0.0.1' });
    const alien: Peer = { key: 'xbee:0013a20040a1b2c3' };
    await assert.rejects(t.send(alien as never, nasty(1)), isCode(TransportErrorCode.UNKNOWN_PEER));
    await t.close();
  });

  it('reports open and closed as status events', async () => {
    const t = new UdpTransport({ host: '127.0.0.1', port: 0 });
    const states: string[] = [];
    t.on('status', (e) => states.push(e.state));
    await t.open();
    await t.close();
    assert.deepEqual(states, ['opening', 'open', 'closed']);
  });
});
