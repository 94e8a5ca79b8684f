/**
 * What the codec accepts beyond the strictest reading, because real clients send it (issue #17),
 * and how it still re-encodes every accepted frame to exactly its bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decode, encode, DecodeError, MsgType, USED_FLAGS } from '../../src/codec/index.js';

interface Vector {
  name: string;
  layer: string;
  hex: string;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

/** Offset of the Flags byte, when the frame's message has one and it is present. */
function flagsAt(b: Buffer): number | undefined {
  const h = b[0] === 0x01 ? 3 : 1;
  const type = b[h]!;
  return USED_FLAGS[type] !== 0 && b.length > h + 1 ? h + 1 : undefined;
}

describe('codec: flag bits a message does not use (MQTT-SN 1.2 §5.3.4)', () => {
  const withFlags = fixture.vectors.filter((v) => v.layer === 'mqtt-sn' && flagsAt(Buffer.from(v.hex, 'hex')) !== undefined);

  it('the fixture has vectors of every message with a Flags byte', () => {
    const types = new Set(withFlags.map((v) => Buffer.from(v.hex, 'hex')[1]));
    for (const t of [MsgType.CONNECT, MsgType.WILLTOPIC, MsgType.PUBLISH, MsgType.SUBSCRIBE, MsgType.SUBACK, MsgType.UNSUBSCRIBE]) assert.ok(types.has(t), `no vector of type 0x${t.toString(16)}`);
  });

  for (const v of withFlags) {
    it(`${v.name}: every unused bit is ignored and written back`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      const at = flagsAt(bytes)!;
      const plain = decode(bytes);
      assert.ok(!(plain instanceof DecodeError));
      const unused = ~USED_FLAGS[bytes[at - 1]!]! & 0xff;
      for (let bit = 1; bit < 0x100; bit <<= 1) {
        if ((unused & bit) === 0 || (bytes[at]! & bit) !== 0) continue;
        const odd = Buffer.from(bytes);
        odd[at]! |= bit;
        const p = decode(odd);
        assert.ok(!(p instanceof DecodeError), `bit 0x${bit.toString(16)}: ${p instanceof DecodeError ? p.message : ''}`);
        const { rawFlags, ...fields } = p;
        assert.equal(rawFlags, odd[at], 'the raw Flags byte is carried');
        assert.deepEqual(fields, plain, 'the fields ignore the unused bit');
        assert.equal(encode(p).toString('hex'), odd.toString('hex'), 're-encoding gives the same bytes');
        assert.equal(encode(fields).toString('hex'), v.hex, 'a packet without rawFlags is written canonically');
      }
    });
  }

  it('mqttsn: PUBLISH and SUBSCRIBE with 0x04 (CleanSession) set decode', () => {
    // mqttsn 0.0.4 ORs 0x04 into every Flags byte it writes.
    const pub = decode(Buffer.from('090c24000100016869', 'hex'));
    assert.ok(!(pub instanceof DecodeError) && pub.type === 'PUBLISH', pub instanceof DecodeError ? pub.message : '');
    assert.equal(pub.qos, 1);
    const sub = decode(Buffer.from('0812240001612f62', 'hex'));
    assert.ok(!(sub instanceof DecodeError) && sub.type === 'SUBSCRIBE');
    assert.deepEqual({ qos: sub.qos, topic: sub.topicIdType === 'normal' && sub.topicName }, { qos: 1, topic: 'a/b' });
  });

  it('TopicIdType 0b11 stays an error: it is reserved, not unused', () => {
    const r = decode(Buffer.from('090c23000100036f6e', 'hex'));
    assert.ok(r instanceof DecodeError);
  });
});

describe('codec: MsgId 0 outside PUBLISH', () => {
  const cases: Array<[string, string]> = [
    ['REGISTER', '090a00000000612f62'],
    ['REGACK', '070b0001000000'],
    ['SUBSCRIBE', '0812000000612f62'],
    ['SUBACK', '08130000010000 00'.replace(' ', '')],
    ['UNSUBSCRIBE', '0814000000612f62'],
    ['UNSUBACK', '04150000'],
  ];
  for (const [type, hex] of cases) {
    it(`${type} with MsgId 0 decodes and re-encodes`, () => {
      const p = decode(Buffer.from(hex, 'hex'));
      assert.ok(!(p instanceof DecodeError), p instanceof DecodeError ? p.message : '');
      assert.equal(p.type, type);
      assert.equal((p as { msgId: number }).msgId, 0);
      assert.equal(encode(p).toString('hex'), hex);
    });
  }

  it('QoS 1 PUBLISH and PUBREC with MsgId 0 stay errors', () => {
    assert.ok(decode(Buffer.from('090c20000100006f6e', 'hex')) instanceof DecodeError);
    assert.ok(decode(Buffer.from('040f0000', 'hex')) instanceof DecodeError);
  });
});

describe('codec: SUBSCRIBE at QoS -1', () => {
  it('decodes with qos -1 and re-encodes', () => {
    const hex = '07126200086162';
    const p = decode(Buffer.from(hex, 'hex'));
    assert.ok(!(p instanceof DecodeError) && p.type === 'SUBSCRIBE');
    assert.equal(p.qos, -1);
    assert.equal(encode(p).toString('hex'), hex);
  });
});
