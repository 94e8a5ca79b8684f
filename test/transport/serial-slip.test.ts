/**
 * SLIP serial adapter over a real pty pair (socat) with the real serialport binding: one end is
 * the adapter, the other a test writer using serialport's own SlipEncoder / SlipDecoder.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlipDecoder as RefDecoder, SlipEncoder as RefEncoder } from '@serialport/parser-slip-encoder';
import { realpathSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import type { SerialPort } from 'serialport';
import { TransportError, TransportErrorCode } from '../../src/errors.js';
import { SlipSerialTransport, type SlipSerialOptions } from '../../src/transport/serial.js';
import { UdpTransport, udpPeer } from '../../src/transport/udp.js';
import type { StatusEvent } from '../../src/transport/types.js';
import { lineHarness, transportConformance, type Harness } from './conformance.js';
import { expectNothing } from '../helpers/wait.js';
import { closePort, hex, lineOnPty, nasty, openPort, PINGREQ, publish, ptyPair, Queue, until, vectors, writePort, type PtyPair } from './helpers.js';

/** The test writer: serialport's reference SLIP encoder and decoder on the far end. */
interface Far {
  port: SerialPort;
  send(frame: Buffer): Promise<void>;
  raw(bytes: Buffer): Promise<void>;
  frames: Queue<Buffer>;
  bytes: Queue<Buffer>;
}

async function openFar(path: string): Promise<Far> {
  const port = await openPort(path);
  const frames = new Queue<Buffer>();
  const bytes = new Queue<Buffer>();
  const dec = new RefDecoder();
  dec.on('data', frames.push);
  port.on('data', (c: Buffer) => {
    bytes.push(Buffer.from(c));
    dec.write(c);
  });
  const enc = new RefEncoder();
  let written: Promise<void> = Promise.resolve();
  enc.on('data', (c: Buffer) => {
    written = writePort(port, c);
  });
  return {
    port,
    frames,
    bytes,
    // The encoder pushes its output before it calls back, so `written` is this frame's write.
    send: (frame) => new Promise<void>((resolve) => enc.write(frame, () => resolve())).then(() => written),
    raw: (b) => writePort(port, b),
  };
}

function capture() {
  const warns: { obj: Record<string, unknown>; msg: string }[] = [];
  const logger = {
    warn: (obj: object, msg: string) => warns.push({ obj: obj as Record<string, unknown>, msg }),
    info: () => {},
    debug: () => {},
  };
  return { logger, warns };
}

const fast = { initialMs: 40, maxMs: 160 };

function setUp(options: Partial<SlipSerialOptions> = {}) {
  return lineOnPty((path) => new SlipSerialTransport({ path, baudRate: 115200, presenceCheckMs: 50, reconnect: fast, ...options }), openFar);
}

transportConformance('serial SLIP over a pty', async (): Promise<Harness> => {
  const s = await setUp({ maxFrameSize: 100 });
  return lineHarness(s, 100, (frame) => s.far.send(frame));
});

