/**
 * The node's wire modules without a node: what the 2.0 wire puts on the air for each of the node's
 * intents is byte for byte the shared CSD01 vectors (written independently of our codec and checked
 * against Paho's), and what it reads from the vectors a gateway sends is the event the engine acts
 * on. Each version refuses, with BAD_ARGUMENT and before anything is sent, what it cannot carry.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DecodeError, v2 } from '../../src/codec/index.js';
import { SimError, SimErrorCode } from '../../firmware-sim/errors.js';
import { basicAuthData } from '../../firmware-sim/wire/v2.js';
import { parseProtocol, wireFor, type Event, type Intent, type ProtocolVersion, type Result } from '../../firmware-sim/wire/index.js';

const vectors = new Map(
  (JSON.parse(readFileSync(new URL('../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Array<{ name: string; hex: string }> }).vectors.map((v) => [v.name, v.hex]),
);
const hex = (name: string): string => {
  const h = vectors.get(name);
  assert.ok(h !== undefined, `vector ${name}`);
  return h;
};

const wire2 = wireFor('2');
const wire12 = wireFor('1.2');
const connect = { type: 'CONNECT', will: undefined, sessionExpiry: undefined, auth: undefined, keepAlive: 60 } as const;
const b = (s: string): Buffer => Buffer.from(s);

/** [vector, the intent whose bytes it is] */
const ENCODED: Array<[string, Intent]> = [
  ['connect_minimal_clean_start', { ...connect, clientId: 'c1', cleanStart: true, msgId: 1 }],
  ['connect_session_never_expires', { ...connect, clientId: 'dev', cleanStart: false, sessionExpiry: 0xffffffff, msgId: 3 }],
  ['connect_will_topic_name_qos1_retain', { ...connect, clientId: 'w1', cleanStart: true, will: { topic: 'will/t', payload: 'bye', qos: 1, retain: true }, msgId: 4 }],
  ['register_from_client', { type: 'REGISTER', msgId: 16, topicName: 'home/kitchen/temp' }],
  ['regack_from_client_minimal', { type: 'REGACK', msgId: 17, topicId: 5 }],
  ['publish_qos0_session_alias', { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: b('21.5'), topic: { topicIdType: 'normal', topicId: 5 } }],
  ['publish_qos0_topic_name', { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: b('hi'), topic: { topicIdType: 'inline', topicName: 'a/b' } }],
  ['publish_qos1_predefined_alias', { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1, payload: Buffer.from([1, 2]), topic: { topicIdType: 'predefined', topicId: 1 } }],
  // MQTT-SN-3.6.2.2.3-1: a retransmitted QoS 1 PUBLISH keeps DUP 0 (same bytes as the first).
  ['publish_qos1_predefined_alias', { type: 'PUBLISH', dup: true, qos: 1, retain: false, msgId: 1, payload: Buffer.from([1, 2]), topic: { topicIdType: 'predefined', topicId: 1 } }],
  ['publish_qos2_session_alias', { type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 258, payload: b('x'), topic: { topicIdType: 'normal', topicId: 7 } }],
  ['publish_qos2_dup_topic_name', { type: 'PUBLISH', dup: true, qos: 2, retain: false, msgId: 258, payload: b('x'), topic: { topicIdType: 'inline', topicName: 'a/b' } }],
  ['pubwos_predefined_alias', { type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, payload: b('hello'), topic: { topicIdType: 'predefined', topicId: 7 } }],
  ['pubwos_topic_name_retain', { type: 'PUBLISH', dup: false, qos: -1, retain: true, msgId: 0, payload: b('22.5'), topic: { topicIdType: 'inline', topicName: 'sensors/temperature' } }],
  ['puback_success_no_reason_code', { type: 'PUBACK', msgId: 1, topicId: 9, invalidTopic: false }],
  ['puback_unknown_topic_alias', { type: 'PUBACK', msgId: 2, topicId: 9, invalidTopic: true }],
  ['pubrec_success', { type: 'PUBREC', msgId: 258 }],
  ['pubrel_success', { type: 'PUBREL', msgId: 258 }],
  ['pubcomp_success', { type: 'PUBCOMP', msgId: 258 }],
  ['subscribe_filter_wildcard_qos1', { type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 32, topic: { topicIdType: 'normal', topicName: 'sensors/+/temp' } }],
  // No DUP in a 2.0 SUBSCRIBE: the retransmission is the same packet.
  ['subscribe_filter_wildcard_qos1', { type: 'SUBSCRIBE', dup: true, qos: 1, msgId: 32, topic: { topicIdType: 'normal', topicName: 'sensors/+/temp' } }],
  ['unsubscribe_filter', { type: 'UNSUBSCRIBE', msgId: 48, topic: { topicIdType: 'normal', topicName: 'sensors/+/temp' } }],
  ['pingreq', { type: 'PINGREQ', msgId: 66 }],
  // [3.11]: the wake-up PINGREQ carries no client id in 2.0.
  ['pingreq', { type: 'WAKE', clientId: 'sleeper-1', msgId: 66 }],
  ['sleepreq_retain_topic_aliases', { type: 'SLEEP', duration: 3600, msgId: 80 }],
  ['disconnect_minimal', { type: 'DISCONNECT', withWill: false }],
  ['disconnect_with_will_message', { type: 'DISCONNECT', withWill: true }],
  ['searchgw_no_info', { type: 'SEARCHGW', radius: 0 }],
  ['searchgw_radius', { type: 'SEARCHGW', radius: 1 }],
];

