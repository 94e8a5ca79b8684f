/**
 * Raw serial adapter (bare MQTT-SN frames, no SLIP) over a real pty pair (socat) with the real
 * serialport binding. The far end reads frames the way mqtt-sn-tools' serial bridge does: a
 * Length, then the rest (here with the 3-byte form too); it shares no code with the adapter.
 */
import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { SerialPort } from 'serialport';
import { createTransport } from '../../src/transport/factory.js';
import { encapsulate } from '../../src/transport/forwarder.js';
import { RawSerialTransport, type RawSerialOptions } from '../../src/transport/serial.js';
import { lineHarness, transportConformance, type Harness } from './conformance.js';
import { hex, lengthReader, lineOnPty, nasty, openPort, PINGREQ, Queue, until, writePort } from './helpers.js';

interface Far {
  port: SerialPort;
  frames: Queue<Buffer>;
  write(bytes: Buffer): Promise<void>;
}

async function openFar(path: string): Promise<Far> {
  const port = await openPort(path);
  const frames = new Queue<Buffer>();
  port.on('data', lengthReader(frames.push));
  return { port, frames, write: (b) => writePort(port, b) };
}

function setUp(options: Partial<RawSerialOptions> = {}) {
  return lineOnPty((path) => new RawSerialTransport({ path, baudRate: 115200, presenceCheckMs: 50, ...options }), openFar);
}

transportConformance('serial raw over a pty', async (): Promise<Harness> => {
  const s = await setUp({ maxFrameSize: 100 });
  return lineHarness(s, 100, (frame) => s.far.write(frame));
});

describe('serial raw adapter', () => {
  it('writes each frame as it is, nothing around it', async () => {
    const s = await setUp();
    const bytes = new Queue<Buffer>();
    s.far.port.on('data', (c: Buffer) => bytes.push(Buffer.from(c)));
    try {
      await s.t.send(s.t.peer, PINGREQ);
      await s.t.send(s.t.peer, nasty(1));
      let got = Buffer.alloc(0);
      const want = Buffer.concat([PINGREQ, nasty(1)]);
      while (got.length < want.length) got = Buffer.concat([got, await bytes.next()]);
      assert.deepEqual(got, want);
    } finally {
      await s.dispose();
    }
  });

  it('gets back in step after noise on the line: garbage first, and a false start ended by the idle gap', async () => {
    // The default gap (100 ms) on a real line; the pauses below are the device's pauses between frames.
    const s = await setUp();
    try {
      assert.equal(s.t.stats().dropped.garbage, 0);
      await s.far.write(Buffer.concat([hex('00 00 01 00 00'), PINGREQ]));
      assert.deepEqual(await s.frames.next(), PINGREQ);
      assert.equal(s.t.stats().dropped.garbage, 1);
      // A line glitch that reads as "a 48-byte frame follows", then the device pauses.
      await s.far.write(Buffer.concat([hex('30'), PINGREQ]));
      await until(() => s.t.stats().dropped.truncated === 1, 5000, 'the false start to be dropped at the idle gap');
      await s.far.write(nasty(2));
      assert.deepEqual(await s.frames.next(), nasty(2));
      assert.equal(s.t.stats().dropped.truncated, 1);
      assert.equal(s.frames.length, 0, 'nothing else was delivered');
    } finally {
      await s.dispose();
    }
  });

  it('refuses forwarder-wrapped frames at info unless "forwarder": true, then unwraps them per node', async () => {
    const infos: Array<Record<string, unknown>> = [];
    const logger = { warn: () => {}, info: (o: object) => infos.push(o as Record<string, unknown>), debug: () => {} };
    const wrapped = encapsulate(hex('0001'), PINGREQ);
    for (const forwarder of [false, true]) {
      const s = await lineOnPty((path) => createTransport({ type: 'serial', path, baudRate: 115200, framing: 'raw', forwarder }, { logger }), openFar);
      const keys = new Queue<string>();
      s.t.on('frame', (p) => keys.push(p.key));
      try {
        await s.far.write(Buffer.concat([wrapped, PINGREQ]));
        assert.equal(await keys.next(), forwarder ? `serial:${s.pty.a}/fwd:0001` : `serial:${s.pty.a}`);
        if (forwarder) assert.equal(await keys.next(), `serial:${s.pty.a}`);
        assert.equal(s.t.stats().dropped.unsupported, forwarder ? 0 : 1);
      } finally {
        await s.dispose();
      }
    }
    assert.equal(infos.filter((o) => o.reason === 'unsupported').length, 1);
  });

  it('keeps a frame whose sender pauses mid-frame for less than a configured longer gap', async () => {
    // A device that stalls mid-frame needs a longer gap than the default; the option gives it.
    const s = await setUp({ partialFrameTimeoutMs: 3000 });
    // The pause is what is under test, so it passes on fake time (the idle timer is a plain
    // setTimeout made when the first bytes are read): 2999 ms in one step, far longer than the
    // default gap (100 ms) and just short of the configured one, whatever the machine's load.
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      await s.far.write(nasty(4).subarray(0, 5));
      await until(() => holdsPartial(s.t), 5000, 'the first bytes to be read');
      mock.timers.tick(2999);
      await s.far.write(nasty(4).subarray(5));
      await until(() => s.frames.length > 0 || s.t.stats().dropped.truncated > 0, 5000, 'the frame');
      assert.equal(s.t.stats().dropped.truncated, 0);
      assert.deepEqual(await s.frames.next(), nasty(4));
    } finally {
      mock.timers.reset();
      await s.dispose();
    }
  });
});

/**
 * Whether the adapter holds the start of a frame. No event tells it, so the test reads the
 * decoder (a protected field) through its public `pending`.
 */
function holdsPartial(t: RawSerialTransport): boolean {
  return (t as unknown as { decoder: { pending: boolean } }).decoder.pending;
}
