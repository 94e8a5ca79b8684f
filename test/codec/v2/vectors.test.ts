/**
 * Every MQTT-SN 2.0 vector of the shared fixture decodes to its documented fields and encodes back
 * to its exact bytes. The vectors were written from the CSD01 figures by an encoder independent of
 * ours and checked against Paho's MQTTSN2 codec, so this is agreement with the draft, not with
 * ourselves. The four 1.2 vectors of the file go through the 1.2 codec.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as v2 from '../../../src/codec/v2/index.js';
import { decode as decode12, encode as encode12, DecodeError } from '../../../src/codec/index.js';

interface Vector {
  name: string;
  version: '1.2' | '2.0';
  packet: Record<string, unknown>;
  hex: string;
  alt_hex_rc_before_sei?: string;
}

const vectors2 = (JSON.parse(readFileSync(new URL('../../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;

/** Binary fields are either `{ hex }` or a string of UTF-8 text. */
const bin = (v: unknown): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from((v as { hex: string }).hex, 'hex'));
const bool = (v: unknown): boolean => v === 1 || v === true;

function topicRef(f: Record<string, unknown>, typeKey: string, aliasKey: string, nameKey: string): v2.TopicRef {
  const t = f[typeKey] as number;
  if (t === 3) return { topicType: 'name', topicName: f[nameKey] as string };
  return { topicType: t === 0 ? 'session' : 'predefined', topicAlias: f[aliasKey] as number };
}

function filterRef(f: Record<string, unknown>): v2.FilterRef {
  if (f.topic_type === 3) return { topicType: 'filter', topicFilter: f.topic_filter as string };
  return { topicType: f.topic_type === 0 ? 'session' : 'predefined', topicAlias: f.topic_alias as number };
}

/** Copies the optional fields a vector lists, renamed; absent stays absent. */
function optional(f: Record<string, unknown>, map: Record<string, string>, convert: (v: unknown) => unknown = (v) => v): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [from, to] of Object.entries(map)) if (f[from] !== undefined) out[to] = convert(f[from]);
  return out;
}

