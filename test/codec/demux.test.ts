/**
 * 1.2 and 2.0 on one endpoint: every row of the reference's demultiplexing table (MQTT-SN-2.0.md
 * §7) with the bytes of both sides of each collision, the rule for senders with a Virtual
 * Connection, and the shared vectors of both versions from the senders that may send them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decode as decode12, demultiplex, DecodeError, type DemuxRule, type SenderKnowledge, type SnVersion } from '../../src/codec/index.js';
import * as v2 from '../../src/codec/v2/index.js';

interface Vector12 {
  name: string;
  layer: string;
  hex: string;
  decoded: { msgType: string; flags?: { qos?: number }; clientId?: string };
}
interface Vector20 {
  name: string;
  version: '1.2' | '2.0';
  packet: { type: string };
  hex: string;
}

const vectors12 = (JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8')) as { vectors: Vector12[] }).vectors.filter((v) => v.layer === 'mqtt-sn');
const file20 = (JSON.parse(readFileSync(new URL('../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Vector20[] }).vectors;
const vectors20 = file20.filter((v) => v.version === '2.0');
const hex20 = (name: string): string => file20.find((v) => v.name === name)!.hex;

const STRANGER: SenderKnowledge = {};

function check(hex: string, sender: SenderKnowledge, version: SnVersion, rule: DemuxRule): void {
  const got = demultiplex(Buffer.from(hex.replaceAll(' ', ''), 'hex'), sender);
  assert.deepEqual(got, { version, rule }, hex);
}

/** The chosen codec accepts it: the verdict leads somewhere, not to a drop. */
function decodesAs(hex: string, version: SnVersion, type: string): void {
  const b = Buffer.from(hex.replaceAll(' ', ''), 'hex');
  const p = version === '1.2' ? decode12(b) : v2.decode(b);
  assert.ok(!(p instanceof DecodeError), `${hex} as ${version}: ${p instanceof DecodeError ? p.message : ''}`);
  assert.equal(p.type, type);
}

