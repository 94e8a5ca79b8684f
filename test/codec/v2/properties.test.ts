/**
 * Properties of the 2.0 codec over generated input, as for 1.2: every valid packet survives a
 * round trip, and no byte sequence makes `decode` throw, answer with an uncatalogued code, or
 * accept something it would write differently (malformed input is counted and dropped, nothing else).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as v2 from '../../../src/codec/v2/index.js';
import { anyPacket2 } from './arbitraries.js';

const codes = new Set<string>(Object.values(v2.CodecErrorCode));

/** decode must give a catalogued error, or a packet that re-encodes to exactly the input. */
function checkDecode(bytes: Buffer, options: v2.CodecOptions = {}): void {
  let got: ReturnType<typeof v2.decode>;
  try {
    got = v2.decode(bytes, options);
  } catch (e) {
    assert.fail(`decode threw on ${bytes.toString('hex')}: ${String(e)}`);
  }
  if (got instanceof v2.DecodeError) {
    assert.ok(codes.has(got.code), `unknown code ${got.code}`);
    assert.notEqual(got.code, v2.CodecErrorCode.INTERNAL, `decoder defect on ${bytes.toString('hex')}: ${got.message}`);
    return;
  }
  let again: Buffer;
  try {
    again = v2.encode(got, options);
  } catch (e) {
    assert.fail(`decoded ${bytes.toString('hex')} to a packet that cannot be encoded: ${String(e)}`);
  }
  assert.equal(again.toString('hex'), bytes.toString('hex'));
}

describe('codec 2.0 properties', () => {
  it('decode(encode(p)) equals p for every packet type, in both DISCONNECT field orders', () => {
    const seen = new Set<v2.PacketName>();
    fc.assert(
      fc.property(anyPacket2, fc.boolean(), (p, rcFirst) => {
        seen.add(p.type);
        const options = { disconnectReasonCodeFirst: rcFirst };
        const back = v2.decode(v2.encode(p, options), options);
        assert.ok(!(back instanceof v2.DecodeError), back instanceof v2.DecodeError ? `${back.code} ${back.message}` : '');
        assert.deepEqual(back, p);
      }),
      { numRuns: 20000 },
    );
    // The generator must reach every packet, or the property proves less than it says.
    assert.equal(seen.size, Object.keys(v2.PacketType).length, `types not generated: ${Object.keys(v2.PacketType).filter((t) => !seen.has(t as v2.PacketName)).join(', ')}`);
  });

  it('decode of random bytes never throws and never accepts what it would re-encode differently', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (a) => checkDecode(Buffer.from(a))),
      { numRuns: 20000 },
    );
  });

  it('decode of random bytes behind a plausible header never misbehaves', () => {
    // Random bytes rarely get past the Length check; give them a right length and a real type.
    const types = [...Object.values(v2.PacketType), 0x00, 0x19, 0xfd];
    const framed = fc
      .record({ type: fc.constantFrom(...types), body: fc.uint8Array({ maxLength: 40 }), rcFirst: fc.boolean() })
      .map(({ type, body, rcFirst }) => ({ b: Buffer.concat([Buffer.from([body.length + 2, type]), body]), rcFirst }));
    fc.assert(fc.property(framed, ({ b, rcFirst }) => checkDecode(b, { disconnectReasonCodeFirst: rcFirst })), { numRuns: 40000 });
  });

  it('decode of mutated valid packets never misbehaves', () => {
    const mutated = fc
      .record({
        p: anyPacket2,
        edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 0xff }) }), { minLength: 1, maxLength: 4 }),
        cut: fc.option(fc.nat(), { nil: undefined }),
        extra: fc.uint8Array({ maxLength: 3 }),
      })
      .map(({ p, edits, cut, extra }) => {
        let b = Buffer.from(v2.encode(p));
        for (const { at, value } of edits) b[at % b.length] = value;
        if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
        return Buffer.concat([b, extra]);
      });
    fc.assert(fc.property(mutated, (b) => checkDecode(b)), { numRuns: 30000 });
  });

  it('any packet re-framed in the 3-byte length form decodes the same and re-encodes unchanged', () => {
    fc.assert(
      fc.property(anyPacket2, (p) => {
        const short = v2.encode(p);
        if (short[0] === 0x01) return; // already long
        const long = Buffer.concat([Buffer.from([0x01, 0, 0]), short.subarray(1)]);
        long.writeUInt16BE(long.length, 1);
        const back = v2.decode(long);
        assert.ok(!(back instanceof v2.DecodeError), back instanceof v2.DecodeError ? back.message : '');
        const { longLength, ...fields } = back;
        assert.equal(longLength, true);
        assert.deepEqual(fields, p);
        assert.deepEqual(v2.encode(back), long);
      }),
      { numRuns: 5000 },
    );
  });
});
