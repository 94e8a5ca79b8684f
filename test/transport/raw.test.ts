/**
 * Raw framer unit tests: bare MQTT-SN frames delimited by their own Length (MQTT-SN.md §1.1),
 * split at every position, noise before and between frames, oversize frames, and the idle gap
 * that gets a line back in step after noise that looked like a start.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encapsulate } from '../../src/transport/forwarder.js';
import { RawDecoder } from '../../src/transport/raw.js';
import type { FrameDropReason } from '../../src/transport/types.js';
import { hex, nasty, PINGREQ, publish, vectors } from './helpers.js';

function collect(max = 1024): { dec: RawDecoder; frames: Buffer[]; drops: FrameDropReason[] } {
  const frames: Buffer[] = [];
  const drops: FrameDropReason[] = [];
  const dec = new RawDecoder(max, { frame: (f) => frames.push(f), drop: (r) => drops.push(r) });
  return { dec, frames, drops };
}

const hexes = (frames: Buffer[]): string[] => frames.map((f) => f.toString('hex'));

// Every MQTT-SN vector, a 3-byte-Length frame, a Length-prefixed 3-byte form of a short message, and an encapsulation.
const SAMPLES: Buffer[] = [
  ...vectors('mqtt-sn').map((v) => hex(v.hex)),
  publish(Buffer.alloc(300, 0x33)),
  hex('01000417'), // PINGRESP in the 3-byte form, legal for any length (MQTT-SN.md §1.1)
  encapsulate(hex('0013a20040a1b2c3'), nasty(5)),
  encapsulate(hex('31323334'), publish(Buffer.alloc(260, 0x44))),
];

describe('raw framer', () => {
  it('has the fixture vectors to test against', () => {
    assert.ok(vectors('mqtt-sn').length >= 20);
  });

  it('delimits back-to-back frames by their Length, each in a Buffer of its own', () => {
    const { dec, frames, drops } = collect();
    dec.push(Buffer.concat(SAMPLES));
    assert.deepEqual(hexes(frames), hexes(SAMPLES));
    assert.deepEqual(drops, []);
    assert.equal(dec.pending, false);
    frames[0]!.fill(0);
    assert.deepEqual(frames[1], SAMPLES[1], 'writing into one frame leaves the others alone');
  });

  it('gives the same frames however the stream is split, down to one byte per chunk', () => {
    const stream = Buffer.concat(SAMPLES);
    for (const size of [1, 2, 3, 5, 7, 64, 255]) {
      const { dec, frames, drops } = collect();
      for (let i = 0; i < stream.length; i += size) dec.push(stream.subarray(i, i + size));
      assert.deepEqual(hexes(frames), hexes(SAMPLES), `chunks of ${size}`);
      assert.deepEqual(drops, []);
    }
    // and every two-way split of a stream of three frames
    const three = Buffer.concat([nasty(1), publish(Buffer.alloc(280, 1)), PINGREQ]);
    for (let at = 0; at <= three.length; at++) {
      const { dec, frames } = collect();
      dec.push(three.subarray(0, at));
      dec.push(three.subarray(at));
      assert.deepEqual(hexes(frames), hexes([nasty(1), publish(Buffer.alloc(280, 1)), PINGREQ]), `split at ${at}`);
    }
  });

  it('skips bytes that start no frame (Length 0, a 3-byte Length under 4) and finds the frame behind them', () => {
    const { dec, frames, drops } = collect();
    // garbage first: 00 00, then 01 00 01 (a 3-byte Length of 1), then 01 00 00, then a real frame
    dec.push(Buffer.concat([hex('00 00 01 00 01 00 00'), PINGREQ, hex('00'), nasty(3)]));
    assert.deepEqual(hexes(frames), hexes([PINGREQ, nasty(3)]));
    assert.deepEqual(drops, ['garbage', 'garbage'], 'one drop per run of noise, not per byte');
  });

  it('throws a frame that declares more than maxFrameSize away whole, and keeps the next one', () => {
    const { dec, frames, drops } = collect(64);
    const big = publish(Buffer.alloc(100, 0x42)); // bytes that would look like frames if skipped one by one
    const stream = Buffer.concat([big, PINGREQ, publish(Buffer.alloc(57, 0x41))]);
    for (let i = 0; i < stream.length; i += 9) dec.push(stream.subarray(i, i + 9));
    assert.deepEqual(hexes(frames), hexes([PINGREQ, publish(Buffer.alloc(57, 0x41))]));
    assert.deepEqual(drops, ['oversize']);
    // a 3-byte Length over the limit, too
    dec.push(Buffer.concat([hex('01 ff ff'), Buffer.alloc(65532, 0x02), PINGREQ]));
    assert.equal(frames.length, 3);
    assert.deepEqual(drops, ['oversize', 'oversize']);
  });

  it('drops a partial frame when the line goes idle, so noise that looked like a start cannot swallow the next frame', () => {
    const { dec, frames, drops } = collect();
    // 0x30 is noise that reads as "a 48-byte frame follows"
    dec.push(hex('30'));
    dec.push(PINGREQ);
    assert.equal(dec.pending, true);
    dec.idle();
    assert.deepEqual(drops, ['truncated']);
    assert.equal(dec.pending, false);
    dec.push(PINGREQ);
    assert.deepEqual(hexes(frames), hexes([PINGREQ]));
    // idle between frames costs nothing
    dec.idle();
    assert.deepEqual(drops, ['truncated']);
    // a node reset mid-frame, silence, then a whole frame
    dec.push(nasty(9).subarray(0, 6));
    dec.idle();
    dec.push(nasty(9));
    assert.deepEqual(hexes(frames), hexes([PINGREQ, nasty(9)]));
    assert.deepEqual(drops, ['truncated', 'truncated']);
  });

  it('ends an oversize discard at an idle gap too', () => {
    const { dec, frames, drops } = collect(64);
    dec.push(hex('01 ff ff 0c 00')); // noise that declares 65535 bytes
    dec.idle();
    dec.push(PINGREQ);
    assert.deepEqual(hexes(frames), hexes([PINGREQ]));
    assert.deepEqual(drops, ['oversize']);
  });

  it('treats an encapsulation that wraps no frame as noise, and gets back in step at the next gap', () => {
    const { dec, frames, drops } = collect();
    // 05 fe 00 12 34: an encapsulation header whose wrapped message has Length 0
    dec.push(hex('05 fe 00 12 34 00'));
    dec.idle();
    dec.push(PINGREQ);
    assert.deepEqual(hexes(frames), ['0216']);
    assert.deepEqual(drops, ['garbage', 'truncated']);
  });

  it('forgets everything on reset', () => {
    const { dec, frames } = collect();
    dec.push(nasty(1).subarray(0, 4));
    dec.reset();
    assert.equal(dec.pending, false);
    dec.push(PINGREQ);
    assert.deepEqual(hexes(frames), ['0216']);
  });
});