describe('demultiplexer: the table for senders without a Virtual Connection (§7 rule 2)', () => {
  it('0x01: 3 bytes is a 1.2 SEARCHGW, a 2.0-layout CONNECT is 2.0 (Will or not, either Length form)', () => {
    check(hex20('v12_searchgw'), STRANGER, '1.2', 'connect-or-searchgw');
    check('01 0005 01 00', STRANGER, '1.2', 'connect-or-searchgw'); // 1.2 SEARCHGW in the 3-byte form
    for (const name of ['connect_minimal_clean_start', 'connect_resume_no_clientid', 'connect_will_topic_name_qos1_retain', 'connect_long_clientid_3byte_length']) {
      check(hex20(name), STRANGER, '2.0', 'connect-or-searchgw');
    }
  });

  it('0x01 with Protocol Version 1 in the 2.0 layout goes to 2.0, which answers CONNACK 0x84 (§7 step 3)', () => {
    const hex = hex20('connect_2_0_format_protocol_version_1');
    check(hex, STRANGER, '2.0', 'connect-or-searchgw');
    const p = v2.decode(Buffer.from(hex, 'hex'));
    assert.ok(!(p instanceof DecodeError) && p.type === 'CONNECT');
    assert.notEqual(p.protocolVersion, v2.PROTOCOL_VERSION);
    const answer = v2.encode({ type: 'CONNACK', sessionPresent: false, packetId: p.packetId, reasonCode: v2.ReasonCode.UNSUPPORTED_PROTOCOL_VERSION });
    assert.equal(answer.toString('hex'), hex20('connack_unsupported_protocol_version'));
  });

  it('0x04: 1.2 CONNECT', () => {
    check(hex20('v12_connect'), STRANGER, '1.2', 'v12-connect');
    decodesAs(hex20('v12_connect'), '1.2', 'CONNECT');
    check('09 04 04 01 003c 6331 ff', STRANGER, '1.2', 'v12-connect'); // bad UTF-8: neither reads it, the row stands
  });

  it('0x0C: 4 bytes is a 2.0 PINGREQ (either Length form), longer is a 1.2 PUBLISH (QoS -1 and others)', () => {
    check(hex20('pingreq'), STRANGER, '2.0', 'pingreq-or-publish');
    check(hex20('pingreq_3byte_length_form'), STRANGER, '2.0', 'pingreq-or-publish');
    check(hex20('v12_publish_qos_minus1_predefined'), STRANGER, '1.2', 'pingreq-or-publish');
    decodesAs(hex20('v12_publish_qos_minus1_predefined'), '1.2', 'PUBLISH');
    check('0b0c000001000032312e35', STRANGER, '1.2', 'pingreq-or-publish'); // 1.2 QoS 0: the 1.2 gateway answers as before
  });

  it('0x00 and 0x02: 1.2 ADVERTISE and GWINFO', () => {
    check('0500010384', STRANGER, '1.2', 'v12-discovery');
    check('030201', STRANGER, '1.2', 'v12-discovery');
  });

  it('0x12: 2.0 PUBWOS', () => {
    check(hex20('pubwos_predefined_alias'), STRANGER, '2.0', 'pubwos');
    check(hex20('pubwos_topic_name_retain'), STRANGER, '2.0', 'pubwos');
  });

  it('0x16: a known 1.2 sleeper waking with its Client Id is 1.2; otherwise what reads as a 2.0 ADVERTISE is 2.0', () => {
    const sleeper: SenderKnowledge = { isSleeping12Client: (id) => id === 'abc' || id === 'sensor-01' };
    // `05 16 61 62 63` is both a 1.2 PINGREQ("abc") and a 2.0 ADVERTISE(gw 0x61, 0x6263 s): only knowledge tells.
    check('05 16 616263', sleeper, '1.2', 'sleeping-v12-pingreq');
    decodesAs('05 16 616263', '1.2', 'PINGREQ');
    check('05 16 616263', STRANGER, '2.0', 'v20-discovery');
    decodesAs('05 16 616263', '2.0', 'ADVERTISE');
    check('05 16 616264', sleeper, '2.0', 'v20-discovery'); // "abd" is not asleep
    check('0b1673656e736f722d3031', sleeper, '1.2', 'sleeping-v12-pingreq');
    check(hex20('advertise'), sleeper, '2.0', 'v20-discovery');
  });

  it('a row whose version cannot read the datagram yields to the other version when that one can', () => {
    // A 1.2 client the gateway lost is still told to CONNECT again (1.2 §4.1), not dropped as a malformed 2.0 packet:
    check('0216', STRANGER, '1.2', 'only-other-reads'); // keep-alive PINGREQ: a 2.0 ADVERTISE has 3 bytes after the type
    check('0b1673656e736f722d3031', STRANGER, '1.2', 'only-other-reads'); // PINGREQ naming a client that is not asleep
    check('0218', STRANGER, '1.2', 'only-other-reads'); // DISCONNECT: a 2.0 GWINFO has a Gateway Id
    check('131220000573656e736f72732f2b2f74656d70', STRANGER, '1.2', 'only-other-reads'); // SUBSCRIBE: QoS bits are reserved in PUBWOS
    // A 2.0 client the gateway lost may be answered DISCONNECT 0xF4 [3.13]:
    check(hex20('puback_success_no_reason_code'), STRANGER, '2.0', 'only-other-reads'); // too short for a 1.2 CONNECT
    decodesAs(hex20('puback_success_no_reason_code'), '2.0', 'PUBACK');
    // Where both read it the row stands.
    check('04180258', STRANGER, '2.0', 'v20-discovery'); // 1.2 DISCONNECT(600 s) is also GWINFO(gw 2, address 0x58)
    check('05 16 616263', STRANGER, '2.0', 'v20-discovery');
    check(hex20('connack_success'), STRANGER, '1.2', 'v12-discovery'); // a 2.0 CONNACK also reads as a 1.2 GWINFO
  });

  it('0x17 and 0x18: 2.0 SEARCHGW and GWINFO (a 1.2 PINGRESP `02 17` is a 2.0 SEARCHGW, and the gateway sends PINGRESP, not takes it)', () => {
    check(hex20('searchgw_no_info'), STRANGER, '2.0', 'v20-discovery');
    check('0217', STRANGER, '2.0', 'v20-discovery');
    check(hex20('searchgw_radius'), STRANGER, '2.0', 'v20-discovery');
    check(hex20('gwinfo_from_gateway'), STRANGER, '2.0', 'v20-discovery');
    check(hex20('gwinfo_from_client_with_address'), STRANGER, '2.0', 'v20-discovery');
  });

  it('0xFC and 0xFF: 2.0 Forwarder and Protection Encapsulation', () => {
    for (const v of vectors20.filter((x) => x.packet.type === 'FORWARDER_ENCAPSULATION' || x.packet.type === 'PROTECTION_ENCAPSULATION')) {
      check(v.hex, STRANGER, '2.0', 'v20-encapsulation');
    }
  });

  it('0xFE: Length == datagram is a 2.0 Connection Encapsulation, Length < datagram a 1.2 forwarder (AMBIG-2)', () => {
    check(hex20('connection_encapsulation_pingreq'), STRANGER, '2.0', 'fe-by-length');
    check(hex20('connection_encapsulation_publish'), STRANGER, '2.0', 'fe-by-length');
    check('01 000c fe 0004 74657374 040c0042', STRANGER, '2.0', 'fe-by-length'); // 3-byte form: 1.2 never uses it here
    check(hex20('v12_forwarder_encapsulation'), STRANGER, '1.2', 'fe-by-length');
    for (const v of vectors12.filter((x) => x.decoded.msgType === 'ENCAPSULATED')) check(v.hex, STRANGER, '1.2', 'fe-by-length');
  });

  it('outside the table: the version whose decoder accepts it, else 1.2', () => {
    check(hex20('publish_qos1_topic_name_retain'), STRANGER, '2.0', 'decodable'); // 0x03 is reserved in 1.2
    check(hex20('register_from_client'), STRANGER, '2.0', 'decodable'); // a 1.2 PUBREL is exactly 4 bytes
    check('04100004', STRANGER, '1.2', 'decodable'); // 1.2 PUBREL: answered PUBCOMP as before
    check('120a0000000173656e736f72732f74656d70', STRANGER, '1.2', 'decodable'); // 1.2 REGISTER: DISCONNECT as before
    check(hex20('pubcomp_success'), STRANGER, '1.2', 'decodable'); // also a 1.2 WILLTOPIC: both accept, 1.2 keeps it
    check('021e', STRANGER, '1.2', 'decodable'); // neither
  });

  it('no header at all goes to 1.2, whose path counts it', () => {
    check('', STRANGER, '1.2', 'unreadable');
    check('05', STRANGER, '1.2', 'unreadable');
    check('010006', STRANGER, '1.2', 'unreadable');
  });
});