describe('serial SLIP adapter', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });

  it('receives every SLIP vector as written on the wire', async () => {
    const s = await setUp();
    try {
      for (const v of vectors('slip')) {
        await s.far.raw(hex(v.hex));
        assert.equal((await s.frames.next()).toString('hex'), v.decoded.payload_hex, v.name);
      }
    } finally {
      await s.dispose();
    }
  });

  it('writes a leading END by default, and only the trailing END when told (FRAMING.md §1.2)', async () => {
    for (const [leadingEnd, wire] of [[true, 'c00216c0'], [false, '0216c0']] as const) {
      const s = await setUp({ leadingEnd });
      try {
        await s.t.send(s.t.peer, PINGREQ);
        let got = Buffer.alloc(0);
        while (got.length < wire.length / 2) got = Buffer.concat([got, await s.far.bytes.next()]);
        assert.equal(got.toString('hex'), wire);
      } finally {
        await s.dispose();
      }
    }
  });

  it('resynchronises after noise, partial frames and garbage between frames', async () => {
    const s = await setUp({ partialFrameTimeoutMs: 60 });
    try {
      // Noise, then a frame that starts with END: the noise becomes a bogus frame, dropped.
      await s.far.raw(Buffer.concat([hex('17 ff 00 42 c0'), hex('c0 0216 c0')]));
      assert.deepEqual(await s.frames.next(), PINGREQ);
      assert.equal(s.t.stats().dropped.garbage, 1);
      // A node reset mid-frame, silence, then a frame without a leading END.
      await s.far.raw(nasty(1).subarray(0, 5));
      // Silence until the idle gap has ended the partial frame, however long that takes here.
      await until(() => s.t.stats().dropped.truncated === 1, 5000, 'the partial frame to be dropped at the idle gap');
      await s.far.raw(hex('0216 c0'));
      assert.deepEqual(await s.frames.next(), PINGREQ);
      assert.equal(s.t.stats().dropped.truncated, 1);
      // A broken escape, then a good frame.
      await s.far.raw(hex('0a db 41 c0'));
      await s.far.send(nasty(2));
      assert.deepEqual(await s.frames.next(), nasty(2));
      assert.equal(s.t.stats().dropped.malformed, 1);
      assert.equal(s.frames.length, 0, 'nothing else was delivered');
    } finally {
      await s.dispose();
    }
  });

  it('rejects a frame longer than the line allows with a clear log line, not truncated', async () => {
    const { logger, warns } = capture();
    const s = await setUp({ maxFrameSize: 64, logger });
    try {
      await s.far.send(publish(Buffer.alloc(100, 0x55)));
      await s.far.send(PINGREQ);
      assert.deepEqual(await s.frames.next(), PINGREQ);
      assert.equal(s.t.stats().dropped.oversize, 1);
      const line = warns.find((w) => w.obj.reason === 'oversize');
      assert.ok(line, 'an oversize warning was logged');
      assert.match(line.msg, /longer than 64 bytes/);
      await assert.rejects(s.t.send(s.t.peer, publish(Buffer.alloc(60))), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.FRAME_TOO_LARGE);
      assert.ok(warns.some((w) => /exceeds the medium limit of 64 bytes/.test(w.msg)));
    } finally {
      await s.dispose();
    }
  });

  it('survives the dongle disappearing: reports it, retries with backoff, UDP keeps serving, traffic resumes', async () => {
    const s = await setUp();
    const udp = new UdpTransport({ host: '127.0.0.1', port: 0 });
    const client = new UdpTransport({ host: '127.0.0.1', port: 0 });
    try {
      await udp.open();
      await client.open();
      udp.on('frame', (peer, frame) => void udp.send(peer, frame));
      const echoes = new Queue<Buffer>();
      client.on('frame', (_p, f) => echoes.push(f));
      const statuses: StatusEvent[] = [];
      s.t.on('status', (e) => statuses.push(e));

      await s.far.send(nasty(1));
      assert.deepEqual(await s.frames.next(), nasty(1));

      await closePort(s.far.port);
      await s.pty.stop(); // USB unplugged
      await until(() => statuses.filter((e) => e.state === 'reopening').length >= 3, 3000, 'three reopen attempts');
      assert.equal(s.t.state, 'reopening');
      assert.equal(s.t.stats().disconnects, 1);
      const waits = statuses.filter((e) => e.state === 'reopening').map((e) => e.retryInMs);
      assert.deepEqual(waits.slice(0, 3), [40, 80, 160], 'exponential backoff');
      assert.ok(statuses.every((e) => e.state !== 'reopening' || e.error instanceof Error));
      await assert.rejects(s.t.send(s.t.peer, PINGREQ), (e: unknown) => e instanceof TransportError && e.code === TransportErrorCode.NOT_OPEN);

      // Meanwhile the rest of the gateway keeps serving.
      await client.send(udpPeer('127.0.0.1', udp.address().port), nasty(2));
      assert.deepEqual(await echoes.next(), nasty(2));

      await s.pty.start(); // plugged back in
      await until(() => s.t.state === 'open', 3000, 'the adapter to reopen');
      const far = await openFar(s.pty.b);
      try {
        await far.send(nasty(3));
        assert.deepEqual(await s.frames.next(), nasty(3));
        await s.t.send(s.t.peer, nasty(4));
        assert.deepEqual(await far.frames.next(), nasty(4));
      } finally {
        await closePort(far.port);
      }
      assert.equal(statuses.at(-1)?.state, 'open');
    } finally {
      await udp.close();
      await client.close();
      await s.dispose();
    }
  });

  it('notices a device node that vanishes or is replaced even when reads report nothing', async () => {
    // A link we control stands in for /dev/serial/by-id/...: removing it leaves the open file
    // descriptor healthy, so only the presence check can tell that the device is gone.
    const pty = ptyPair();
    const other = ptyPair();
    await pty.start();
    await other.start();
    const link = `${pty.a}-link`;
    symlinkSync(realpathSync(pty.a), link);
    const t = new SlipSerialTransport({ path: link, baudRate: 9600, reconnect: fast, presenceCheckMs: 30 });
    const errors: string[] = [];
    t.on('status', (e) => {
      if (e.error) errors.push(e.error.message);
    });
    try {
      await t.open();
      assert.equal(t.state, 'open');
      // A missing node is noticed whether or not the device identity was taken yet.
      unlinkSync(link);
      await until(() => t.state === 'reopening', 10_000, 'the loss to be noticed');
      assert.match(errors.join(), /is gone/);
      symlinkSync(realpathSync(pty.a), link);
      await until(() => t.state === 'open', 10_000, 'the adapter to reopen');
      // Listen before sending: under load the frame can arrive while the send is still awaited.
      const got = new Queue<Buffer>();
      t.on('frame', (_p, f) => got.push(f));
      const far = await openFar(pty.b);
      await far.send(nasty(1));
      assert.deepEqual(await got.next(10_000), nasty(1));
      await closePort(far.port);
      // Same path, another device behind it, once the adapter knows which device it opened.
      await until(() => identified(t), 5000, 'the device identity to be taken');
      unlinkSync(link);
      symlinkSync(realpathSync(other.a), link);
      await until(() => errors.some((m) => /replaced/.test(m)), 10_000, 'the replacement to be noticed');
      await until(() => t.state === 'open', 10_000, 'the adapter to reopen on the new device');
      assert.equal(t.stats().disconnects, 2);
    } finally {
      await t.close();
      rmSync(link, { force: true });
      await pty.dispose();
      await other.dispose();
    }
  });

  it('starts without the device, keeps retrying, and opens when it appears', async () => {
    const pty: PtyPair = ptyPair();
    const t = new SlipSerialTransport({ path: pty.a, baudRate: 9600, reconnect: fast, presenceCheckMs: 50 });
    try {
      await t.open(); // resolves although the device is absent
      assert.equal(t.state, 'reopening');
      await pty.start();
      await until(() => t.state === 'open', 3000, 'the adapter to open');
    } finally {
      await t.close();
      await pty.dispose();
    }
  });

  it('stops retrying once closed', async () => {
    const pty: PtyPair = ptyPair();
    const t = new SlipSerialTransport({ path: pty.a, baudRate: 9600, reconnect: fast });
    // The barrier: a twin on the same absent device with the same backoff, opened after t and
    // never closed. Once it has reopened, any retry t still had pending has been due and done.
    const twin = new SlipSerialTransport({ path: pty.a, baudRate: 9600, reconnect: fast });
    const statuses: string[] = [];
    t.on('status', (e) => statuses.push(e.state));
    try {
      await t.open();
      await twin.open();
      await t.close();
      const n = statuses.length;
      await pty.start();
      await expectNothing(
        'a status after close',
        () => until(() => twin.state === 'open' || statuses.length > n, 5000, 'the twin adapter to reopen'),
        () => statuses.slice(n),
      );
      assert.equal(t.state, 'closed');
    } finally {
      await twin.close();
      await pty.dispose();
    }
  });
});

/**
 * Whether the adapter has taken the identity (rdev) of the device it opened, which the
 * replacement check compares against. No event tells it, so the test reads the link's private
 * field; it is set by a stat just after opening (serial-link.ts `attach`).
 */
function identified(t: SlipSerialTransport): boolean {
  return (t as unknown as { link: { deviceId: number | undefined } }).link.deviceId !== undefined;
}
