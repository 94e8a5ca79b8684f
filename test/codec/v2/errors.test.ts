/**
 * Each way a 2.0 packet can be malformed gives its stable code; each packet that cannot be sent
 * is refused by `encode`. The cases are the draft's Malformed Packet rules, one per line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as v2 from '../../../src/codec/v2/index.js';

const C = v2.CodecErrorCode;

const code = (hex: string): string => {
  const r = v2.decode(Buffer.from(hex.replaceAll(' ', ''), 'hex'));
  assert.ok(r instanceof v2.DecodeError, `expected an error for ${hex}, got ${JSON.stringify(r)}`);
  return r.code;
};

describe('codec 2.0: decode errors', () => {
  const cases: Array<[string, string, string]> = [
    ['empty input', '', C.TRUNCATED],
    ['Length larger than the datagram', '05 0c 0042', C.TRUNCATED],
    ['Length smaller than the datagram', '04 0c 0042 00', C.LENGTH_MISMATCH],
    ['3-byte Length below 4', '01 0003 0c', C.BAD_FIELD],
    ['reserved type 0x00', '02 00', C.UNKNOWN_TYPE],
    ['reserved type 0x19 (1.2 WILLTOPICUPD range)', '02 19', C.UNKNOWN_TYPE],
    ['reserved type 0xFD (AMBIG-2)', '04 fd 0000', C.UNKNOWN_TYPE],
    ['PINGREQ without its Packet Identifier', '02 0c', C.TRUNCATED],
    ['PINGREQ with a 1.2 Client Identifier after it', '06 0c 0042 6331', C.LENGTH_MISMATCH],
    ['Packet Identifier 0 (MQTT-SN-2.2-1)', '04 0c 0000', C.BAD_FIELD],
    ['PUBACK with two bytes after the id', '06 04 0001 0000', C.LENGTH_MISMATCH],
    ['CONNECT reserved flag bit 7 (MQTT-SN-3.1.2-1)', '0c 01 81 0001 02 003c 0000 6331', C.BAD_FLAGS],
    ['CONNECT Will QoS 3 [3.1.3.2]', '11 01 03 0c 0004 02 003c 0000 0000 0000 7731', C.BAD_FLAGS],
    ['CONNECT Will reserved bits 7-5', '11 01 03 20 0004 02 003c 0000 0000 0000 7731', C.BAD_FLAGS],
    ['CONNECT Will Topic Type 0b10', '11 01 03 02 0004 02 003c 0000 0000 0000 7731', C.BAD_FLAGS],
    ['CONNECT with Sess Exp flag but no room for it', '0a 01 08 0001 02 003c 0000', C.TRUNCATED],
    ['CONNECT Client Identifier not UTF-8 [1.8.4]', '0b 01 01 0001 02 003c 0000 ff', C.BAD_FIELD],
    ['CONNECT Client Identifier with U+0000 [1.8.4]', '0c 01 01 0001 02 003c 0000 6300', C.BAD_FIELD],
    ['CONNECT Client Identifier with an encoded surrogate', '0d 01 01 0001 02 003c 0000 eda080', C.BAD_FIELD],
    ['CONNACK reserved bits 7-4 (2892dbc)', '06 02 10 0001 00', C.BAD_FLAGS],
    ['CONNACK Auth flag, method longer than the packet', '08 02 08 0001 00 05 61', C.TRUNCATED],
    ['PUBLISH reserved bits 3-2 (MQTT-SN-3.6.2.2-2)', '07 03 04 0005 6869', C.BAD_FLAGS],
    ['PUBLISH QoS 3', '09 03 60 0001 0005 6869', C.BAD_FLAGS],
    ['PUBLISH Topic Type 0b10', '07 03 02 0005 6869', C.BAD_FLAGS],
    ['PUBLISH QoS 1 with Packet Identifier 0', '09 03 20 0000 0005 6869', C.BAD_FIELD],
    ['PUBLISH Topic Name Length past the end', '07 03 03 0009 612f', C.TRUNCATED],
    ['PUBWOS with a Session Topic Alias (MQTT-SN-3.6.1.2.1-1)', '07 12 00 0005 6869', C.BAD_FLAGS],
    ['PUBWOS reserved bit 7 (MQTT-SN-3.6.1.2-2)', '07 12 81 0005 6869', C.BAD_FLAGS],
    ['SUBSCRIBE Retain Handling 3', '07 08 0d 0001 0005', C.BAD_FLAGS],
    ['SUBSCRIBE QoS 3', '07 08 61 0001 0005', C.BAD_FLAGS],
    ['SUBSCRIBE alias of 3 bytes', '08 08 01 0001 000500', C.LENGTH_MISMATCH],
    ['SUBACK Topic Type 0b11', '06 09 03 0001 00', C.BAD_FLAGS],
    ['REGACK reserved bit 3', '06 11 08 0001 00', C.BAD_FLAGS],
    ['REGACK alias flag without the alias', '05 11 04 0001', C.TRUNCATED],
    ['REGISTER reserved bit 1', '08 10 02 0001 612f62', C.BAD_FLAGS],
    ['UNSUBSCRIBE reserved bit 2', '07 0a 04 0001 0005', C.BAD_FLAGS],
    ['DISCONNECT reserved bit 3', '03 0e 08', C.BAD_FLAGS],
    ['DISCONNECT Sess Exp flag with 2 bytes', '05 0e 02 0001', C.TRUNCATED],
    ['DISCONNECT Reason String not UTF-8', '05 0e 04 80 ff', C.BAD_FIELD],
    ['SLEEPREQ reserved bit 1', '09 13 02 0001 0000003c', C.BAD_FLAGS],
    ['SLEEPREQ without its duration', '05 13 00 0001', C.TRUNCATED],
    ['SLEEPRESP with a duration flag and 1 byte', '07 14 01 0001 0000', C.TRUNCATED],
    ['WAKEUP with a body', '03 15 00', C.LENGTH_MISMATCH],
    ['ADVERTISE without duration', '03 16 01', C.TRUNCATED],
    ['AUTH method longer than the packet', '07 0f 0009 18 05 61', C.TRUNCATED],
    ['Forwarder Encapsulation without an inner packet', '05 fc 02 0102', C.TRUNCATED],
    ['Forwarder addressing length past the end', '06 fc 09 0102 03', C.TRUNCATED],
    ['Connection Encapsulation without an inner packet', '07 fe 0002 6331 00', C.TRUNCATED],
    ['Connection Encapsulation Client Identifier not UTF-8', '0a fe 0002 ffff 040c0042', C.BAD_FIELD],
    ['Protection: Monotonic Counter Length 3 reserved', '14 ff 13 00 0011223344556677 a1b2c3d4 040c0042', C.BAD_FLAGS],
    ['Protection: Tag Length code 2 reserved', '14 ff 20 00 0011223344556677 a1b2c3d4 040c0042', C.BAD_FIELD],
    ['Protection: reserved scheme 0x05', '14 ff 10 05 0011223344556677 a1b2c3d4 040c0042', C.BAD_FIELD],
    ['Protection: truncation of an AEAD scheme', '14 ff 40 40 0011223344556677 a1b2c3d4 040c0042', C.BAD_FIELD],
    ['Protection: CMAC truncated above its 128-bit nominal size', '14 ff 90 02 0011223344556677 a1b2c3d4 040c0042', C.BAD_FIELD],
    ['Protection: tag longer than what follows the header', '14 ff 10 00 0011223344556677 a1b2c3d4 040c0042', C.TRUNCATED],
    ['Protection: provider-defined tag length (code 0)', '14 ff 00 00 0011223344556677 a1b2c3d4 040c0042', C.UNSUPPORTED],
    ['Protection: provider scheme at its nominal size (code 1)', '14 ff 10 f0 0011223344556677 a1b2c3d4 040c0042', C.UNSUPPORTED],
  ];
  for (const [name, hex, want] of cases) {
    it(`${name} -> ${want}`, () => assert.equal(code(hex), want));
  }

  it('every code it returns is catalogued in src/errors.ts', () => {
    const catalogue = new Set<string>(Object.values(v2.CodecErrorCode));
    for (const [, , want] of cases) assert.ok(catalogue.has(want));
  });

  it('keeps the packet type it could read, for the log', () => {
    const r = v2.decode(Buffer.from('04040000', 'hex'));
    assert.ok(r instanceof v2.DecodeError);
    assert.equal(r.msgType, v2.PacketType.PUBACK);
  });

  it('decodes what breaks a rule of behaviour, not of format, for the server to answer', () => {
    // Keep Alive 0 (3.1.6), Maximum Packet Size 5 (3.1.7-1), Protocol Version 1 (3.1.5): a CONNACK with a reason is the answer, not silence.
    const p = v2.decode(Buffer.from('0c 01 01 0001 01 0000 0005 6331'.replaceAll(' ', ''), 'hex'));
    assert.ok(!(p instanceof v2.DecodeError) && p.type === 'CONNECT');
    assert.deepEqual([p.keepAlive, p.maxPacketSize, p.protocolVersion], [0, 5, 1]);
    // DUP on a QoS 1 PUBLISH: the sender MUST NOT (3.6.2.2.3-1), but the draft does not make it malformed.
    const dup = v2.decode(Buffer.from('0903a100010005 6869'.replaceAll(' ', ''), 'hex'));
    assert.ok(!(dup instanceof v2.DecodeError) && dup.type === 'PUBLISH' && dup.dup && dup.qos === 1);
  });

  it('keeps a byte-order mark in a string instead of stripping it [1.8.4]', () => {
    const p = v2.decode(Buffer.from('0e01010001 02003c0000 efbbbf41'.replaceAll(' ', ''), 'hex'));
    assert.ok(!(p instanceof v2.DecodeError) && p.type === 'CONNECT');
    assert.equal(p.clientId, '\ufeffA');
  });

  it('returns payloads as views of the input, not copies', () => {
    const b = Buffer.from('090300000532312e35', 'hex');
    const p = v2.decode(b);
    assert.ok(!(p instanceof v2.DecodeError) && p.type === 'PUBLISH');
    assert.equal(p.payload.buffer, b.buffer);
    assert.equal(p.payload.byteOffset, b.byteOffset + 5);
  });
});

describe('codec 2.0: encode refuses packets that cannot be sent', () => {
  const pub = { type: 'PUBLISH', dup: false, retain: false, payload: Buffer.alloc(0), topicType: 'session', topicAlias: 1 } as const;
  const cases: Array<[string, v2.Packet, string]> = [
    ['Packet Identifier 0', { type: 'PINGREQ', packetId: 0 }, C.BAD_MSG_ID],
    ['QoS 1 PUBLISH without a Packet Identifier', { ...pub, qos: 1 }, C.BAD_MSG_ID],
    ['QoS 0 PUBLISH with a Packet Identifier', { ...pub, qos: 0, packetId: 7 }, C.BAD_MSG_ID],
    ['QoS 3', { ...pub, qos: 3 as 0 }, C.BAD_FLAGS],
    ['Retain Handling 3', { type: 'SUBSCRIBE', noLocal: false, qos: 0, retainAsPublished: false, retainHandling: 3 as 0, packetId: 1, topicType: 'session', topicAlias: 1 }, C.BAD_FLAGS],
    ['PUBWOS on a Session Topic Alias', { type: 'PUBWOS', retain: false, payload: Buffer.alloc(0), topicType: 'session' as 'predefined', topicAlias: 1 }, C.BAD_TOPIC],
    ['REGACK with Topic Type name', { type: 'REGACK', topicType: 'name' as 'session', packetId: 1 }, C.BAD_TOPIC],
    ['a Topic Name with U+0000', { ...pub, qos: 0, topicType: 'name', topicName: 'a\0b' }, C.BAD_FIELD],
    ['a Client Identifier with a lone surrogate', { type: 'CONNECTION_ENCAPSULATION', clientId: 'a\ud800', packet: Buffer.from('040c0042', 'hex') }, C.BAD_FIELD],
    ['an empty Reason String (cannot be told from none)', { type: 'DISCONNECT', reasonCode: 0x80, reasonString: '' }, C.BAD_FIELD],
    ['an empty Assigned Client Identifier', { type: 'CONNACK', sessionPresent: false, packetId: 1, reasonCode: 0, assignedClientId: '' }, C.BAD_FIELD],
    ['an Authentication Method over 255 bytes', { type: 'AUTH', packetId: 1, reasonCode: 0x18, method: 'm'.repeat(256), data: Buffer.alloc(0) }, C.BAD_FIELD],
    ['an encapsulated packet of 1 byte', { type: 'FORWARDER_ENCAPSULATION', clientAddressingInfo: Buffer.alloc(1), packet: Buffer.alloc(1) }, C.BAD_FIELD],
    ['a Session Expiry Interval over 32 bits', { type: 'DISCONNECT', sessionExpiryInterval: 2 ** 32 }, C.BAD_FIELD],
    [
      'a tag that does not match its Tag Length code',
      { type: 'PROTECTION_ENCAPSULATION', authTagLengthCode: 1, protectionScheme: 0, senderId: Buffer.alloc(8), random: Buffer.alloc(4), protectedPacket: Buffer.from('040c0042', 'hex'), authTag: Buffer.alloc(16) },
      C.BAD_FIELD,
    ],
    ['a payload over 65535 bytes in all', { ...pub, qos: 0, payload: Buffer.alloc(65535) }, C.TOO_LARGE],
  ];
  for (const [name, p, want] of cases) {
    it(`${name} -> ${want}`, () => {
      assert.throws(() => v2.encode(p), (e: unknown) => e instanceof v2.EncodeError && e.code === want);
    });
  }

  it('writes the 3-byte Length exactly when the total passes 255', () => {
    for (let n = 245; n <= 255; n++) {
      const b = v2.encode({ ...pub, qos: 0, payload: Buffer.alloc(n) });
      const total = 5 + n;
      assert.deepEqual([b.length, b[0]], total <= 255 ? [total, total] : [total + 2, 0x01]);
      assert.deepEqual(v2.decode(b), { ...pub, qos: 0, payload: Buffer.alloc(n) });
    }
  });
});
