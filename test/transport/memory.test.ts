/** The in-memory medium: the hub for the gateway side, endpoints for simulated nodes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { createMemoryPair, MemoryTransport } from '../../src/transport/memory.js';
import { transportConformance } from './conformance.js';
import { nasty, PINGREQ, Queue, until } from './helpers.js';

transportConformance('memory', async () => {
  const hub = new MemoryTransport({ maxFrameSize: 100 });
  await hub.open();
  const node = hub.connect('node');
  const received = new Queue<Buffer>();
  node.on('frame', (_p, f) => received.push(f));
  return {
    transport: hub,
    received,
    peerKey: 'mem:node',
    limit: 100,
    canInjectOversize: false,
    inject: (frame) => node.send(node.gateway, frame),
    dispose: () => hub.close(),
  };
});

const isCode = (code: string) => (e: unknown) => e instanceof TransportError && e.code === code;

describe('memory transport', () => {
  it('gives each client its own peer, and a reply reaches only the addressed client', async () => {
    const hub = new MemoryTransport();
    await hub.open();
    const a = hub.connect();
    const b = hub.connect();
    assert.notEqual(a.peer.key, b.peer.key);
    const atA = new Queue<string>();
    const atB = new Queue<string>();
    a.on('frame', (p, f) => atA.push(`${p.key} ${f.toString('hex')}`));
    b.on('frame', (p, f) => atB.push(`${p.key} ${f.toString('hex')}`));
    hub.on('frame', (peer, frame) => void hub.send(peer, Buffer.concat([frame, Buffer.from(peer.key)])));
    await a.send(a.gateway, PINGREQ);
    assert.equal(await atA.next(), `mem:gateway 0216${Buffer.from(a.peer.key).toString('hex')}`);
    // Then a frame for B from the hub: a reply wrongly sent to B would be ahead of it.
    const marker = `mem:gateway ${nasty(9).toString('hex')}`;
    await atB.expectNothingBefore('a reply for A at B', () => hub.send(hub.peerFromKey(b.peer.key)!, nasty(9)), (x) => x === marker);
  });

  it('broadcasts from the gateway to every client, and from a client to the gateway and the other clients', async () => {
    const hub = new MemoryTransport();
    await hub.open();
    const [a, b, c] = [hub.connect('a'), hub.connect('b'), hub.connect('c')];
    const heard = new Queue<string>();
    for (const e of [a, b, c]) e.on('frame', (p, _f, bc) => heard.push(`${e.peer.id}<-${p.key}:${bc}`));
    hub.on('frame', (p, _f, bc) => heard.push(`gw<-${p.key}:${bc}`));
    await hub.broadcast(PINGREQ);
    const got = [await heard.next(), await heard.next(), await heard.next()].sort();
    assert.deepEqual(got, ['a<-mem:gateway:true', 'b<-mem:gateway:true', 'c<-mem:gateway:true']);
    await a.broadcast(PINGREQ); // e.g. SEARCHGW
    const got2 = [await heard.next(), await heard.next(), await heard.next()].sort();
    assert.deepEqual(got2, ['b<-mem:a:true', 'c<-mem:a:true', 'gw<-mem:a:true']);
    // Then a frame from the gateway to A: its own broadcast, had A heard it, would be ahead of it.
    await heard.expectNothingBefore('A hearing its own broadcast', () => hub.send(hub.peerFromKey(a.peer.key)!, PINGREQ), (x) => x === 'a<-mem:gateway:false');
  });

  it('delivers after the sender’s call returns, yet before any timer', async () => {
    const { gateway, client } = createMemoryPair();
    await gateway.open();
    const order: string[] = [];
    gateway.on('frame', () => order.push('delivered'));
    setTimeout(() => order.push('timer'), 0);
    void client.send(client.gateway, PINGREQ);
    order.push('returned');
    await until(() => order.length === 3, 5000, 'the delivery and the timer');
    assert.deepEqual(order, ['returned', 'delivered', 'timer']);
  });

  it('refuses to send to a client that left, and reaches it again once it is back', async () => {
    const { gateway, client } = createMemoryPair();
    await gateway.open();
    const peer = gateway.peerFromKey(client.peer.key)!;
    await client.close();
    assert.equal(gateway.peerFromKey(client.peer.key), undefined);
    await assert.rejects(gateway.send(peer, PINGREQ), isCode(TransportErrorCode.UNKNOWN_PEER));
    await client.open();
    const got = new Queue<Buffer>();
    client.on('frame', (_p, f) => got.push(f));
    await gateway.send(peer, nasty(1));
    assert.deepEqual(await got.next(), nasty(1));
  });

  it('refuses a second client with the same id', () => {
    const hub = new MemoryTransport();
    hub.connect('x');
    assert.throws(() => hub.connect('x'), isCode(TransportErrorCode.OPEN_FAILED));
  });

  it('loses frames sent to a closed gateway silently, like a datagram to a dead host', async () => {
    const { gateway, client } = createMemoryPair();
    const got = new Queue<Buffer>();
    gateway.on('frame', (_p, f) => got.push(f));
    await client.send(client.gateway, PINGREQ); // hub not opened yet
    await gateway.open();
    // The first frame the gateway gets is the one sent once it is open: the PINGREQ was not kept.
    await got.expectNothingBefore('the frame sent to the closed gateway', () => client.send(client.gateway, nasty(2)), (f) => f.equals(nasty(2)));
  });

  it('lets a client address only the gateway', async () => {
    const hub = new MemoryTransport();
    await hub.open();
    const a = hub.connect('a');
    const b = hub.connect('b');
    await assert.rejects(a.send(b.peer, PINGREQ), isCode(TransportErrorCode.UNKNOWN_PEER));
  });
});
