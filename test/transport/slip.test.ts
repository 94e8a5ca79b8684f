/**
 * SLIP framer unit tests (FRAMING.md §1): vectors both ways, every split position, and the
 * strict receiver rules. `@serialport/parser-slip-encoder` is the reference implementation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlipDecoder as RefDecoder, SlipEncoder as RefEncoder } from '@serialport/parser-slip-encoder';
import { SlipDecoder, slipEncode } from '../../src/transport/slip.js';
import { lengthMatches } from '../../src/transport/frame-length.js';
import type { FrameDropReason } from '../../src/transport/types.js';
import { hex, nasty, publish, vectors } from './helpers.js';

function collect(max = 1024): { dec: SlipDecoder; frames: Buffer[]; drops: FrameDropReason[] } {
  const frames: Buffer[] = [];
  const drops: FrameDropReason[] = [];
  const dec = new SlipDecoder(max, { frame: (f) => frames.push(f), drop: (r) => drops.push(r) });
  return { dec, frames, drops };
}

function refEncode(msg: Buffer, bluetoothQuirk: boolean): Promise<Buffer> {
  const enc = new RefEncoder({ bluetoothQuirk });
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    enc.on('end', () => resolve(Buffer.concat(chunks)));
    enc.end(msg);
  });
}

function refDecode(bytes: Buffer): Promise<Buffer[]> {
  const dec = new RefDecoder();
  const frames: Buffer[] = [];
  dec.on('data', (c: Buffer) => frames.push(c));
  return new Promise((resolve) => {
    dec.on('end', () => resolve(frames));
    dec.end(bytes);
  });
}

const slipVectors = vectors('slip');

describe('SLIP encoder', () => {
  it('has the fixture vectors to test against', () => {
    assert.equal(slipVectors.length, 5);
  });

  for (const v of slipVectors) {
    it(`reproduces: ${v.name}`, () => {
      const payload = hex(v.decoded.payload_hex as string);
      assert.equal(slipEncode(payload, v.decoded.leadingEnd === true).toString('hex'), v.hex);
    });
  }

  it('is byte-identical to SlipEncoder in both forms, for every byte value', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const msg of [all, nasty(0xc0db), hex('c0'), hex('db'), hex('dbdc'), hex('0216')]) {
      assert.deepEqual(slipEncode(msg, false), await refEncode(msg, false));
      assert.deepEqual(slipEncode(msg, true), await refEncode(msg, true));
    }
  });

  it('is decoded back by SlipDecoder', async () => {
    const msgs = [nasty(1), PINGREQ_LONG(), publish(Buffer.alloc(300, 0xc0))];
    const wire = Buffer.concat(msgs.map((m, i) => slipEncode(m, i % 2 === 0)));
    assert.deepEqual(await refDecode(wire), msgs);
  });
});

function PINGREQ_LONG(): Buffer {
  // PINGREQ with the 3-byte Length form (MQTT-SN.md §1.1: legal for any length).
  return hex('01000416');
}

describe('SLIP decoder', () => {
  for (const v of slipVectors) {
    it(`decodes at every split position: ${v.name}`, () => {
      const wire = hex(v.hex);
      const want = hex(v.decoded.payload_hex as string);
      for (let cut = 0; cut <= wire.length; cut++) {
        const { dec, frames, drops } = collect();
        dec.push(wire.subarray(0, cut));
        dec.push(wire.subarray(cut));
        assert.deepEqual(frames, [want], `cut at ${cut}`);
        assert.deepEqual(drops, []);
        assert.equal(dec.pending, false);
      }
    });
  }

  it('decodes a stream fed one byte at a time, frames with and without leading END mixed', () => {
    const msgs = Array.from({ length: 20 }, (_, i) => nasty(i));
    const wire = Buffer.concat(msgs.map((m, i) => slipEncode(m, i % 3 === 0)));
    const { dec, frames } = collect();
    for (const b of wire) dec.push(Buffer.from([b]));
    assert.deepEqual(frames, msgs);
  });

  it('hands out a Buffer of its own per frame, never its working buffer', () => {
    const { dec, frames } = collect();
    dec.push(slipEncode(hex('0a0c00000100004142ff'), false));
    dec.push(slipEncode(hex('0a0c000001000058595a'), false));
    frames[1]!.fill(0);
    dec.push(slipEncode(hex('0a0c00000100000000ee'), false));
    assert.equal(frames[0]!.toString('hex'), '0a0c00000100004142ff');
    assert.equal(frames[2]!.toString('hex'), '0a0c00000100000000ee');
  });

  it('ignores the empty frames that back-to-back ENDs produce', () => {
    const { dec, frames, drops } = collect();
    dec.push(hex('c0 c0 c0 02 16 c0 c0 c0'));
    assert.deepEqual(frames, [hex('0216')]);
    assert.deepEqual(drops, []);
  });

  it('discards a frame with an invalid escape up to the next END (strict, §1.3), then resyncs', () => {
    const { dec, frames, drops } = collect();
    // SlipDecoder would emit `41` and `42 43` here (§1.5); a strict receiver emits neither.
    dec.push(hex('41 db 42 43 c0 02 16 c0'));
    assert.deepEqual(frames, [hex('0216')]);
    assert.deepEqual(drops, ['malformed']);
  });

  it('treats ESC END as a broken frame whose END still delimits', () => {
    const { dec, frames, drops } = collect();
    dec.push(hex('41 db c0 02 16 c0'));
    assert.deepEqual(frames, [hex('0216')]);
    assert.deepEqual(drops, ['malformed']);
  });

  it('rejects a frame over the cap without truncating it, and the next frame gets through', () => {
    const { dec, frames, drops } = collect(16);
    const exact = publish(Buffer.alloc(9, 0x41)); // 16 bytes: at the cap
    dec.push(slipEncode(publish(Buffer.alloc(40, 0x42)), true));
    dec.push(slipEncode(exact, false));
    assert.deepEqual(frames, [exact]);
    assert.deepEqual(drops, ['oversize']);
  });

  it('drops a partial frame when the line goes idle, so it cannot swallow the next frame', () => {
    const { dec, frames, drops } = collect();
    dec.push(hex('0a 0c 00 00')); // a node reset mid-frame
    assert.equal(dec.pending, true);
    dec.idle();
    assert.equal(dec.pending, false);
    dec.push(slipEncode(hex('0216'), false));
    assert.deepEqual(frames, [hex('0216')]);
    assert.deepEqual(drops, ['truncated']);
  });

  it('survives random noise between good frames sent with a leading END', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    const msgs = Array.from({ length: 50 }, (_, i) => nasty(i));
    const parts: Buffer[] = [];
    for (const m of msgs) {
      parts.push(Buffer.from(Array.from({ length: rnd() % 40 }, rnd)));
      parts.push(slipEncode(m, true));
    }
    const { dec, frames } = collect(64);
    dec.push(Buffer.concat(parts));
    // Noise turns into frames of its own (SLIP cannot tell); every good frame is there, intact.
    const good = frames.filter((f) => lengthMatches(f));
    for (const m of msgs) assert.ok(good.some((f) => f.equals(m)), `missing ${m.toString('hex')}`);
  });
});

describe('MQTT-SN Length check (FRAMING.md §1.3)', () => {
  it('accepts messages whose Length equals their size, in both forms', () => {
    assert.equal(lengthMatches(hex('0216')), true);
    assert.equal(lengthMatches(hex('01000416')), true);
    assert.equal(lengthMatches(publish(Buffer.alloc(300))), true);
  });

  it('rejects noise glued in front, a cut-off message and impossible lengths', () => {
    assert.equal(lengthMatches(hex('ff 02 16')), false);
    assert.equal(lengthMatches(hex('05 0c 00')), false);
    assert.equal(lengthMatches(hex('01 00 03')), false);
    assert.equal(lengthMatches(hex('16')), false);
    assert.equal(lengthMatches(hex('00 16')), false);
  });

  it('checks an encapsulated message by its inner Length (MQTT-SN.md §2.7)', () => {
    for (const v of vectors('mqtt-sn').filter((x) => x.name.startsWith('Forwarder'))) {
      assert.equal(lengthMatches(hex(v.hex)), true, v.name);
      assert.equal(lengthMatches(hex(v.hex + '00')), false, v.name);
    }
    // encapsulation inside encapsulation is undefined (MQTT-SN.md §7)
    assert.equal(lengthMatches(hex('05fe001234 05fe005678 0216'.replace(/ /g, ''))), false);
  });
});
