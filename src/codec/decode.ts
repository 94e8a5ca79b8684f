/**
 * bytes -> packet. Pure: no I/O, no timers, no logging.
 *
 * `decode` never throws: it returns a packet or a `DecodeError` with a stable code. It is strict
 * in one direction on purpose: whatever it accepts re-encodes to exactly the same bytes, so the
 * decoder and the encoder can never disagree about what a message means. Reserved TopicIdType
 * 0b11 and invalid UTF-8 are therefore errors here. Flags bits a message does not use are ignored
 * (MQTT-SN 1.2 §5.3.4) and kept aside in `rawFlags`, so even those frames re-encode exactly.
 */
import { isUtf8 } from 'node:buffer';
import { CodecErrorCode, DecodeError } from '../errors.js';
import { Flag, MsgType, MsgTypeName, USED_FLAGS } from './constants.js';
import { lengthError, needlesslyLong, readHeader } from './framing.js';
import type { LengthFormHint, Packet, PublishPacket, QoS, SubscriptionTopic } from './packets.js';

const err = (code: CodecErrorCode, message: string, msgType?: number): DecodeError =>
  new DecodeError(code, message, msgType);

function qosOf(flags: number): QoS {
  const bits = (flags & Flag.QOS_MASK) >> Flag.QOS_SHIFT;
  return bits === 3 ? -1 : (bits as 0 | 1 | 2);
}

/** A string field must be valid UTF-8, or it would not re-encode to the same bytes. */
function utf8(buf: Buffer, start: number, end: number): string | undefined {
  if (end === start) return '';
  const view = buf.subarray(start, end);
  return isUtf8(view) ? view.toString('utf8') : undefined;
}

/**
 * Decode one complete MQTT-SN message. `bytes` must be exactly one message: its Length field
 * must equal `bytes.length` (§1.1: shorter is TRUNCATED, longer is LENGTH_MISMATCH).
 */
export function decode(bytes: Buffer): (Packet & LengthFormHint) | DecodeError {
  try {
    return decodeUnchecked(bytes);
  } catch (e) {
    // Unreachable by design (every read is bounds-checked first); kept so that a decoder bug
    // costs one dropped frame, not a crashed gateway.
    return err(CodecErrorCode.INTERNAL, `decoder failure: ${String(e)}`);
  }
}

function decodeUnchecked(b: Buffer): (Packet & LengthFormHint) | DecodeError {
  const header = readHeader(b);
  if (header instanceof DecodeError) return header;
  const h = header.typeAt;
  const type = b[h]!;
  // §2.7: the encapsulation's Length counts its own header only, not the whole datagram.
  if (type === MsgType.ENCAPSULATED && h === 1) return decodeEncapsulated(b);
  const bad = lengthError(b, header, type);
  if (bad) return bad;
  const size = b.length;
  const p = type === MsgType.PUBLISH ? decodePublish(b, h + 1, size - h - 1) : decodeBody(b, type, h + 1);
  if (p instanceof DecodeError) return p;
  // Remember a 3-byte form that was not needed, so that re-encoding reproduces the input.
  if (needlesslyLong(header)) (p as LengthFormHint).longLength = true;
  // §5.3.4: bits a message does not use are ignored, and remembered for an exact re-encode.
  const used = USED_FLAGS[type]!;
  if (used !== 0 && size > h + 1 && (b[h + 1]! & ~used) !== 0) (p as LengthFormHint).rawFlags = b[h + 1]!;
  return p;
}

