/**
 * MQTT-SN 2.0 packet -> bytes. Pure: no I/O, no timers, no logging.
 *
 * `encode` throws an `EncodeError` (stable code) for a packet that cannot be put on the wire or
 * that the decoder would refuse: a bug in the caller, never input from the network. The Length
 * uses one byte up to a total of 255 and the 3-byte form above (shared framing with 1.2).
 */
import { CodecErrorCode, EncodeError } from '../../errors.js';
import { frame, type LongLengthHint } from '../framing.js';
import {
  authTagLength,
  ConnackFlag,
  ConnectFlag,
  CRYPTO_MATERIAL_LENGTH,
  DisconnectFlag,
  Flag,
  MONOTONIC_COUNTER_LENGTH,
  PacketType as T,
  TopicTypeBits,
} from './constants.js';
import type { AliasType, Auth, CodecOptions, FilterRef, Packet, QoS, TopicRef, Will } from './packets.js';

const fail = (code: CodecErrorCode, message: string): never => {
  throw new EncodeError(code, message);
};

/** Collects a packet's fields after the type byte, checked as they come, then frames them once. */
class Writer {
  private readonly parts: Array<number | Buffer> = []; // a number is one byte
  private size = 0;

  u8(v: number, field: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) fail(CodecErrorCode.BAD_FIELD, `${field} ${v} is not a byte`);
    this.parts.push(v);
    this.size += 1;
    return this;
  }

  u16(v: number, field: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail(CodecErrorCode.BAD_FIELD, `${field} ${v} is not a 16-bit value`);
    this.parts.push(v >> 8, v & 0xff);
    this.size += 2;
    return this;
  }

  u32(v: number, field: string): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(CodecErrorCode.BAD_FIELD, `${field} ${v} is not a 32-bit value`);
    this.parts.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    this.size += 4;
    return this;
  }

  /** MQTT-SN-2.2-1/-3: a Packet Identifier is never 0. */
  packetId(v: number): this {
    if (v === 0) fail(CodecErrorCode.BAD_MSG_ID, 'Packet Identifier must be 1..65535');
    return this.u16(v, 'Packet Identifier');
  }

  bytes(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  /** Bytes preceded by their length in `lengthBytes` bytes. */
  prefixed(b: Buffer, lengthBytes: 1 | 2, field: string): this {
    if (b.length > (lengthBytes === 1 ? 0xff : 0xffff)) fail(CodecErrorCode.BAD_FIELD, `${field} of ${b.length} bytes does not fit a ${lengthBytes}-byte length`);
    return (lengthBytes === 1 ? this.u8(b.length, field) : this.u16(b.length, field)).bytes(b);
  }

  /** A rest-of-packet field that is optional on the wire: empty cannot be told from absent, so it must be omitted. */
  optional(b: Buffer | undefined, field: string): this {
    if (b?.length === 0) fail(CodecErrorCode.BAD_FIELD, `${field} is empty; omit it`);
    return b === undefined ? this : this.bytes(b);
  }

  frame(type: number, longLength: boolean): Buffer {
    const parts = this.parts;
    return frame(this.size + 1, longLength, (buf, o) => {
      buf[o] = type;
      let at = o + 1;
      for (const p of parts) {
        if (typeof p === 'number') buf[at++] = p;
        else at += p.copy(buf, at);
      }
    });
  }
}

/** [1.8.4]: what the decoder refuses (U+0000, a lone surrogate, which would become U+FFFD) is refused here. */
function utf8(s: string, field: string): Buffer {
  if (/[\0\p{Surrogate}]/u.test(s)) fail(CodecErrorCode.BAD_FIELD, `${field} contains U+0000 or a lone surrogate`);
  return Buffer.from(s, 'utf8');
}

function qosBits(qos: QoS, field: string): number {
  if (qos !== 0 && qos !== 1 && qos !== 2) fail(CodecErrorCode.BAD_FLAGS, `${field} ${String(qos)} is not 0, 1 or 2`);
  return qos;
}