/** The packet our codec should produce for a vector's documented fields (MQTT-SN-2.0.md §8 legend). */
function expected(f: Record<string, unknown>): v2.Packet {
  const auth = f.auth_method === undefined ? {} : { auth: { method: f.auth_method as string, data: bin(f.auth_data ?? '') } };
  const rc = optional(f, { reason_code: 'reasonCode' });
  switch (f.type) {
    case 'CONNECT': {
      const flags = f.flags as Record<string, number>;
      const wf = f.will_flags as Record<string, number> | undefined;
      const will =
        wf === undefined
          ? {}
          : { will: { qos: wf.will_qos as v2.QoS, retain: bool(wf.will_retain), payload: bin(f.will_payload), ...topicRef({ ...f, ...wf }, 'will_topic_type', 'will_topic_alias', 'will_topic_name') } };
      return {
        type: 'CONNECT',
        cleanStart: bool(flags.clean_start),
        allowNetworkAddressChanges: bool(flags.allow_network_address_changes),
        allowServerSuggestedValues: bool(flags.allow_server_suggested_values),
        packetId: f.packet_id as number,
        protocolVersion: f.protocol_version as number,
        keepAlive: f.keep_alive as number,
        maxPacketSize: f.max_packet_size as number,
        ...optional(f, { default_awake_messages: 'defaultAwakeMessages', session_expiry_interval: 'sessionExpiryInterval' }),
        ...will,
        ...auth,
        clientId: f.client_id as string,
      };
    }
    case 'CONNACK':
      return {
        type: 'CONNACK',
        sessionPresent: bool(f.session_present),
        packetId: f.packet_id as number,
        reasonCode: f.reason_code as number,
        ...optional(f, { session_expiry_interval: 'sessionExpiryInterval', server_keep_alive: 'serverKeepAlive', assigned_client_id: 'assignedClientId' }),
        ...auth,
      };
    case 'AUTH':
      return { type: 'AUTH', packetId: f.packet_id as number, reasonCode: f.reason_code as number, method: f.auth_method as string, data: bin(f.auth_data) };
    case 'REGISTER':
      return { type: 'REGISTER', packetId: f.packet_id as number, ...optional(f, { topic_alias: 'topicAlias' }), topicName: f.topic_name as string };
    case 'REGACK':
    case 'SUBACK':
      return { type: f.type, topicType: f.topic_type === 0 ? 'session' : 'predefined', packetId: f.packet_id as number, ...optional(f, { topic_alias: 'topicAlias' }), ...rc };
    case 'PUBLISH':
      return {
        type: 'PUBLISH',
        dup: bool(f.dup),
        qos: f.qos as v2.QoS,
        retain: bool(f.retain),
        ...optional(f, { packet_id: 'packetId' }),
        payload: bin(f.payload),
        ...topicRef(f, 'topic_type', 'topic_alias', 'topic_name'),
      };
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return { type: f.type, packetId: f.packet_id as number, ...rc };
    case 'SUBSCRIBE':
      return {
        type: 'SUBSCRIBE',
        noLocal: bool(f.no_local),
        qos: f.qos as v2.QoS,
        retainAsPublished: bool(f.retain_as_published),
        retainHandling: f.retain_handling as 0 | 1 | 2,
        packetId: f.packet_id as number,
        ...filterRef(f),
      };
    case 'UNSUBSCRIBE':
      return { type: 'UNSUBSCRIBE', packetId: f.packet_id as number, ...filterRef(f) };
    case 'PINGREQ':
      return { type: 'PINGREQ', packetId: f.packet_id as number };
    case 'PINGRESP':
      return { type: 'PINGRESP', packetId: f.packet_id as number, ...optional(f, { app_messages_remaining: 'appMessagesRemaining' }) };
    case 'DISCONNECT':
      return { type: 'DISCONNECT', ...optional(f, { packet_id: 'packetId', session_expiry_interval: 'sessionExpiryInterval', reason_code: 'reasonCode', reason_string: 'reasonString' }) };
    case 'SLEEPREQ':
      return { type: 'SLEEPREQ', retainTopicAliases: bool(f.retain_topic_aliases), packetId: f.packet_id as number, sleepDuration: f.sleep_duration as number };
    case 'SLEEPRESP':
      return { type: 'SLEEPRESP', packetId: f.packet_id as number, ...optional(f, { sleep_duration: 'sleepDuration' }), ...rc };
    case 'WAKEUP':
      return { type: 'WAKEUP' };
    case 'PUBWOS':
      return { type: 'PUBWOS', retain: bool(f.retain), payload: bin(f.payload), ...(topicRef(f, 'topic_type', 'topic_alias', 'topic_name') as Extract<v2.TopicRef, { topicType: 'predefined' | 'name' }>) };
    case 'ADVERTISE':
      return { type: 'ADVERTISE', gatewayId: f.gateway_id as number, duration: f.duration as number };
    case 'SEARCHGW':
      return { type: 'SEARCHGW', ...optional(f, { additional_network_info: 'additionalNetworkInfo' }, bin) };
    case 'GWINFO':
      return { type: 'GWINFO', gatewayId: f.gateway_id as number, ...optional(f, { gateway_address: 'gatewayAddress' }, bin) };
    case 'FORWARDER_ENCAPSULATION':
      return { type: 'FORWARDER_ENCAPSULATION', clientAddressingInfo: bin(f.client_addressing_info), packet: bin(f.mqttsn_packet) };
    case 'CONNECTION_ENCAPSULATION':
      return { type: 'CONNECTION_ENCAPSULATION', clientId: f.client_id as string, packet: bin(f.mqttsn_packet) };
    default:
      throw new Error(`vector type ${String(f.type)} has no mapping`);
  }
}

const isProtection = (v: Vector): boolean => v.packet.type === 'PROTECTION_ENCAPSULATION';