describe('demultiplexer: senders with a Virtual Connection (§7 rule 1)', () => {
  const s12: SenderKnowledge = { session: '1.2' };
  const s20: SenderKnowledge = { session: '2.0' };

  it('a 1.2 VC reads every 1.2 vector as 1.2, however it collides with 2.0', () => {
    assert.ok(vectors12.length >= 60);
    for (const v of vectors12) check(v.hex, s12, '1.2', 'session');
  });

  it('a 2.0 VC reads every 2.0 vector as 2.0 (a 2.0 PUBACK is not a 1.2 CONNECT there)', () => {
    for (const v of vectors20) check(v.hex, s20, '2.0', 'session');
  });

  it('a CONNECT of the other version switches: the new CONNECT decides the VC version', () => {
    check(hex20('connect_minimal_clean_start'), s12, '2.0', 'switching-connect');
    check(hex20('connect_will_predefined_alias'), s12, '2.0', 'switching-connect');
    check(hex20('v12_connect'), s20, '1.2', 'switching-connect');
  });

  it('a 2.0 PINGREQ from a 1.2 VC stays 1.2 (and the 1.2 codec drops it), never answered in 2.0', () => {
    check(hex20('pingreq'), s12, '1.2', 'session');
    check(hex20('pubwos_predefined_alias'), s12, '1.2', 'session');
    check(hex20('protection_hmac_sha256_pingreq'), s12, '1.2', 'session');
  });
});

describe('demultiplexer: the packets a sender without a VC may legitimately send reach their own version', () => {
  const legit12 = vectors12.filter(
    (v) => ['CONNECT', 'SEARCHGW', 'ADVERTISE', 'GWINFO', 'ENCAPSULATED'].includes(v.decoded.msgType) || (v.decoded.msgType === 'PUBLISH' && v.decoded.flags?.qos === -1),
  );
  const legit20 = vectors20.filter((v) =>
    ['CONNECT', 'PUBWOS', 'ADVERTISE', 'SEARCHGW', 'GWINFO', 'PINGREQ', 'FORWARDER_ENCAPSULATION', 'CONNECTION_ENCAPSULATION', 'PROTECTION_ENCAPSULATION'].includes(v.packet.type),
  );

  it('1.2: CONNECT, discovery, QoS -1 PUBLISH, forwarder encapsulation', () => {
    assert.ok(legit12.length >= 10);
    for (const v of legit12) assert.equal(demultiplex(Buffer.from(v.hex, 'hex')).version, '1.2', v.name);
  });

  it('2.0: CONNECT, PUBWOS, discovery, a woken client PINGREQ, the three encapsulations', () => {
    assert.ok(legit20.length >= 25);
    for (const v of legit20) assert.equal(demultiplex(Buffer.from(v.hex, 'hex')).version, '2.0', v.name);
  });

  it('never throws, whatever the bytes and the knowledge', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom<SnVersion | undefined>(undefined, '1.2', '2.0'), fc.boolean(), (a, session, sleeping) => {
        const sender: SenderKnowledge = { isSleeping12Client: () => sleeping };
        if (session !== undefined) sender.session = session;
        const v = demultiplex(Buffer.from(a), sender);
        assert.ok(v.version === '1.2' || v.version === '2.0');
      }),
      { numRuns: 20000 },
    );
  });
});