/** Encode one packet to a new buffer. */
export function encode(p: Packet & LongLengthHint, options: CodecOptions = {}): Buffer {
  const w = new Writer();
  const long = p.longLength === true;
  switch (p.type) {
    case 'CONNECT':
      return connect(w, p).frame(T.CONNECT, long);
    case 'CONNACK': {
      const flags =
        (p.sessionPresent ? ConnackFlag.SESSION_PRESENT : 0) |
        (p.sessionExpiryInterval !== undefined ? ConnackFlag.SESSION_EXPIRY : 0) |
        (p.serverKeepAlive !== undefined ? ConnackFlag.SERVER_KEEP_ALIVE : 0) |
        (p.auth !== undefined ? ConnackFlag.AUTH : 0);
      w.u8(flags, 'flags').packetId(p.packetId).u8(p.reasonCode, 'Reason Code');
      if (p.sessionExpiryInterval !== undefined) w.u32(p.sessionExpiryInterval, 'Session Expiry Interval');
      if (p.serverKeepAlive !== undefined) w.u16(p.serverKeepAlive, 'Server Keep Alive');
      if (p.auth !== undefined) auth(w, p.auth);
      return w.optional(p.assignedClientId === undefined ? undefined : utf8(p.assignedClientId, 'Assigned Client Identifier'), 'Assigned Client Identifier').frame(T.CONNACK, long);
    }
    case 'AUTH':
      return w
        .packetId(p.packetId)
        .u8(p.reasonCode, 'Reason Code')
        .prefixed(utf8(p.method, 'Authentication Method'), 1, 'Authentication Method')
        .bytes(p.data)
        .frame(T.AUTH, long);
    case 'REGISTER':
      w.u8(p.topicAlias !== undefined ? 0x01 : 0, 'flags').packetId(p.packetId);
      if (p.topicAlias !== undefined) w.u16(p.topicAlias, 'Topic Alias');
      return w.bytes(utf8(p.topicName, 'Topic Name')).frame(T.REGISTER, long);
    case 'REGACK':
    case 'SUBACK':
      w.u8(aliasTypeBits(p.topicType) | (p.topicAlias !== undefined ? Flag.ALIAS : 0), 'flags').packetId(p.packetId);
      if (p.topicAlias !== undefined) w.u16(p.topicAlias, 'Topic Alias');
      if (p.reasonCode !== undefined) w.u8(p.reasonCode, 'Reason Code');
      return w.frame(T[p.type], long);
    case 'PUBLISH': {
      const qos = qosBits(p.qos, 'QoS');
      w.u8((p.dup ? Flag.BIT7 : 0) | (qos << Flag.QOS_SHIFT) | (p.retain ? Flag.BIT4 : 0) | TopicTypeBits[p.topicType], 'flags');
      // MQTT-SN-2.2-2: a Packet Identifier exactly for QoS 1 and 2.
      if (qos > 0) w.packetId(p.packetId ?? fail(CodecErrorCode.BAD_MSG_ID, `QoS ${qos} PUBLISH needs a Packet Identifier`));
      else if (p.packetId !== undefined) fail(CodecErrorCode.BAD_MSG_ID, 'QoS 0 PUBLISH carries no Packet Identifier');
      return topicRef(w, p).bytes(p.payload).frame(T.PUBLISH, long);
    }
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      w.packetId(p.packetId);
      if (p.reasonCode !== undefined) w.u8(p.reasonCode, 'Reason Code');
      return w.frame(T[p.type], long);
    case 'SUBSCRIBE': {
      const rh = p.retainHandling;
      if (rh !== 0 && rh !== 1 && rh !== 2) fail(CodecErrorCode.BAD_FLAGS, `Retain Handling ${String(rh)} is not 0, 1 or 2`);
      const flags = (p.noLocal ? Flag.BIT7 : 0) | (qosBits(p.qos, 'QoS') << Flag.QOS_SHIFT) | (p.retainAsPublished ? Flag.BIT4 : 0) | (rh << Flag.RETAIN_HANDLING_SHIFT);
      return filterRef(w.u8(flags | TopicTypeBits[p.topicType === 'filter' ? 'name' : p.topicType], 'flags').packetId(p.packetId), p).frame(T.SUBSCRIBE, long);
    }
    case 'UNSUBSCRIBE':
      return filterRef(w.u8(TopicTypeBits[p.topicType === 'filter' ? 'name' : p.topicType], 'flags').packetId(p.packetId), p).frame(T.UNSUBSCRIBE, long);
    case 'PINGREQ':
      return w.packetId(p.packetId).frame(T.PINGREQ, long);
    case 'PINGRESP':
      w.packetId(p.packetId);
      if (p.appMessagesRemaining !== undefined) w.u8(p.appMessagesRemaining, 'Application Messages Remaining');
      return w.frame(T.PINGRESP, long);
    case 'DISCONNECT': {
      const flags =
        (p.packetId !== undefined ? DisconnectFlag.PACKET_ID : 0) |
        (p.sessionExpiryInterval !== undefined ? DisconnectFlag.SESSION_EXPIRY : 0) |
        (p.reasonCode !== undefined ? DisconnectFlag.REASON_CODE : 0);
      w.u8(flags, 'flags');
      if (p.packetId !== undefined) w.packetId(p.packetId);
      // AMBIG-7: Fig 3-23 order unless the peer puts the Reason Code first (see decode).
      const rcFirst = options.disconnectReasonCodeFirst === true;
      if (rcFirst && p.reasonCode !== undefined) w.u8(p.reasonCode, 'Reason Code');
      if (p.sessionExpiryInterval !== undefined) w.u32(p.sessionExpiryInterval, 'Session Expiry Interval');
      if (!rcFirst && p.reasonCode !== undefined) w.u8(p.reasonCode, 'Reason Code');
      return w.optional(p.reasonString === undefined ? undefined : utf8(p.reasonString, 'Reason String'), 'Reason String').frame(T.DISCONNECT, long);
    }
    case 'SLEEPREQ':
      return w
        .u8(p.retainTopicAliases ? 0x01 : 0, 'flags')
        .packetId(p.packetId)
        .u32(p.sleepDuration, 'Sleep Duration')
        .frame(T.SLEEPREQ, long);
    case 'SLEEPRESP':
      w.u8(p.sleepDuration !== undefined ? 0x01 : 0, 'flags').packetId(p.packetId);
      if (p.sleepDuration !== undefined) w.u32(p.sleepDuration, 'Sleep Duration');
      if (p.reasonCode !== undefined) w.u8(p.reasonCode, 'Reason Code');
      return w.frame(T.SLEEPRESP, long);
    case 'WAKEUP':
      return w.frame(T.WAKEUP, long);
    case 'PUBWOS':
      // MQTT-SN-3.6.1.2.1-1: a predefined alias or a name; the type leaves no session alias here.
      if ((p.topicType as string) === 'session') fail(CodecErrorCode.BAD_TOPIC, 'PUBWOS cannot use a Session Topic Alias');
      w.u8((p.retain ? Flag.BIT4 : 0) | TopicTypeBits[p.topicType], 'flags');
      return topicRef(w, p).bytes(p.payload).frame(T.PUBWOS, long);
    case 'ADVERTISE':
      return w.u8(p.gatewayId, 'Gateway Id').u16(p.duration, 'Duration').frame(T.ADVERTISE, long);
    case 'SEARCHGW':
      return w.optional(p.additionalNetworkInfo, 'Additional Network Information').frame(T.SEARCHGW, long);
    case 'GWINFO':
      return w.u8(p.gatewayId, 'Gateway Id').optional(p.gatewayAddress, 'Gateway Address').frame(T.GWINFO, long);
    case 'FORWARDER_ENCAPSULATION':
      return w.prefixed(p.clientAddressingInfo, 1, 'Client Addressing Information').bytes(inner(p.packet)).frame(T.FORWARDER_ENCAPSULATION, long);
    case 'CONNECTION_ENCAPSULATION':
      return w.prefixed(utf8(p.clientId, 'Client Identifier'), 2, 'Client Identifier').bytes(inner(p.packet)).frame(T.CONNECTION_ENCAPSULATION, long);
    case 'PROTECTION_ENCAPSULATION':
      return protection(w, p).frame(T.PROTECTION_ENCAPSULATION, long);
  }
}