const ok = (code: number, name: string): Result => ({ code, meaning: 'accepted', name });

/** [vector a gateway sends, the event the 2.0 wire reads from it] */
const DECODED: Array<[string, Event]> = [
  ['connack_success', { type: 'CONNACK', msgId: 1, result: ok(0, 'success'), sessionPresent: false }],
  ['connack_session_present', { type: 'CONNACK', msgId: 3, result: ok(0, 'success'), sessionPresent: true }],
  ['connack_assigned_client_id', { type: 'CONNACK', msgId: 0x1234, result: ok(0, 'success'), sessionPresent: false, assignedClientId: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6' }],
  ['connack_congestion', { type: 'CONNACK', msgId: 1, result: { code: 0xf1, meaning: 'congestion', name: 'congestion' }, sessionPresent: false }],
  ['register_from_server_with_alias', { type: 'REGISTER', msgId: 17, topicId: 5, topicName: 'home/kitchen/temp' }],
  ['regack_server_assigns_session_alias', { type: 'REGACK', msgId: 16, topicId: 5, predefined: false, result: ok(0, 'success') }],
  ['regack_topic_alias_exists_predefined', { type: 'REGACK', msgId: 18, topicId: 1, predefined: true, result: ok(0x1a, 'topic alias exists') }],
  ['publish_qos2_session_alias', { type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 258, payload: b('x'), topic: { topicIdType: 'normal', topicId: 7 } }],
  ['publish_qos0_topic_name', { type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: b('hi'), topic: { topicIdType: 'inline', topicName: 'a/b' } }],
  // MQTT-SN-3.6-1: PUBWOS is QoS 0 to whoever receives it.
  ['pubwos_topic_name_retain', { type: 'PUBLISH', dup: false, qos: 0, retain: true, msgId: 0, payload: b('22.5'), topic: { topicIdType: 'inline', topicName: 'sensors/temperature' } }],
  ['puback_success_no_reason_code', { type: 'PUBACK', msgId: 1, result: ok(0, 'success') }],
  ['puback_unknown_topic_alias', { type: 'PUBACK', msgId: 2, result: { code: 0xf0, meaning: 'invalid-topic', name: 'unknown topic alias' } }],
  ['pubrec_not_authorized', { type: 'PUBREC', msgId: 259, result: { code: 0x87, meaning: 'rejected', name: 'not authorized' } }],
  ['pubcomp_success', { type: 'PUBCOMP', msgId: 258 }],
  ['suback_session_alias_granted_qos1', { type: 'SUBACK', msgId: 36, topicId: 6, predefined: false, grantedQos: 1, result: ok(1, 'granted qos 1') }],
  ['suback_wildcard_no_alias_granted_qos1', { type: 'SUBACK', msgId: 32, topicId: 0, predefined: true, grantedQos: 1, result: ok(1, 'granted qos 1') }],
  ['suback_topic_filter_invalid', { type: 'SUBACK', msgId: 37, topicId: 0, predefined: true, grantedQos: 0, result: { code: 0x8f, meaning: 'rejected', name: 'topic filter invalid' } }],
  ['unsuback_success', { type: 'UNSUBACK', msgId: 48 }],
  ['pingresp', { type: 'PINGRESP', msgId: 66 }],
  ['sleepresp_success', { type: 'SLEEPRESP', msgId: 80, result: ok(0, 'success') }],
  ['sleepresp_packet_id_in_use', { type: 'SLEEPRESP', msgId: 82, result: { code: 0x91, meaning: 'rejected', name: 'packet identifier in use' } }],
  ['disconnect_server_shutting_down_reason_string', { type: 'DISCONNECT', result: { code: 0x8b, meaning: 'rejected', name: 'server shutting down' } }],
  ['wakeup', { type: 'WAKEUP' }],
  ['gwinfo_from_gateway', { type: 'GWINFO', gwId: 1 }],
  ['advertise', { type: 'ADVERTISE', gwId: 1 }],
  // A PINGREQ is a client's packet in 2.0 [3.11]: nothing a node answers.
  ['pingreq', { type: 'OTHER', name: 'PINGREQ' }],
];

const badArgument = (e: unknown): boolean => e instanceof SimError && e.code === SimErrorCode.BAD_ARGUMENT;

describe('firmware-sim 2.0 wire against the CSD01 vectors', () => {
  for (const [name, intent] of ENCODED) {
    it(`encodes ${intent.type}${'dup' in intent && intent.dup ? ' (resent)' : ''} as ${name}`, () => {
      assert.equal(wire2.encode(intent).toString('hex'), hex(name));
    });
  }

  for (const [name, event] of DECODED) {
    it(`reads ${name} as ${event.type}`, () => {
      assert.deepEqual(wire2.decode(Buffer.from(hex(name), 'hex')), event);
    });
  }

  it('puts MQTT-BASIC user name and password in CONNECT as the vector does [4.11]', () => {
    // The vector's CONNECT also sets a Maximum Packet Size of 100, which the node leaves at 0.
    const frame = wire2.encode({ ...connect, clientId: 'C', cleanStart: true, auth: { username: 'M', password: 'PW' }, msgId: 1 });
    const p = v2.decode(frame);
    assert.ok(!(p instanceof DecodeError) && p.type === 'CONNECT');
    assert.equal(p.auth?.method, 'MQTT-BASIC');
    assert.equal(basicAuthData({ username: 'M', password: 'PW' }).toString('hex'), '00014d00025057');
    assert.equal(v2.encode({ ...p, maxPacketSize: 100 }).toString('hex'), hex('connect_auth_mqtt_basic'));
  });

  it('a malformed frame is a DecodeError, and a 1.2 CONNACK is no 2.0 answer', () => {
    assert.ok(wire2.decode(Buffer.from('0302', 'hex')) instanceof DecodeError);
    // 1.2 CONNACK 03 05 00 reads as a truncated 2.0 PUBREC: nothing a CONNECT waits for.
    const e = wire2.decode(Buffer.from('030500', 'hex'));
    const accept = wire2.answer({ ...connect, clientId: 'c1', cleanStart: true, msgId: 1 });
    assert.ok(accept);
    assert.ok(e instanceof DecodeError || accept(e) === false);
  });

  it('matches a CONNACK, PINGRESP or SLEEPRESP to its request by Packet Identifier, and waits for no answer to DISCONNECT', () => {
    const connack = (pid: number): Event => ({ type: 'CONNACK', msgId: pid, result: ok(0, 'success'), sessionPresent: false });
    const c = wire2.answer({ ...connect, clientId: 'c1', cleanStart: true, msgId: 7 });
    assert.equal(c?.(connack(7)), true);
    assert.equal(c?.(connack(8)), false);
    assert.equal(wire2.answer({ type: 'PINGREQ', msgId: 66 })?.({ type: 'PINGRESP', msgId: 65 }), false);
    assert.equal(wire2.answer({ type: 'SLEEP', duration: 5, msgId: 80 })?.({ type: 'DISCONNECT' }), false);
    assert.equal(wire2.answer({ type: 'DISCONNECT', withWill: false }), undefined);
    assert.equal(wire2.maxRetries('CONNECT'), 0);
    assert.equal(wire12.maxRetries('CONNECT'), undefined);
  });

  it('refuses what 2.0 cannot carry: short names, keep-alive 0, a will update, a session alias in PUBWOS', () => {
    const pub = { type: 'PUBLISH', dup: false, retain: false, msgId: 1, payload: b('x') } as const;
    assert.throws(() => wire2.encode({ ...pub, qos: 1, topic: { topicIdType: 'short', topicName: 'ab' } }), badArgument);
    assert.throws(() => wire2.encode({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topic: { topicIdType: 'short', topicName: 'ab' } }), badArgument);
    assert.throws(() => wire2.encode({ ...connect, keepAlive: 0, clientId: 'c', cleanStart: true, msgId: 1 }), badArgument);
    assert.throws(() => wire2.encode({ type: 'WILLTOPICUPD', will: undefined }), badArgument);
    assert.throws(() => wire2.encode({ ...pub, qos: -1, topic: { topicIdType: 'normal', topicId: 3 } }), badArgument);
  });

  it('the 1.2 wire refuses what only 2.0 has: authentication, a full name above QoS -1, a will on DISCONNECT', () => {
    assert.throws(() => wire12.encode({ ...connect, clientId: 'c', cleanStart: true, auth: { username: 'u', password: 'p' } }), badArgument);
    assert.throws(() => wire12.encode({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 1, payload: b('x'), topic: { topicIdType: 'inline', topicName: 'a/b' } }), badArgument);
    assert.throws(() => wire12.encode({ type: 'DISCONNECT', withWill: true }), badArgument);
    // and still speaks 1.2 as before: MQTT-SN.md's CONNECT of the shared 1.2 vectors.
    assert.equal(wire12.encode({ ...connect, clientId: 'c1', cleanStart: true }).toString('hex'), hex('v12_connect'));
  });

  it('reads --protocol values: 1.2, 2 and 2.0; nothing else', () => {
    assert.deepEqual(['1.2', '2', '2.0', ' 2 ', '1', '3', ''].map(parseProtocol), ['1.2', '2', '2', '2', undefined, undefined, undefined]);
    // A library caller's typo is named with the choices, not a TypeError later.
    assert.throws(() => wireFor('2.0' as ProtocolVersion), (e: unknown) => badArgument(e) && e instanceof Error && e.message === `protocol "2.0": expected '1.2' or '2'`);
  });
});
