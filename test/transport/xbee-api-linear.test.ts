/**
 * XBee API-1 decoding stays linear in the bytes received whatever a sender puts on the line:
 * false frame starts (0x7E announcing a plausible length whose checksum then fails) cost O(1)
 * each, not a checksum over the announced length, and bytes are not searched or moved again
 * and again. Counted as work (`bytesExamined`), never timed; and the real frame behind the
 * noise is still found.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiDecoder, encodeApiFrame } from '../../src/transport/xbee-api.js';

/** What the XBee transport gives the decoder with the shipped maxFrameSize (plus its header margin). */
const MAX_FRAME_DATA = 1024;

/** 7E 03 FF, again and again: every 0x7E a frame start announcing 1023 bytes, none of them real. */
function falseStarts(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = [0x7e, 0x03, 0xff][i % 3]!;
  return b;
}

describe('XBee API-1 decoder under false frame starts', () => {
  for (const chunk of [1, 64, 4096]) {
    it(`examines each byte a bounded number of times, in chunks of ${chunk}`, () => {
      const frames: Buffer[] = [];
      let drops = 0;
      const dec = createApiDecoder(1, MAX_FRAME_DATA, { frame: (f) => frames.push(f), drop: () => void drops++ });
      const noise = falseStarts(chunk === 1 ? 60_000 : 300_000);
      const real = encodeApiFrame(Buffer.from('90aabbccddeeff0011fffe0168656c6c6f', 'hex'), 1);
      // The candidate open at the end of the noise swallows up to 1027 bytes: the line goes idle, then the frame.
      const stream = noise;
      for (let off = 0; off < stream.length; off += chunk) dec.push(stream.subarray(off, off + chunk));
      dec.idle();
      dec.push(real);
      assert.equal(frames.length, 1, 'the real frame behind the noise is found');
      assert.deepEqual(frames[0], real.subarray(3, real.length - 1));
      assert.ok(drops > noise.length / 3 - 400, `every false start was seen and dropped (${drops})`);
      const total = stream.length + real.length;
      // Each byte: summed once, passed by the search once, moved at most about once more.
      assert.ok(dec.bytesExamined <= 4 * total, `${dec.bytesExamined} bytes examined for ${total} received`);
    });
  }
});
