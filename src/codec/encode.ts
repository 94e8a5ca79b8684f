/**
 * packet -> bytes. Pure: no I/O, no timers, no logging.
 *
 * `encode` throws an `EncodeError` (stable code) for a packet that cannot be put on the wire:
 * that is a bug in the caller, never an input from the network. The Length field uses one byte
 * up to a total of 255 and the 3-byte form above, up to 65535 (§1.1).
 */
import { CodecErrorCode, EncodeError } from '../errors.js';
import { Flag, MsgType, TOPIC_ID_MAX, TOPIC_ID_MIN, TopicIdTypeBits, USED_FLAGS } from './constants.js';
import { frame, MAX_MESSAGE_LENGTH } from './framing.js';
import type { LengthFormHint, Packet, PublishPacket, QoS, SubscriptionTopic } from './packets.js';

const fail = (code: CodecErrorCode, message: string): never => {
  throw new EncodeError(code, message);
};

function u8(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) fail(CodecErrorCode.BAD_FIELD, `${field} ${v} is not a byte`);
  return v;
}

function u16(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail(CodecErrorCode.BAD_FIELD, `${field} ${v} is not a 16-bit value`);
  return v;
}

function msgIdRequired(v: number, type: string): number {
  u16(v, 'msgId');
  if (v === 0) fail(CodecErrorCode.BAD_MSG_ID, `${type} needs a MsgId of 1..65535`);
  return v;
}

/**
 * The unused Flags bits a decoded packet arrived with (`rawFlags`), put back so that re-encoding
 * gives the same bytes; 0 for packets built by code.
 */
function unusedFlags(p: LengthFormHint, type: number): number {
  return p.rawFlags === undefined ? 0 : p.rawFlags & ~USED_FLAGS[type]! & 0xff;
}

function topicIdAssignable(v: number, type: string): number {
  u16(v, 'topicId');
  if (v < TOPIC_ID_MIN || v > TOPIC_ID_MAX) fail(CodecErrorCode.BAD_TOPIC, `${type}: topic id 0x${v.toString(16).padStart(4, '0')} is reserved`);
  return v;
}

function qosBits(qos: QoS, allowMinusOne: boolean, type: string): number {
  switch (qos) {
    case 0:
    case 1:
    case 2:
      return qos << Flag.QOS_SHIFT;
    case -1:
      if (allowMinusOne) return Flag.QOS_MASK;
      break;
    default:
      break;
  }
  return fail(CodecErrorCode.BAD_FLAGS, `${type}: QoS ${String(qos)} is not allowed`);
}

function shortName(name: string, type: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length !== 2) fail(CodecErrorCode.BAD_TOPIC, `${type}: short topic name must be 2 bytes, "${name}" is ${bytes.length}`);
  return bytes;
}