describe('codec 2.0: shared MQTT-SN 2.0 vectors', () => {
  it('has them all (a fixture that went missing must fail, not pass empty)', () => {
    assert.equal(vectors2.length, 92);
  });

  for (const v of vectors2.filter((x) => x.version === '2.0')) {
    it(`${v.name}: decodes to its fields and encodes back to its bytes`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      const got = v2.decode(bytes);
      assert.ok(!(got instanceof DecodeError), `decode failed: ${got instanceof DecodeError ? `${got.code} ${got.message}` : ''}`);
      const { longLength, ...fields } = got;
      if (isProtection(v)) {
        // The tag is computed by the vector's author with a key; the codec frames it, so only the
        // fields the vector lists are compared and the tag is whatever follows the packet.
        assert.equal(got.type, 'PROTECTION_ENCAPSULATION');
        if (got.type !== 'PROTECTION_ENCAPSULATION') return;
        const f = v.packet;
        assert.equal(got.authTagLengthCode, f.auth_tag_length_code);
        assert.equal(got.protectionScheme, f.protection_scheme);
        assert.deepEqual(got.senderId, bin(f.sender_id));
        assert.deepEqual(got.random, bin(f.random));
        assert.deepEqual(got.cryptoMaterial, f.crypto_material === undefined ? undefined : bin(f.crypto_material));
        assert.deepEqual(got.monotonicCounter, f.monotonic_counter === undefined ? undefined : bin(f.monotonic_counter));
        // Under AEAD the protected field is ciphertext: same length as the packet, other bytes.
        if (f.protection_scheme === 0) assert.deepEqual(got.protectedPacket, bin(f.mqttsn_packet));
        else assert.equal(got.protectedPacket.length, bin(f.mqttsn_packet).length);
        assert.equal(bytes.length - got.authTag.length, bytes.indexOf(got.protectedPacket) + got.protectedPacket.length);
      } else {
        assert.deepEqual(fields, expected(v.packet));
        // A packet built by code (no hint) encodes to the canonical form, which the vector is unless it shows the 3-byte form needlessly.
        if (longLength !== true) assert.equal(v2.encode(expected(v.packet)).toString('hex'), v.hex);
      }
      assert.equal(longLength === true, bytes[0] === 0x01 && bytes.length - 2 <= 255, 'a needless 3-byte form is remembered');
      assert.equal(v2.encode(got).toString('hex'), v.hex);
    });
  }

  it('the fixture has a vector of every 2.0 packet type', () => {
    const seen = new Set(vectors2.filter((v) => v.version === '2.0').map((v) => v.packet.type));
    for (const name of Object.keys(v2.PacketType)) assert.ok(seen.has(name), `no vector of ${name}`);
  });

  it('DISCONNECT with the Reason Code before the Session Expiry (Paho, Maps-Messaging) reads with disconnectReasonCodeFirst (AMBIG-7)', () => {
    const v = vectors2.find((x) => x.alt_hex_rc_before_sei !== undefined)!;
    const alt = Buffer.from(v.alt_hex_rc_before_sei!, 'hex');
    const opts = { disconnectReasonCodeFirst: true };
    assert.deepEqual(v2.decode(alt, opts), expected(v.packet));
    assert.equal(v2.encode(expected(v.packet), opts).toString('hex'), v.alt_hex_rc_before_sei);
    // Read with the figure's order, the same bytes mean something else: the switch is what tells them apart.
    const misread = v2.decode(alt);
    assert.ok(!(misread instanceof DecodeError) && misread.type === 'DISCONNECT');
    assert.notDeepEqual(misread, expected(v.packet));
  });

  // The 1.2 forwarder vector (empty Wireless Node Id) is the transport's to unwrap (src/transport/forwarder.ts);
  // the demultiplexer's tests take it.
  for (const v of vectors2.filter((x) => x.version === '1.2' && x.packet.type !== 'ENCAPSULATED(1.2)')) {
    it(`${v.name}: a 1.2 vector of the 2.0 file round-trips through the 1.2 codec`, () => {
      const got = decode12(Buffer.from(v.hex, 'hex'));
      assert.ok(!(got instanceof DecodeError), got instanceof DecodeError ? got.message : '');
      assert.equal(encode12(got).toString('hex'), v.hex);
    });
  }
});
