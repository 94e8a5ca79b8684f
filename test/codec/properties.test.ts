/**
 * Properties of the codec over generated input: every valid packet survives a round trip, and
 * no byte sequence makes `decode` throw or accept something it would write differently.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decode, encode, DecodeError, CodecErrorCode, type Packet } from '../../src/codec/index.js';
import { anyPacket } from './arbitraries.js';

const codes = new Set<string>(Object.values(CodecErrorCode));

/** decode must give a coded error, or a packet that re-encodes to exactly the input. */
function checkDecode(bytes: Buffer): void {
  let got: ReturnType<typeof decode>;
  try {
    got = decode(bytes);
  } catch (e) {
    assert.fail(`decode threw on ${bytes.toString('hex')}: ${String(e)}`);
  }
  if (got instanceof DecodeError) {
    assert.ok(codes.has(got.code), `unknown code ${got.code}`);
    assert.notEqual(got.code, CodecErrorCode.INTERNAL, `decoder defect on ${bytes.toString('hex')}: ${got.message}`);
    return;
  }
  let again: Buffer;
  try {
    again = encode(got);
  } catch (e) {
    assert.fail(`decoded ${bytes.toString('hex')} to a packet that cannot be encoded: ${String(e)}`);
  }
  assert.equal(again.toString('hex'), bytes.toString('hex'));
}

describe('codec properties', () => {
  it('decode(encode(p)) equals p for every packet type', () => {
    const seen = new Set<Packet['type']>();
    fc.assert(
      fc.property(anyPacket, (p) => {
        seen.add(p.type);
        const bytes = encode(p);
        const back = decode(bytes);
        assert.ok(!(back instanceof DecodeError), back instanceof DecodeError ? back.message : '');
        assert.deepEqual(back, p);
      }),
      { numRuns: 20000 },
    );
    // The generator must reach every message, or the property proves less than it says.
    assert.equal(seen.size, 28, `types not generated: ${28 - seen.size}`);
  });

  it('decode of random bytes never throws and never accepts what it would re-encode differently', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (a) => checkDecode(Buffer.from(a))),
      { numRuns: 20000 },
    );
  });

  it('decode of random bytes behind a plausible header never misbehaves', () => {
    // Random bytes rarely get past the Length check; give them a right length and a real type.
    const framed = fc
      .record({ type: fc.integer({ min: 0, max: 0x1f }), body: fc.uint8Array({ maxLength: 40 }) })
      .map(({ type, body }) => Buffer.concat([Buffer.from([body.length + 2, type]), body]));
    fc.assert(fc.property(framed, checkDecode), { numRuns: 30000 });
  });

  it('decode of mutated valid frames never misbehaves', () => {
    const mutated = fc
      .record({
        p: anyPacket,
        edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 0xff }) }), { minLength: 1, maxLength: 4 }),
        cut: fc.option(fc.nat(), { nil: undefined }),
        extra: fc.uint8Array({ maxLength: 3 }),
      })
      .map(({ p, edits, cut, extra }) => {
        let b = Buffer.from(encode(p));
        for (const { at, value } of edits) b[at % b.length] = value;
        if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
        return Buffer.concat([b, extra]);
      });
    fc.assert(fc.property(mutated, checkDecode), { numRuns: 30000 });
  });

  it('any message re-framed in the 3-byte length form decodes the same and re-encodes unchanged', () => {
    fc.assert(
      fc.property(anyPacket.filter((p) => p.type !== 'ENCAPSULATED'), (p) => {
        const short = encode(p);
        if (short[0] === 0x01) return; // already long
        const long = Buffer.concat([Buffer.from([0x01, 0, 0]), short.subarray(1)]);
        long.writeUInt16BE(long.length, 1);
        const back = decode(long);
        assert.ok(!(back instanceof DecodeError), back instanceof DecodeError ? back.message : '');
        const { longLength, ...fields } = back;
        assert.equal(longLength, true);
        assert.deepEqual(fields, p);
        assert.deepEqual(encode(back), long);
      }),
      { numRuns: 5000 },
    );
  });

  it('the length form switches exactly at a total of 255 bytes', () => {
    for (let payload = 240; payload <= 260; payload++) {
      const p: Packet = { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'normal', topicId: 1, payload: Buffer.alloc(payload, 7) };
      const b = encode(p);
      const total = 7 + payload;
      if (total <= 255) {
        assert.equal(b.length, total);
        assert.equal(b[0], total);
      } else {
        assert.equal(b.length, total + 2);
        assert.equal(b[0], 0x01);
        assert.equal(b.readUInt16BE(1), total + 2);
      }
      assert.deepEqual(decode(b), p);
    }
  });
});
