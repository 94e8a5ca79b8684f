/** Each way a frame can be wrong gives its own stable code; each unsendable packet is refused. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, DecodeError, EncodeError, CodecErrorCode as C, type Packet } from '../../src/codec/index.js';

const code = (hex: string): string => {
  const r = decode(Buffer.from(hex, 'hex'));
  assert.ok(r instanceof DecodeError, `expected an error for ${hex}, got ${JSON.stringify(r)}`);
  return r.code;
};

describe('codec: decode errors', () => {
  const cases: Array<[string, string, string]> = [
    ['empty input', '', C.TRUNCATED],
    ['one byte', '02', C.TRUNCATED],
    ['length field larger than the datagram', '0916', C.TRUNCATED],
    ['length field smaller than the datagram (trailing bytes)', '021600', C.LENGTH_MISMATCH],
    ['length byte 0x00', '0016', C.BAD_FIELD],
    ['3-byte form cut short', '010004', C.TRUNCATED],
    ['3-byte form with a value below 4', '01000317', C.BAD_FIELD],
    ['reserved MsgType 0x03', '0203', C.UNKNOWN_TYPE],
    ['reserved MsgType 0x1e', '021e', C.UNKNOWN_TYPE],
    ['CONNACK without return code', '0205', C.TRUNCATED],
    ['PINGRESP with a body', '031700', C.LENGTH_MISMATCH],
    ['DISCONNECT with a 1-byte duration', '031801', C.TRUNCATED],
    ['PUBLISH too short for its fields', '060c00000100', C.TRUNCATED],
    ['PUBLISH QoS 1 with MsgId 0', '090c20000100006f6e', C.BAD_FIELD],
    ['PUBLISH TopicIdType 0b11', '090c23000100036f6e', C.BAD_FLAGS],
    ['PUBLISH on reserved topic id 0x0000', '090c20000000036f6e', C.BAD_FIELD],
    ['PUBLISH on reserved topic id 0xFFFF', '090c20ffff00036f6e', C.BAD_FIELD],
    ['PUBLISH with a short name that is not UTF-8', '090c02ff0000006f6e', C.BAD_FIELD],
    ['QoS -1 inline name longer than the message', '0f0c6000300000612f6268656c6c6f', C.BAD_FIELD],
    ['CONNECT client id not UTF-8', '0704040100 3cff'.replace(' ', ''), C.BAD_FIELD],
    ['SUBSCRIBE short name of 3 bytes', '0812220008616263', C.LENGTH_MISMATCH],
    ['PUBREC with MsgId 0', '040f0000', C.BAD_FIELD],
    ['WILLTOPIC with will QoS -1', '05076061 62'.replace(' ', ''), C.BAD_FLAGS],
    ['encapsulation without a node id', '03fe000216', C.BAD_FIELD],
    ['encapsulation without an inner message', '05fe001234', C.TRUNCATED],
    ['encapsulation with reserved Ctrl bits', '05fe0412340216', C.BAD_FLAGS],
  ];
  for (const [name, hex, want] of cases) {
    it(`${name} -> ${want}`, () => assert.equal(code(hex), want));
  }

  it('keeps the MsgType of a message it could read, for the log', () => {
    const r = decode(Buffer.from('040f0000', 'hex'));
    assert.ok(r instanceof DecodeError);
    assert.equal(r.msgType, 0x0f);
  });

  it('accepts 3-byte lengths of 256 and 257, which an encoder never writes', () => {
    for (const total of [256, 257]) {
      const b = Buffer.alloc(total);
      b[0] = 0x01;
      b.writeUInt16BE(total, 1);
      b[3] = 0x0c; // PUBLISH QoS 0, topic id 1
      b.writeUInt16BE(1, 5);
      const p = decode(b);
      assert.ok(!(p instanceof DecodeError));
      assert.equal(p.type === 'PUBLISH' && p.payload.length, total - 9);
      assert.deepEqual(encode(p), b, 'the 3-byte form is kept on re-encode');
    }
  });

  it('returns payloads as views of the input, not copies', () => {
    const b = Buffer.from('0b0c000001000032312e35', 'hex');
    const p = decode(b);
    assert.ok(!(p instanceof DecodeError) && p.type === 'PUBLISH');
    assert.equal(p.payload.buffer, b.buffer);
    assert.equal(p.payload.byteOffset, b.byteOffset + 7);
  });
});

describe('codec: encode refuses packets that cannot be sent', () => {
  const base = { type: 'PUBLISH', dup: false, retain: false, payload: Buffer.alloc(0) } as const;
  const cases: Array<[string, Packet, string]> = [
    ['QoS 1 PUBLISH with MsgId 0', { ...base, qos: 1, msgId: 0, topicIdType: 'normal', topicId: 1 }, C.BAD_MSG_ID],
    ['PUBREL with MsgId 0', { type: 'PUBREL', msgId: 0 }, C.BAD_MSG_ID],
    ['short topic of 3 bytes', { ...base, qos: 0, msgId: 0, topicIdType: 'short', topicName: 'abc' }, C.BAD_TOPIC],
    ['short topic of 1 byte in SUBSCRIBE', { type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topicIdType: 'short', topicName: 'a' }, C.BAD_TOPIC],
    ['reserved topic id 0x0000', { ...base, qos: 0, msgId: 0, topicIdType: 'normal', topicId: 0 }, C.BAD_TOPIC],
    ['reserved topic id 0xFFFF', { ...base, qos: 0, msgId: 0, topicIdType: 'predefined', topicId: 0xffff }, C.BAD_TOPIC],
    ['QoS -1 on a normal topic id', { ...base, qos: -1, msgId: 0, topicIdType: 'normal', topicId: 1 }, C.BAD_TOPIC],
    ['payload over 65535 bytes in all', { ...base, qos: 0, msgId: 0, topicIdType: 'normal', topicId: 1, payload: Buffer.alloc(65535 - 9 + 1) }, C.TOO_LARGE],
    ['SUBACK with QoS -1', { type: 'SUBACK', qos: -1 as 0, topicId: 0, msgId: 1, returnCode: 0 }, C.BAD_FLAGS],
    ['a msgId beyond 16 bits', { type: 'UNSUBACK', msgId: 0x10000 }, C.BAD_FIELD],
  ];
  for (const [name, p, want] of cases) {
    it(`${name} -> ${want}`, () => {
      assert.throws(() => encode(p), (e: unknown) => e instanceof EncodeError && e.code === want);
    });
  }

  it('encodes the largest message the 3-byte form allows', () => {
    const p: Packet = { ...base, qos: 0, msgId: 0, topicIdType: 'normal', topicId: 1, payload: Buffer.alloc(65535 - 9) };
    assert.equal(encode(p).length, 65535);
  });
});

describe('codec: a decode error is cheap and leaves stack traces alone', () => {
  it('carries no stack frames (it is returned for every bad frame, never thrown) and restores Error.stackTraceLimit', () => {
    const before = Error.stackTraceLimit;
    const r = decode(Buffer.from('05ee0a0709', 'hex'));
    assert.ok(r instanceof DecodeError);
    assert.equal(r.stack?.split('\n').filter((l) => l.trim().startsWith('at ')).length, 0);
    assert.equal(Error.stackTraceLimit, before);
    const other = new Error('elsewhere');
    assert.ok((other.stack ?? '').includes(' at '), 'other errors keep their stack');
  });
});
