/**
 * The behaviour every transport owes the gateway, run against each adapter through a harness
 * that plays the remote side with real parts (a UDP socket, the far end of a pty, a memory
 * client). Adapter-specific rules live in each adapter's own test file.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import type { Peer, Transport } from '../../src/transport/types.js';
import { nasty, publish, Queue } from './helpers.js';

export interface Harness {
  /** open, with nothing sent yet */
  transport: Transport;
  /** the remote side sends one MQTT-SN message to the transport */
  inject(frame: Buffer): Promise<void>;
  /** what the remote side received from the transport, in order */
  received: Queue<Buffer>;
  /** the key the transport must give the remote side */
  peerKey: string;
  /** largest message to and from the remote side */
  limit: number;
  /** false when the remote side cannot even send an oversize message (memory enforces it too) */
  canInjectOversize: boolean;
  /**
   * true where an oversize message that arrived whole is taken (UDP: the kernel delivers only
   * whole datagrams, and `limit` guards what the gateway sends); stream media drop it
   */
  acceptsOversizeIn?: boolean;
  /** bytes the medium adds to each message of the remote side and counts (forwarder header) */
  overhead?: number;
  dispose(): Promise<void>;
}

/** The harness of a one-peer serial line on a pty (SLIP, raw): the line is the peer. */
export function lineHarness(
  s: { t: Transport; pty: { a: string }; far: { frames: Queue<Buffer> }; dispose: () => Promise<void> },
  limit: number,
  inject: (frame: Buffer) => Promise<void>,
): Harness {
  return { transport: s.t, received: s.far.frames, peerKey: `serial:${s.pty.a}`, limit, canInjectOversize: true, inject, dispose: s.dispose };
}

interface Got {
  peer: Peer;
  frame: Buffer;
}

function listen(t: Transport): Queue<Got> {
  const q = new Queue<Got>();
  t.on('frame', (peer, frame) => q.push({ peer, frame }));
  return q;
}

async function withHarness(make: () => Promise<Harness>, body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await make();
  try {
    await body(h);
  } finally {
    await h.dispose();
  }
}

export function transportConformance(title: string, make: () => Promise<Harness>): void {
  describe(`${title}: transport conformance`, () => {
    it('delivers frames under the peer’s stable key, and a reply to that peer reaches it intact', () =>
      withHarness(make, async (h) => {
        assert.equal(h.transport.state, 'open');
        const got = listen(h.transport);
        await h.inject(nasty(1));
        await h.inject(nasty(2));
        const a = await got.next(2000, 'first frame');
        const b = await got.next(2000, 'second frame');
        assert.deepEqual(a.frame, nasty(1));
        assert.deepEqual(b.frame, nasty(2));
        assert.equal(a.peer.key, h.peerKey);
        assert.equal(b.peer.key, h.peerKey);
        await h.transport.send(a.peer, nasty(3));
        assert.deepEqual(await h.received.next(2000, 'reply'), nasty(3));
      }));

    it('hands each frame over in a Buffer of its own', () =>
      withHarness(make, async (h) => {
        const got = listen(h.transport);
        const sent = nasty(7);
        await h.inject(sent);
        sent.fill(0); // the sender reusing its buffer once sent must not matter
        await h.inject(nasty(8));
        const a = (await got.next()).frame;
        const b = (await got.next()).frame;
        b.fill(0xaa); // nor the receiver writing into another frame
        await h.inject(nasty(9));
        await got.next();
        assert.deepEqual(a, nasty(7));
      }));

    it('keeps order and content in a burst of 100 frames', () =>
      withHarness(make, async (h) => {
        const got = listen(h.transport);
        await Promise.all(Array.from({ length: 100 }, (_, i) => h.inject(nasty(i))));
        for (let i = 0; i < 100; i++) assert.deepEqual((await got.next(3000, `frame ${i}`)).frame, nasty(i));
        const peer = h.transport.peerFromKey(h.peerKey)!;
        await Promise.all(Array.from({ length: 100 }, (_, i) => h.transport.send(peer, nasty(1000 + i))));
        for (let i = 0; i < 100; i++) assert.deepEqual(await h.received.next(3000, `reply ${i}`), nasty(1000 + i));
      }));

    it('sends a frame of exactly the limit, and refuses one byte more without sending any of it', () =>
      withHarness(make, async (h) => {
        const peer = h.transport.peerFromKey(h.peerKey);
        assert.ok(peer, 'peerFromKey knows the remote side');
        const exact = publish(Buffer.alloc(h.limit - 7, 0x41));
        const over = publish(Buffer.alloc(h.limit - 6, 0x42));
        assert.equal(exact.length, h.limit);
        await assert.rejects(h.transport.send(peer, over), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE);
        await h.transport.send(peer, exact);
        assert.deepEqual(await h.received.next(), exact, 'the oversize frame was not sent, not even truncated');
        const s = h.transport.stats();
        assert.equal(s.sendErrors, 1);
        assert.equal(s.framesOut, 1);
      }));

    it('accepts a frame of exactly the limit from the peer; a longer one is dropped as oversize, or taken if it arrived whole', () =>
      withHarness(make, async (h) => {
        const got = listen(h.transport);
        const over = publish(Buffer.alloc(h.limit - 6, 0x42));
        if (h.canInjectOversize) await h.inject(over);
        const exact = publish(Buffer.alloc(h.limit - 7, 0x41));
        await h.inject(exact);
        if (h.canInjectOversize && h.acceptsOversizeIn === true) assert.deepEqual((await got.next()).frame, over);
        assert.deepEqual((await got.next()).frame, exact);
        assert.equal(h.transport.stats().dropped.oversize, h.canInjectOversize && h.acceptsOversizeIn !== true ? 1 : 0);
        assert.equal(got.length, 0);
      }));

    it('counts frames and bytes both ways', () =>
      withHarness(make, async (h) => {
        const got = listen(h.transport);
        await h.inject(nasty(1));
        const { peer } = await got.next();
        await h.transport.send(peer, publish(Buffer.alloc(3)));
        await h.received.next();
        const s = h.transport.stats();
        assert.equal(s.framesIn, 1);
        assert.equal(s.bytesIn, nasty(1).length + (h.overhead ?? 0));
        assert.equal(s.framesOut, 1);
        assert.equal(s.bytesOut, 10 + (h.overhead ?? 0));
      }));

    it('keeps delivering when a listener throws, and stops calling a removed listener', () =>
      withHarness(make, async (h) => {
        let thrown = 0;
        const off = h.transport.on('frame', () => {
          thrown++;
          throw new Error('listener bug');
        });
        const got = listen(h.transport);
        await h.inject(nasty(1));
        await got.next();
        off();
        await h.inject(nasty(2));
        assert.deepEqual((await got.next()).frame, nasty(2));
        assert.equal(thrown, 1);
      }));

    it('closes idempotently, then refuses to send with NOT_OPEN', () =>
      withHarness(make, async (h) => {
        const got = listen(h.transport);
        await h.inject(nasty(1));
        const { peer } = await got.next();
        await h.transport.close();
        await h.transport.close();
        assert.equal(h.transport.state, 'closed');
        await assert.rejects(h.transport.send(peer, nasty(2)), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.NOT_OPEN);
      }));
  });
}