/** Decode the variable part; `o` is the offset just past MsgType, the message ends at b.length. */
function decodeBody(b: Buffer, type: number, o: number): Packet | DecodeError {
  const n = b.length - o; // bytes after MsgType
  switch (type) {
    case MsgType.ADVERTISE:
      return exact(b, type, o, 3) ?? { type: 'ADVERTISE', gwId: b[o]!, duration: b.readUInt16BE(o + 1) };
    case MsgType.SEARCHGW:
      return exact(b, type, o, 1) ?? { type: 'SEARCHGW', radius: b[o]! };
    case MsgType.GWINFO: {
      const e = atLeast(b, type, o, 1);
      if (e) return e;
      return n === 1 ? { type: 'GWINFO', gwId: b[o]! } : { type: 'GWINFO', gwId: b[o]!, gwAdd: b.subarray(o + 1) };
    }
    case MsgType.CONNECT: {
      const e = atLeast(b, type, o, 4);
      if (e) return e;
      const flags = b[o]!;
      const clientId = utf8(b, o + 4, b.length);
      if (clientId === undefined) return badUtf8(type, 'ClientId');
      return {
        type: 'CONNECT',
        will: (flags & Flag.WILL) !== 0,
        cleanSession: (flags & Flag.CLEAN_SESSION) !== 0,
        protocolId: b[o + 1]!,
        duration: b.readUInt16BE(o + 2),
        clientId,
      };
    }
    case MsgType.CONNACK:
      return exact(b, type, o, 1) ?? { type: 'CONNACK', returnCode: b[o]! };
    case MsgType.WILLTOPICREQ:
      return exact(b, type, o, 0) ?? { type: 'WILLTOPICREQ' };
    case MsgType.WILLMSGREQ:
      return exact(b, type, o, 0) ?? { type: 'WILLMSGREQ' };
    case MsgType.WILLTOPIC:
    case MsgType.WILLTOPICUPD: {
      const name = type === MsgType.WILLTOPIC ? 'WILLTOPIC' : 'WILLTOPICUPD';
      if (n === 0) return { type: name, qos: 0, retain: false, willTopic: null };
      const flags = b[o]!;
      const qos = qosOf(flags);
      if (qos === -1) return err(CodecErrorCode.BAD_FLAGS, `${name} with will QoS -1`, type);
      const willTopic = utf8(b, o + 1, b.length);
      if (willTopic === undefined) return badUtf8(type, 'WillTopic');
      return { type: name, qos, retain: (flags & Flag.RETAIN) !== 0, willTopic };
    }
    case MsgType.WILLMSG:
      return { type: 'WILLMSG', willMsg: b.subarray(o) };
    case MsgType.WILLMSGUPD:
      return { type: 'WILLMSGUPD', willMsg: b.subarray(o) };
    case MsgType.REGISTER: {
      const e = atLeast(b, type, o, 4);
      if (e) return e;
      // MsgId 0 is reserved only for QoS 0/-1 PUBLISH (§5.3.6); `mqttsn` sends it here, and it is echoed.
      const topicName = utf8(b, o + 4, b.length);
      if (topicName === undefined) return badUtf8(type, 'TopicName');
      return { type: 'REGISTER', topicId: b.readUInt16BE(o), msgId: b.readUInt16BE(o + 2), topicName };
    }
    case MsgType.REGACK: {
      // Echoes the REGISTER's MsgId, which may be 0.
      return exact(b, type, o, 5) ?? { type: 'REGACK', topicId: b.readUInt16BE(o), msgId: b.readUInt16BE(o + 2), returnCode: b[o + 4]! };
    }
    case MsgType.PUBACK: {
      const e = exact(b, type, o, 5);
      if (e) return e;
      return { type: 'PUBACK', topicId: b.readUInt16BE(o), msgId: b.readUInt16BE(o + 2), returnCode: b[o + 4]! };
    }
    case MsgType.PUBREC:
    case MsgType.PUBREL:
    case MsgType.PUBCOMP: {
      // These follow a QoS 2 PUBLISH, where MsgId 0 stays invalid.
      const e = exact(b, type, o, 2);
      if (e) return e;
      const msgId = msgIdNonZero(b, type, o);
      if (typeof msgId !== 'number') return msgId;
      const name = MsgTypeName[type] as 'PUBREC' | 'PUBREL' | 'PUBCOMP';
      return { type: name, msgId };
    }
    case MsgType.UNSUBACK:
      // Echoes the UNSUBSCRIBE's MsgId, which may be 0.
      return exact(b, type, o, 2) ?? { type: 'UNSUBACK', msgId: b.readUInt16BE(o) };
    case MsgType.SUBSCRIBE:
    case MsgType.UNSUBSCRIBE: {
      const e = atLeast(b, type, o, 3);
      if (e) return e;
      const flags = b[o]!;
      // MsgId 0 is reserved only for QoS 0/-1 PUBLISH (§5.3.6); `mqttsn` sends it here, and it is echoed.
      const msgId = b.readUInt16BE(o + 1);
      const topic = decodeSubscriptionTopic(b, o + 3, flags, type);
      if (topic instanceof DecodeError) return topic;
      if (type === MsgType.UNSUBSCRIBE) return { type: 'UNSUBSCRIBE', msgId, ...topic };
      // QoS -1 is kept: it means nothing here, and the gateway decides what to grant.
      return { type: 'SUBSCRIBE', dup: (flags & Flag.DUP) !== 0, qos: qosOf(flags), msgId, ...topic };
    }
    case MsgType.SUBACK: {
      const e = exact(b, type, o, 6);
      if (e) return e;
      const qos = qosOf(b[o]!);
      if (qos === -1) return err(CodecErrorCode.BAD_FLAGS, 'SUBACK with QoS -1', type);
      // Echoes the SUBSCRIBE's MsgId, which may be 0.
      return { type: 'SUBACK', qos, topicId: b.readUInt16BE(o + 1), msgId: b.readUInt16BE(o + 3), returnCode: b[o + 5]! };
    }
    case MsgType.PINGREQ: {
      if (n === 0) return { type: 'PINGREQ' };
      const clientId = utf8(b, o, b.length);
      if (clientId === undefined) return badUtf8(type, 'ClientId');
      return { type: 'PINGREQ', clientId };
    }
    case MsgType.PINGRESP:
      return exact(b, type, o, 0) ?? { type: 'PINGRESP' };
    case MsgType.DISCONNECT:
      if (n === 0) return { type: 'DISCONNECT' };
      return exact(b, type, o, 2) ?? { type: 'DISCONNECT', duration: b.readUInt16BE(o) };
    case MsgType.WILLTOPICRESP:
      return exact(b, type, o, 1) ?? { type: 'WILLTOPICRESP', returnCode: b[o]! };
    case MsgType.WILLMSGRESP:
      return exact(b, type, o, 1) ?? { type: 'WILLMSGRESP', returnCode: b[o]! };
    case MsgType.ENCAPSULATED:
      return err(CodecErrorCode.BAD_FIELD, 'an encapsulated message uses the 1-byte length form only', type);
    default:
      return err(CodecErrorCode.UNKNOWN_TYPE, `reserved MsgType 0x${type.toString(16).padStart(2, '0')}`, type);
  }
}