/** Encode one packet to a new buffer. */
export function encode(p: Packet & LengthFormHint): Buffer {
  const long = p.longLength === true;
  switch (p.type) {
    case 'ADVERTISE':
      return fixed(MsgType.ADVERTISE, long, [u8(p.gwId, 'gwId'), 1], [u16(p.duration, 'duration'), 2]);
    case 'SEARCHGW':
      return fixed(MsgType.SEARCHGW, long, [u8(p.radius, 'radius'), 1]);
    case 'GWINFO': {
      // An empty GwAdd cannot be told from none on the wire: omit it instead.
      if (p.gwAdd?.length === 0) fail(CodecErrorCode.BAD_FIELD, 'GWINFO gwAdd is empty; omit it');
      const add = p.gwAdd ?? EMPTY;
      const gwId = u8(p.gwId, 'gwId');
      return frame(2 + add.length, long, (b, o) => {
        b[o] = MsgType.GWINFO;
        b[o + 1] = gwId;
        add.copy(b, o + 2);
      });
    }
    case 'CONNECT': {
      const id = Buffer.from(p.clientId, 'utf8');
      const flags = (p.will ? Flag.WILL : 0) | (p.cleanSession ? Flag.CLEAN_SESSION : 0) | unusedFlags(p, MsgType.CONNECT);
      const protocolId = u8(p.protocolId, 'protocolId');
      const duration = u16(p.duration, 'duration');
      return frame(5 + id.length, long, (b, o) => {
        b[o] = MsgType.CONNECT;
        b[o + 1] = flags;
        b[o + 2] = protocolId;
        b.writeUInt16BE(duration, o + 3);
        id.copy(b, o + 5);
      });
    }
    case 'CONNACK':
      return fixed(MsgType.CONNACK, long, [u8(p.returnCode, 'returnCode'), 1]);
    case 'WILLTOPICREQ':
      return fixed(MsgType.WILLTOPICREQ, long);
    case 'WILLMSGREQ':
      return fixed(MsgType.WILLMSGREQ, long);
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      const type = MsgType[p.type];
      if (p.willTopic === null) {
        if (p.qos !== 0 || p.retain) fail(CodecErrorCode.BAD_FLAGS, `${p.type}: the empty form carries no QoS or retain`);
        return fixed(type, long);
      }
      const topic = Buffer.from(p.willTopic, 'utf8');
      const flags = qosBits(p.qos, false, p.type) | (p.retain ? Flag.RETAIN : 0) | unusedFlags(p, type);
      return frame(2 + topic.length, long, (b, o) => {
        b[o] = type;
        b[o + 1] = flags;
        topic.copy(b, o + 2);
      });
    }
    case 'WILLMSG':
    case 'WILLMSGUPD': {
      const type = MsgType[p.type];
      const msg = p.willMsg;
      return frame(1 + msg.length, long, (b, o) => {
        b[o] = type;
        msg.copy(b, o + 1);
      });
    }
    case 'REGISTER': {
      const name = Buffer.from(p.topicName, 'utf8');
      const topicId = u16(p.topicId, 'topicId');
      // MsgId 0 is legal here (§5.3.6 reserves it only in PUBLISH); a gateway never allocates it.
      const msgId = u16(p.msgId, 'msgId');
      return frame(5 + name.length, long, (b, o) => {
        b[o] = MsgType.REGISTER;
        b.writeUInt16BE(topicId, o + 1);
        b.writeUInt16BE(msgId, o + 3);
        name.copy(b, o + 5);
      });
    }
    case 'REGACK':
      return fixed(MsgType.REGACK, long, [u16(p.topicId, 'topicId'), 2], [u16(p.msgId, 'msgId'), 2], [u8(p.returnCode, 'returnCode'), 1]);
    case 'PUBLISH':
      return encodePublish(p, long);
    case 'PUBACK':
      return fixed(MsgType.PUBACK, long, [u16(p.topicId, 'topicId'), 2], [u16(p.msgId, 'msgId'), 2], [u8(p.returnCode, 'returnCode'), 1]);
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      return fixed(MsgType[p.type], long, [msgIdRequired(p.msgId, p.type), 2]);
    case 'UNSUBACK':
      return fixed(MsgType.UNSUBACK, long, [u16(p.msgId, 'msgId'), 2]);
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      const topic = subscriptionTopicBytes(p, p.type);
      const type = MsgType[p.type];
      let flags = TopicIdTypeBits[p.topicIdType] | unusedFlags(p, type);
      // QoS -1 in SUBSCRIBE means nothing, but is decoded (clients send it), so it must re-encode.
      if (p.type === 'SUBSCRIBE') flags |= (p.dup ? Flag.DUP : 0) | qosBits(p.qos, true, p.type);
      const msgId = u16(p.msgId, 'msgId');
      return frame(4 + topic.length, long, (b, o) => {
        b[o] = type;
        b[o + 1] = flags;
        b.writeUInt16BE(msgId, o + 2);
        topic.copy(b, o + 4);
      });
    }
    case 'SUBACK':
      return fixed(MsgType.SUBACK, long, [qosBits(p.qos, false, 'SUBACK') | unusedFlags(p, MsgType.SUBACK), 1], [u16(p.topicId, 'topicId'), 2], [u16(p.msgId, 'msgId'), 2], [u8(p.returnCode, 'returnCode'), 1]);
    case 'PINGREQ': {
      if (p.clientId === undefined) return fixed(MsgType.PINGREQ, long);
      if (p.clientId === '') fail(CodecErrorCode.BAD_FIELD, 'PINGREQ clientId is empty; omit it');
      const id = Buffer.from(p.clientId, 'utf8');
      return frame(1 + id.length, long, (b, o) => {
        b[o] = MsgType.PINGREQ;
        id.copy(b, o + 1);
      });
    }
    case 'PINGRESP':
      return fixed(MsgType.PINGRESP, long);
    case 'DISCONNECT':
      return p.duration === undefined
        ? fixed(MsgType.DISCONNECT, long)
        : fixed(MsgType.DISCONNECT, long, [u16(p.duration, 'duration'), 2]);
    case 'WILLTOPICRESP':
      return fixed(MsgType.WILLTOPICRESP, long, [u8(p.returnCode, 'returnCode'), 1]);
    case 'WILLMSGRESP':
      return fixed(MsgType.WILLMSGRESP, long, [u8(p.returnCode, 'returnCode'), 1]);
    case 'ENCAPSULATED':
      return encodeEncapsulated(p.radius, p.wirelessNodeId, p.message);
  }
}