/** [3.1, Fig 3-1]: the Will Flags byte right after the Connect Flags; the Will fields after Session Expiry. */
function connect(w: Writer, p: Extract<Packet, { type: 'CONNECT' }>): Writer {
  const flags =
    (p.allowServerSuggestedValues ? ConnectFlag.ALLOW_SERVER_SUGGESTED_VALUES : 0) |
    (p.allowNetworkAddressChanges ? ConnectFlag.ALLOW_NETWORK_ADDRESS_CHANGES : 0) |
    (p.defaultAwakeMessages !== undefined ? ConnectFlag.DEFAULT_AWAKE_MESSAGES : 0) |
    (p.sessionExpiryInterval !== undefined ? ConnectFlag.SESSION_EXPIRY : 0) |
    (p.auth !== undefined ? ConnectFlag.AUTH : 0) |
    (p.will !== undefined ? ConnectFlag.WILL : 0) |
    (p.cleanStart ? ConnectFlag.CLEAN_START : 0);
  w.u8(flags, 'flags');
  if (p.will !== undefined) w.u8((p.will.retain ? Flag.BIT4 : 0) | (qosBits(p.will.qos, 'Will QoS') << Flag.WILL_QOS_SHIFT) | TopicTypeBits[p.will.topicType], 'Will Flags');
  w.packetId(p.packetId).u8(p.protocolVersion, 'Protocol Version').u16(p.keepAlive, 'Keep Alive').u16(p.maxPacketSize, 'Maximum Packet Size');
  if (p.defaultAwakeMessages !== undefined) w.u8(p.defaultAwakeMessages, 'Default Awake Messages');
  if (p.sessionExpiryInterval !== undefined) w.u32(p.sessionExpiryInterval, 'Session Expiry Interval');
  if (p.will !== undefined) willFields(w, p.will);
  if (p.auth !== undefined) auth(w, p.auth);
  return w.bytes(utf8(p.clientId, 'Client Identifier'));
}

