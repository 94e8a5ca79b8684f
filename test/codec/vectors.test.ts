/**
 * Every MQTT-SN vector of the shared fixture file decodes to its documented fields and encodes
 * back to its exact bytes. The vectors were cross-checked against Paho's serializer, so this is
 * the codec's agreement with an independent implementation, not with itself.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decode, encode, DecodeError, type Packet } from '../../src/codec/index.js';

interface Vector {
  name: string;
  layer: string;
  hex: string;
  decoded: Record<string, unknown>;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };
const vectors = fixture.vectors.filter((v) => v.layer === 'mqtt-sn');

type Flags = { dup: boolean; qos: -1 | 0 | 1 | 2; retain: boolean; will: boolean; cleanSession: boolean; topicIdTypeName: string };
type Data = { utf8?: string; hex?: string };

const dataBytes = (d: unknown): Buffer => {
  const x = d as Data;
  return x.hex !== undefined ? Buffer.from(x.hex, 'hex') : Buffer.from(x.utf8 ?? '', 'utf8');
};

/** The packet our codec should produce for a vector's documented `decoded` fields. */
function expected(d: Record<string, unknown>): Packet {
  const f = d.flags as Flags | undefined;
  const num = (k: string): number => d[k] as number;
  const str = (k: string): string => d[k] as string;
  switch (d.msgType) {
    case 'ADVERTISE':
      return { type: 'ADVERTISE', gwId: num('gwId'), duration: num('duration') };
    case 'SEARCHGW':
      return { type: 'SEARCHGW', radius: num('radius') };
    case 'GWINFO':
      return d.gwAdd_hex === undefined
        ? { type: 'GWINFO', gwId: num('gwId') }
        : { type: 'GWINFO', gwId: num('gwId'), gwAdd: Buffer.from(str('gwAdd_hex'), 'hex') };
    case 'CONNECT':
      return { type: 'CONNECT', will: f!.will, cleanSession: f!.cleanSession, protocolId: num('protocolId'), duration: num('duration'), clientId: str('clientId') };
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      return { type: d.msgType, returnCode: num('returnCode') };
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'PINGRESP':
      return { type: d.msgType };
    case 'WILLTOPIC':
    case 'WILLTOPICUPD':
      return d.empty === true
        ? { type: d.msgType, qos: 0, retain: false, willTopic: null }
        : { type: d.msgType, qos: f!.qos as 0 | 1 | 2, retain: f!.retain, willTopic: str('willTopic') };
    case 'WILLMSG':
    case 'WILLMSGUPD':
      return { type: d.msgType, willMsg: dataBytes(d.willMsg) };
    case 'REGISTER':
      return { type: 'REGISTER', topicId: num('topicId'), msgId: num('msgId'), topicName: str('topicName') };
    case 'REGACK':
    case 'PUBACK':
      return { type: d.msgType, topicId: num('topicId'), msgId: num('msgId'), returnCode: num('returnCode') };
    case 'PUBLISH': {
      const base = { type: 'PUBLISH' as const, dup: f!.dup, qos: f!.qos, retain: f!.retain, msgId: num('msgId'), payload: dataBytes(d.data) };
      if (d.pahoExtTopicName !== undefined) return { ...base, topicIdType: 'inline', topicName: str('pahoExtTopicName') };
      if (f!.topicIdTypeName === 'short') return { ...base, topicIdType: 'short', topicName: str('shortTopicName') };
      return { ...base, topicIdType: f!.topicIdTypeName as 'normal' | 'predefined', topicId: num('topicId') };
    }
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return { type: d.msgType, msgId: num('msgId') };
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      const topic =
        f!.topicIdTypeName === 'predefined'
          ? { topicIdType: 'predefined' as const, topicId: num('topicId') }
          : f!.topicIdTypeName === 'short'
            ? { topicIdType: 'short' as const, topicName: str('shortTopicName') }
            : { topicIdType: 'normal' as const, topicName: str('topicName') };
      return d.msgType === 'SUBSCRIBE'
        ? { type: 'SUBSCRIBE', dup: f!.dup, qos: f!.qos as 0 | 1 | 2, msgId: num('msgId'), ...topic }
        : { type: 'UNSUBSCRIBE', msgId: num('msgId'), ...topic };
    }
    case 'SUBACK':
      return { type: 'SUBACK', qos: f!.qos as 0 | 1 | 2, topicId: num('topicId'), msgId: num('msgId'), returnCode: num('returnCode') };
    case 'PINGREQ':
      return d.clientId === undefined ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId: str('clientId') };
    case 'DISCONNECT':
      return d.duration === undefined ? { type: 'DISCONNECT' } : { type: 'DISCONNECT', duration: num('duration') };
    default:
      throw new Error(`vector msgType ${String(d.msgType)} has no mapping`);
  }
}

describe('codec: shared MQTT-SN vectors', () => {
  it('has the vectors (a fixture that went missing must fail, not pass empty)', () => {
    assert.ok(vectors.length >= 60, `only ${vectors.length} mqtt-sn vectors`);
  });

  for (const v of vectors) {
    it(v.name, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      const got = decode(bytes);
      assert.ok(!(got instanceof DecodeError), `decode failed: ${got instanceof DecodeError ? got.code + ' ' + got.message : ''}`);
      if (v.decoded.msgType === 'ENCAPSULATED') {
        assert.equal(got.type, 'ENCAPSULATED');
        if (got.type !== 'ENCAPSULATED') return;
        assert.equal(got.radius, v.decoded.radius);
        assert.equal(got.wirelessNodeId.toString('hex'), v.decoded.wirelessNodeId_hex);
        const inner = decode(got.message);
        assert.ok(!(inner instanceof DecodeError));
        assert.equal(inner.type, (v.decoded.encapsulated as { msgType: string }).msgType);
        assert.equal(got.message.length, (v.decoded.encapsulated as { length: number }).length);
      } else {
        const { longLength, ...fields } = got;
        assert.deepEqual(fields, expected(v.decoded));
        assert.equal(longLength === true, v.decoded.lengthForm === '3-byte' && bytes.length - 2 <= 255);
        // Packets built by code (no hint) must also encode to the canonical form of the vector.
        if (longLength !== true) assert.equal(encode(expected(v.decoded)).toString('hex'), v.hex);
      }
      assert.equal(encode(got).toString('hex'), v.hex);
    });
  }
});