const EMPTY = Buffer.alloc(0);

type Field = readonly [value: number, size: 1 | 2];

/** A message of MsgType plus fixed-size fields, in wire order: every fixed-size message of §2. */
function fixed(type: number, long: boolean, ...fields: Field[]): Buffer {
  let size = 1;
  for (const [, n] of fields) size += n;
  return frame(size, long, (b, o) => {
    b[o] = type;
    let at = o + 1;
    for (const [v, n] of fields) {
      if (n === 1) b[at] = v;
      else b.writeUInt16BE(v, at);
      at += n;
    }
  });
}

function encodePublish(p: PublishPacket & LengthFormHint, long: boolean): Buffer {
  let flags = (p.dup ? Flag.DUP : 0) | qosBits(p.qos, true, 'PUBLISH') | (p.retain ? Flag.RETAIN : 0) | unusedFlags(p, MsgType.PUBLISH);
  u16(p.msgId, 'msgId');
  if (p.qos > 0 && p.msgId === 0) fail(CodecErrorCode.BAD_MSG_ID, `QoS ${p.qos} PUBLISH needs a MsgId of 1..65535`);
  const payload = p.payload;
  let topicField: number;
  let name: Buffer = EMPTY;
  switch (p.topicIdType) {
    case 'normal':
      // QoS -1 with TopicIdType 0b00 would be read as Paho's inline-name extension.
      if (p.qos === -1) fail(CodecErrorCode.BAD_TOPIC, 'QoS -1 PUBLISH cannot use a normal topic id (use predefined or short)');
      topicField = topicIdAssignable(p.topicId, 'PUBLISH');
      flags |= TopicIdTypeBits.normal;
      break;
    case 'predefined':
      topicField = topicIdAssignable(p.topicId, 'PUBLISH');
      flags |= TopicIdTypeBits.predefined;
      break;
    case 'short': {
      const s = shortName(p.topicName, 'PUBLISH');
      topicField = (s[0]! << 8) | s[1]!;
      flags |= TopicIdTypeBits.short;
      break;
    }
    case 'inline':
      if (p.qos !== -1) fail(CodecErrorCode.BAD_TOPIC, 'an inline topic name is only defined for QoS -1 (Paho extension)');
      name = Buffer.from(p.topicName, 'utf8');
      if (name.length === 0 || name.length > 0xffff) fail(CodecErrorCode.BAD_TOPIC, 'inline topic name must be 1..65535 bytes');
      topicField = name.length;
      break;
  }
  const msgId = p.msgId;
  return frame(6 + name.length + payload.length, long, (b, o) => {
    b[o] = MsgType.PUBLISH;
    b[o + 1] = flags;
    b.writeUInt16BE(topicField, o + 2);
    b.writeUInt16BE(msgId, o + 4);
    if (name.length > 0) name.copy(b, o + 6);
    payload.copy(b, o + 6 + name.length);
  });
}

function subscriptionTopicBytes(p: SubscriptionTopic, type: string): Buffer {
  switch (p.topicIdType) {
    case 'normal':
      return Buffer.from(p.topicName, 'utf8');
    case 'predefined': {
      const b = Buffer.allocUnsafe(2);
      b.writeUInt16BE(topicIdAssignable(p.topicId, type));
      return b;
    }
    case 'short':
      return shortName(p.topicName, type);
  }
}

/** Forwarder encapsulation (§2.7): the Length byte covers only the header. */
function encodeEncapsulated(radius: number, nodeId: Buffer, message: Buffer): Buffer {
  if (!Number.isInteger(radius) || radius < 0 || radius > 3) fail(CodecErrorCode.BAD_FIELD, `radius ${radius} does not fit Ctrl bits 1-0`);
  const headerLen = 3 + nodeId.length;
  if (nodeId.length === 0 || headerLen > 255) fail(CodecErrorCode.BAD_FIELD, `wireless node id of ${nodeId.length} bytes (1..252 allowed)`);
  if (message.length < 2) fail(CodecErrorCode.BAD_FIELD, 'encapsulated message must be a complete MQTT-SN message');
  if (headerLen + message.length > MAX_MESSAGE_LENGTH) fail(CodecErrorCode.TOO_LARGE, 'encapsulated message is too large');
  const buf = Buffer.allocUnsafe(headerLen + message.length);
  buf[0] = headerLen;
  buf[1] = MsgType.ENCAPSULATED;
  buf[2] = radius;
  nodeId.copy(buf, 3);
  message.copy(buf, headerLen);
  return buf;
}