function willFields(w: Writer, will: Will): void {
  topicRef(w, will).prefixed(will.payload, 2, 'Will Payload');
}

function auth(w: Writer, a: Auth): void {
  w.prefixed(utf8(a.method, 'Authentication Method'), 1, 'Authentication Method').prefixed(a.data, 2, 'Authentication Data');
}

/** Topic Alias, or Topic Name Length then the name [3.6.2.4]. */
function topicRef(w: Writer, t: TopicRef): Writer {
  if (t.topicType !== 'name') return w.u16(t.topicAlias, 'Topic Alias');
  const name = utf8(t.topicName, 'Topic Name');
  if (name.length > 0xffff) fail(CodecErrorCode.BAD_TOPIC, `Topic Name of ${name.length} bytes`);
  return w.prefixed(name, 2, 'Topic Name');
}

/** An alias of exactly 2 bytes, or a filter to the end of the packet [3.7.4, 3.9.4]. */
function filterRef(w: Writer, t: FilterRef): Writer {
  return t.topicType === 'filter' ? w.bytes(utf8(t.topicFilter, 'Topic Filter')) : w.u16(t.topicAlias, 'Topic Alias');
}

function aliasTypeBits(t: AliasType): number {
  if (t !== 'session' && t !== 'predefined') fail(CodecErrorCode.BAD_TOPIC, `Topic Type ${String(t)} where only an alias type is allowed`);
  return TopicTypeBits[t];
}

function inner(b: Buffer): Buffer {
  if (b.length < 2) fail(CodecErrorCode.BAD_FIELD, 'an encapsulated packet must be a complete MQTT-SN packet (2 bytes or more)');
  return b;
}

/** [3.17, Fig 3-27]: the sizes the flags announce must be the sizes given, or the decoder would read another packet. */
function protection(w: Writer, p: Extract<Packet, { type: 'PROTECTION_ENCAPSULATION' }>): Writer {
  const crypto = p.cryptoMaterial === undefined ? 0 : CRYPTO_MATERIAL_LENGTH.indexOf(p.cryptoMaterial.length as 0);
  const counter = p.monotonicCounter === undefined ? 0 : MONOTONIC_COUNTER_LENGTH.indexOf(p.monotonicCounter.length as 0);
  if (crypto <= 0 && p.cryptoMaterial !== undefined) fail(CodecErrorCode.BAD_FIELD, `Cryptographic Material of ${p.cryptoMaterial.length} bytes (2, 4 or 12)`);
  if (counter <= 0 && p.monotonicCounter !== undefined) fail(CodecErrorCode.BAD_FIELD, `Monotonic Counter of ${p.monotonicCounter.length} bytes (2 or 4)`);
  if (p.senderId.length !== 8) fail(CodecErrorCode.BAD_FIELD, `Sender Identifier of ${p.senderId.length} bytes (8)`);
  if (p.random.length !== 4) fail(CodecErrorCode.BAD_FIELD, `Random of ${p.random.length} bytes (4)`);
  const code = p.authTagLengthCode;
  if (!Number.isInteger(code) || code < 0 || code > 15) fail(CodecErrorCode.BAD_FIELD, `Tag Length code ${code} (0..15)`);
  const tag = authTagLength(code, p.protectionScheme);
  if (typeof tag !== 'number' || tag !== p.authTag.length) {
    fail(CodecErrorCode.BAD_FIELD, `a ${p.authTag.length}-byte tag does not match Tag Length code ${code} with scheme ${p.protectionScheme} (${String(tag)})`);
  }
  w.u8((code << 4) | (crypto << 2) | counter, 'Protection Flags').u8(p.protectionScheme, 'Protection Scheme').bytes(p.senderId).bytes(p.random);
  if (p.cryptoMaterial !== undefined) w.bytes(p.cryptoMaterial);
  if (p.monotonicCounter !== undefined) w.bytes(p.monotonicCounter);
  return w.bytes(inner(p.protectedPacket)).bytes(p.authTag);
}
