/** XBee API frame codec unit tests (FRAMING.md §2): vectors, every split position, resync. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiDecoder, encodeApiFrame, encodeTransmitRequest, type ApiMode } from '../../src/transport/xbee-api.js';
import type { FrameDropReason } from '../../src/transport/types.js';
import { hex, vectors } from './helpers.js';

function collect(mode: ApiMode, max = 128) {
  const frames: Buffer[] = [];
  const drops: FrameDropReason[] = [];
  const dec = createApiDecoder(mode, max, { frame: (f) => frames.push(f), drop: (r) => drops.push(r) });
  return { dec, frames, drops };
}

const byMode = { 1: vectors('xbee-api1'), 2: vectors('xbee-api2') } as const;

describe('XBee API encoding', () => {
  it('has the fixture vectors to test against', () => {
    assert.equal(byMode[1].length, 5);
    assert.equal(byMode[2].length, 4);
    assert.equal([...byMode[1], ...byMode[2]].filter((v) => v.decoded.frameType === '0x10').length, 3);
  });

  for (const mode of [1, 2] as const) {
    for (const v of byMode[mode].filter((x) => x.decoded.frameType === '0x10')) {
      it(`builds the 0x10 Transmit Request: ${v.name}`, () => {
        const d = v.decoded;
        const data = typeof d.rfData_utf8 === 'string' ? Buffer.from(d.rfData_utf8) : hex((d.frameData_hex as string).slice(28));
        const wire = encodeTransmitRequest(
          {
            frameId: d.frameId as number,
            dest64: hex((d.dest64 as string).slice(0, 16)),
            dest16: parseInt(d.dest16 as string, 16),
            radius: d.radius as number,
            options: d.options as number,
            data,
          },
          mode,
        );
        assert.equal(wire.toString('hex'), v.hex);
      });
    }
  }

  it("reproduces Digi's escaping example (§2.3)", () => {
    assert.equal(encodeApiFrame(hex('2311'), 2).toString('hex'), '7e0002237d31cb');
    assert.equal(encodeApiFrame(hex('2311'), 1).toString('hex'), '7e00022311cb');
  });

  it('escapes the length and checksum bytes too in mode 2', () => {
    // 0x11 bytes of frame data: the length LSB is XON and must be escaped.
    const fd = Buffer.alloc(0x11, 0x01);
    fd[0] = 0x90;
    const wire = encodeApiFrame(fd, 2);
    assert.equal(wire.subarray(0, 4).toString('hex'), '7e007d31');
  });
});

describe('XBee API decoding', () => {
  for (const mode of [1, 2] as const) {
    for (const v of byMode[mode]) {
      it(`decodes at every split position (AP=${mode}): ${v.name}`, () => {
        const wire = hex(v.hex);
        for (let cut = 0; cut <= wire.length; cut++) {
          const { dec, frames, drops } = collect(mode);
          dec.push(wire.subarray(0, cut));
          dec.push(wire.subarray(cut));
          assert.deepEqual(frames.map((f) => f.toString('hex')), [v.decoded.frameData_hex], `cut at ${cut}`);
          assert.deepEqual(drops, []);
          assert.equal(dec.pending, false);
        }
      });
    }

    it(`round-trips frame data holding every byte value (AP=${mode}), one byte at a time`, () => {
      const fds = [0, 1, 2].map((k) => Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 7 + k * 31) & 0xff)));
      const { dec, frames, drops } = collect(mode);
      for (const b of Buffer.concat(fds.map((fd) => encodeApiFrame(fd, mode)))) dec.push(Buffer.from([b]));
      assert.deepEqual(frames, fds);
      assert.deepEqual(drops, []);
    });

    it(`counts and drops a frame with a bad checksum; the next frame gets through (AP=${mode})`, () => {
      const good = hex(byMode[mode][0]!.hex);
      const bad = Buffer.from(good);
      bad[bad.length - 1] = bad.at(-1)! ^ 0x01;
      const { dec, frames, drops } = collect(mode);
      dec.push(Buffer.concat([bad, good]));
      assert.equal(frames.length, 1);
      assert.deepEqual(drops, ['badChecksum']);
    });

    it(`skips noise and partial frames between frames and resyncs (AP=${mode})`, () => {
      const good = byMode[mode].map((v) => hex(v.hex));
      const noise = hex('00 ff 13 11 7d 55 aa');
      const partial = good[0]!.subarray(0, 9);
      const { dec, frames, drops } = collect(mode);
      dec.push(Buffer.concat([noise, good[0]!, noise, partial, good[1]!, noise, good[2]!]));
      assert.equal(frames.length, 3);
      assert.ok(drops.includes('garbage'));
      assert.ok(!drops.includes('badChecksum') || mode === 1);
    });

    it(`rejects an announced length over the limit, then resyncs (AP=${mode})`, () => {
      const { dec, frames, drops } = collect(mode, 20);
      const big = encodeApiFrame(Buffer.alloc(21, 0x90), mode);
      const ok = encodeApiFrame(Buffer.alloc(20, 0x90), mode);
      dec.push(Buffer.concat([big, ok]));
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.length, 20);
      assert.equal(drops[0], 'oversize');
    });

    it(`drops a frame announcing length 0 (AP=${mode})`, () => {
      const { dec, frames, drops } = collect(mode);
      dec.push(Buffer.concat([hex('7e0000ff'), hex(byMode[mode][0]!.hex)]));
      assert.equal(frames.length, 1);
      assert.equal(drops[0], 'malformed');
    });

    it(`gives up on a partial frame when the line goes idle (AP=${mode})`, () => {
      const good = hex(byMode[mode][0]!.hex);
      const { dec, frames, drops } = collect(mode);
      dec.push(good.subarray(0, 8));
      assert.equal(dec.pending, true);
      dec.idle();
      assert.equal(dec.pending, false);
      assert.deepEqual(drops, ['truncated']);
      dec.push(good);
      assert.equal(frames.length, 1);
    });
  }

  it('AP=2: a raw 0x7E mid-frame starts a new frame (the previous was truncated)', () => {
    const good = hex(byMode[2][0]!.hex);
    const { dec, frames, drops } = collect(2);
    dec.push(Buffer.concat([good.subarray(0, 10), good]));
    assert.equal(frames.length, 1);
    assert.deepEqual(drops, ['truncated']);
  });

  it('AP=1: 0x7E inside a frame is data, not a start', () => {
    const fd = hex('90 0013a20040a1b2c3 7e7e 01 0216 7e');
    const { dec, frames, drops } = collect(1);
    dec.push(encodeApiFrame(fd, 1));
    assert.deepEqual(frames, [fd]);
    assert.deepEqual(drops, []);
  });

  it('AP=1: finds a real frame hidden behind a false start in the noise', () => {
    const good = hex(byMode[1][0]!.hex);
    // "7E 00 05" claims 5 bytes that run into the real frame; its checksum then fails and the
    // scan restarts just after that 0x7E.
    const { dec, frames } = collect(1);
    dec.push(Buffer.concat([hex('7e 00 05 01'), good, good]));
    assert.equal(frames.length, 2);
  });

  it('AP=1: a false start that claims more bytes than ever come is released by idle()', () => {
    const good = hex(byMode[1][0]!.hex);
    const { dec, frames, drops } = collect(1);
    dec.push(Buffer.concat([hex('7e 00 60'), good]));
    assert.equal(frames.length, 0, 'the false start is still waiting for its 0x60 bytes');
    dec.idle();
    assert.equal(frames.length, 1);
    assert.ok(drops.includes('truncated'));
  });
});