/**
 * PUBLISH (§2.4): Flags, TopicId (or short name, or Paho's name length), MsgId, Data.
 * Kept out of `decodeBody` because it is the hot path: no closures, one allocation for the
 * packet and one for the payload view.
 */
function decodePublish(b: Buffer, o: number, n: number): PublishPacket | DecodeError {
  if (n < 5) return err(CodecErrorCode.TRUNCATED, `PUBLISH needs at least ${o + 5} bytes, got ${b.length}`, MsgType.PUBLISH);
  const flags = b[o]!;
  const qos = qosOf(flags);
  const dup = (flags & Flag.DUP) !== 0;
  const retain = (flags & Flag.RETAIN) !== 0;
  const topicField = b.readUInt16BE(o + 1);
  const msgId = b.readUInt16BE(o + 3);
  if (msgId === 0 && qos > 0) return err(CodecErrorCode.BAD_FIELD, `QoS ${qos} PUBLISH with MsgId 0`, MsgType.PUBLISH);
  switch (flags & Flag.TOPIC_ID_TYPE_MASK) {
    case 0b00: {
      if (qos !== -1) {
        if (topicField === 0 || topicField === 0xffff) return reservedTopicId(topicField, MsgType.PUBLISH);
        return { type: 'PUBLISH', dup, qos, retain, msgId, payload: b.subarray(o + 5), topicIdType: 'normal', topicId: topicField };
      }
      // QoS -1 with a normal id means nothing in v1.2; Paho's extension puts a name there.
      const start = o + 5;
      const end = start + topicField;
      if (topicField === 0 || end > b.length) {
        return err(CodecErrorCode.BAD_FIELD, 'QoS -1 PUBLISH with TopicIdType 0b00 and no inline topic name', MsgType.PUBLISH);
      }
      const topicName = utf8(b, start, end);
      if (topicName === undefined) return err(CodecErrorCode.BAD_FIELD, 'inline TopicName is not valid UTF-8', MsgType.PUBLISH);
      return { type: 'PUBLISH', dup, qos, retain, msgId, payload: b.subarray(end), topicIdType: 'inline', topicName };
    }
    case 0b01:
      if (topicField === 0 || topicField === 0xffff) return reservedTopicId(topicField, MsgType.PUBLISH);
      return { type: 'PUBLISH', dup, qos, retain, msgId, payload: b.subarray(o + 5), topicIdType: 'predefined', topicId: topicField };
    case 0b10: {
      const topicName = utf8(b, o + 1, o + 3);
      if (topicName === undefined) return err(CodecErrorCode.BAD_FIELD, 'short topic name is not valid UTF-8', MsgType.PUBLISH);
      return { type: 'PUBLISH', dup, qos, retain, msgId, payload: b.subarray(o + 5), topicIdType: 'short', topicName };
    }
    default:
      return err(CodecErrorCode.BAD_FLAGS, 'TopicIdType 0b11 is reserved', MsgType.PUBLISH);
  }
}

// Field checks of decodeBody, as plain functions: closures over the frame would be allocated
// on every call and cost more than the decode itself.
function exact(b: Buffer, type: number, o: number, want: number): DecodeError | undefined {
  return b.length - o === want ? undefined : sizeError(b, type, o, want, true);
}

function atLeast(b: Buffer, type: number, o: number, want: number): DecodeError | undefined {
  return b.length - o >= want ? undefined : sizeError(b, type, o, want, false);
}

function msgIdNonZero(b: Buffer, type: number, at: number): number | DecodeError {
  return b.readUInt16BE(at) || err(CodecErrorCode.BAD_FIELD, `${MsgTypeName[type]} with MsgId 0`, type);
}

function badUtf8(type: number, field: string): DecodeError {
  return err(CodecErrorCode.BAD_FIELD, `${field} is not valid UTF-8`, type);
}

function sizeError(b: Buffer, type: number, o: number, want: number, exactly: boolean): DecodeError {
  const n = b.length - o;
  const code = n < want ? CodecErrorCode.TRUNCATED : CodecErrorCode.LENGTH_MISMATCH;
  return err(code, `${MsgTypeName[type]} needs ${exactly ? '' : 'at least '}${want + o} bytes, got ${b.length}`, type);
}

function reservedTopicId(id: number, type: number): DecodeError {
  return err(CodecErrorCode.BAD_FIELD, `topic id 0x${id.toString(16).padStart(4, '0')} is reserved`, type);
}

/** The topic part of SUBSCRIBE / UNSUBSCRIBE (§2.5), from offset `o` to the end. */
function decodeSubscriptionTopic(b: Buffer, o: number, flags: number, type: number): SubscriptionTopic | DecodeError {
  const len = b.length - o;
  switch (flags & Flag.TOPIC_ID_TYPE_MASK) {
    case 0b00: {
      const topicName = utf8(b, o, b.length);
      if (topicName === undefined) return err(CodecErrorCode.BAD_FIELD, 'TopicName is not valid UTF-8', type);
      return { topicIdType: 'normal', topicName };
    }
    case 0b01: {
      if (len !== 2) return err(len < 2 ? CodecErrorCode.TRUNCATED : CodecErrorCode.LENGTH_MISMATCH, `predefined topic id needs 2 bytes, got ${len}`, type);
      const topicId = b.readUInt16BE(o);
      if (topicId === 0 || topicId === 0xffff) return reservedTopicId(topicId, type);
      return { topicIdType: 'predefined', topicId };
    }
    case 0b10: {
      if (len !== 2) return err(len < 2 ? CodecErrorCode.TRUNCATED : CodecErrorCode.LENGTH_MISMATCH, `short topic name needs 2 bytes, got ${len}`, type);
      const topicName = utf8(b, o, o + 2);
      if (topicName === undefined) return err(CodecErrorCode.BAD_FIELD, 'short topic name is not valid UTF-8', type);
      return { topicIdType: 'short', topicName };
    }
    default:
      return err(CodecErrorCode.BAD_FLAGS, 'TopicIdType 0b11 is reserved', type);
  }
}

/**
 * Forwarder encapsulation (§2.7): Length counts only Length, MsgType, Ctrl and the node id; the
 * inner message follows with its own Length.
 */
function decodeEncapsulated(b: Buffer): Packet | DecodeError {
  const headerLen = b[0]!;
  const type = MsgType.ENCAPSULATED;
  if (b.length < 3) return err(CodecErrorCode.TRUNCATED, 'encapsulation header needs at least 3 bytes', type);
  if (headerLen < 4) return err(CodecErrorCode.BAD_FIELD, `encapsulation length ${headerLen} leaves no wireless node id`, type);
  // An inner message is at least 2 bytes (Length, MsgType).
  if (b.length < headerLen + 2) return err(CodecErrorCode.TRUNCATED, `encapsulation of ${b.length} bytes has no room for an inner message`, type);
  const ctrl = b[2]!;
  if ((ctrl & 0xfc) !== 0) return err(CodecErrorCode.BAD_FLAGS, `Ctrl 0x${ctrl.toString(16)} sets reserved bits`, type);
  return {
    type: 'ENCAPSULATED',
    radius: ctrl & 0x03,
    wirelessNodeId: b.subarray(3, headerLen),
    message: b.subarray(headerLen),
  };
}
