/**
 * bytes -> MQTT-SN 2.0 packet. Pure: no I/O, no timers, no logging.
 *
 * Same discipline as the 1.2 decoder: `decode` never throws, it returns a packet or a
 * `DecodeError` with a stable code, and whatever it accepts re-encodes to exactly the same bytes.
 * Where 1.2 ignored unused flag bits, 2.0 makes a set reserved bit a Malformed Packet (§2.5 of the
 * reference; e.g. MQTT-SN-3.6.2.2-2), so they are errors here (BAD_FLAGS), as are reserved values
 * of 2-bit fields (QoS 3, Topic Type 0b10, Retain Handling 3), ill-formed UTF-8 and U+0000 in a
 * string [1.8.4], and a Packet Identifier of 0 (MQTT-SN-2.2-1). Values that fit their field but
 * break a rule of behaviour (Keep Alive 0, Sleep Duration 0, an empty Topic Filter, a version
 * other than 2) are decoded: refusing them is the server's call, with the reason code it chooses.
 */
import { isUtf8 } from 'node:buffer';
import { CodecErrorCode, DecodeError } from '../../errors.js';
import { lengthError, needlesslyLong, readHeader, type LongLengthHint } from '../framing.js';
import {
  authTagLength,
  ConnackFlag,
  ConnectFlag,
  CRYPTO_MATERIAL_LENGTH,
  DisconnectFlag,
  Flag,
  MONOTONIC_COUNTER_LENGTH,
  PacketType as T,
  PacketTypeName,
} from './constants.js';
import type { AliasType, Auth, CodecOptions, Decoded, FilterRef, Packet, PublishPacket, QoS, RegackPacket, SubackPacket, TopicRef, Will } from './packets.js';

/**
 * A position-tracking reader over one packet's bytes after the type byte. A read past the end
 * or a bad value throws a `DecodeError`, which `decode` returns: every field check is one line.
 */
class Reader {
  at: number;

  constructor(
    readonly b: Buffer,
    at: number,
    readonly type: number,
  ) {
    this.at = at;
  }

  get left(): number {
    return this.b.length - this.at;
  }

  fail(code: CodecErrorCode, message: string): never {
    throw new DecodeError(code, `${PacketTypeName[this.type] ?? 'packet'}: ${message}`, this.type);
  }

  need(n: number, field: string): void {
    if (this.left < n) this.fail(CodecErrorCode.TRUNCATED, `${field} needs ${n} bytes, ${this.left} left`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.b[this.at++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** MQTT-SN-2.2-1: every Packet Identifier on the wire is non-zero. */
  packetId(): number {
    return this.u16('Packet Identifier') || this.fail(CodecErrorCode.BAD_FIELD, 'Packet Identifier 0');
  }

  /** [1.8.4]: well-formed UTF-8 (so no surrogates) without U+0000, else a Malformed Packet. */
  utf8(n: number, field: string): string {
    const v = this.bytes(n, field);
    if (!isUtf8(v)) this.fail(CodecErrorCode.BAD_FIELD, `${field} is not well-formed UTF-8`);
    if (v.includes(0)) this.fail(CodecErrorCode.BAD_FIELD, `${field} contains U+0000`);
    return v.toString('utf8');
  }

  rest(): Buffer {
    return this.bytes(this.left, 'rest');
  }

  restUtf8(field: string): string {
    return this.utf8(this.left, field);
  }

  /** A rest-of-packet string that is optional: absent when no bytes are left. */
  optionalUtf8(field: string): string | undefined {
    return this.left === 0 ? undefined : this.restUtf8(field);
  }

  /** An optional trailing byte (the acks' Reason Code): absent when no bytes are left. */
  optionalU8(field: string): number | undefined {
    return this.left === 0 ? undefined : this.u8(field);
  }

  end(): void {
    if (this.left > 0) this.fail(CodecErrorCode.LENGTH_MISMATCH, `${this.left} bytes after the last field`);
  }

  /** Reserved bits of a flags byte MUST be 0; a set one is a Malformed Packet (§2.5 of the reference). */
  flags(field: string, reserved: number): number {
    const f = this.u8(field);
    if ((f & reserved) !== 0) this.fail(CodecErrorCode.BAD_FLAGS, `${field} 0x${hex(f)} sets reserved bits 0x${hex(f & reserved)}`);
    return f;
  }
}

const hex = (v: number): string => v.toString(16).padStart(2, '0');

/** Decode one complete MQTT-SN 2.0 packet; its Length field must equal `bytes.length`. */
export function decode(bytes: Buffer, options: CodecOptions = {}): Decoded | DecodeError {
  try {
    return decodeUnchecked(bytes, options);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    // Unreachable by design (every read is bounds-checked); a decoder bug costs one dropped frame.
    return new DecodeError(CodecErrorCode.INTERNAL, `decoder failure: ${String(e)}`);
  }
}

function decodeUnchecked(b: Buffer, options: CodecOptions): Decoded | DecodeError {
  const header = readHeader(b);
  if (header instanceof DecodeError) return header;
  const type = b[header.typeAt]!;
  const bad = lengthError(b, header, type);
  if (bad) return bad;
  const r = new Reader(b, header.typeAt + 1, type);
  const p = body(r, options);
  r.end();
  if (needlesslyLong(header)) (p as LongLengthHint).longLength = true;
  return p;
}

function body(r: Reader, options: CodecOptions): Packet {
  switch (r.type) {
    case T.CONNECT:
      return connect(r);
    case T.CONNACK: {
      const f = r.flags('CONNACK Flags', ConnackFlag.RESERVED);
      const p: Packet = { type: 'CONNACK', sessionPresent: (f & ConnackFlag.SESSION_PRESENT) !== 0, packetId: r.packetId(), reasonCode: r.u8('Reason Code') };
      if (f & ConnackFlag.SESSION_EXPIRY) p.sessionExpiryInterval = r.u32('Session Expiry Interval');
      if (f & ConnackFlag.SERVER_KEEP_ALIVE) p.serverKeepAlive = r.u16('Server Keep Alive');
      if (f & ConnackFlag.AUTH) p.auth = auth(r);
      const id = r.optionalUtf8('Assigned Client Identifier');
      if (id !== undefined) p.assignedClientId = id;
      return p;
    }
    case T.AUTH: {
      const packetId = r.packetId();
      const reasonCode = r.u8('Reason Code');
      // Fig 3-4: a 1-byte method length and no data length (Paho's 2-byte length does not interoperate).
      const method = r.utf8(r.u8('Authentication Method Length'), 'Authentication Method');
      return { type: 'AUTH', packetId, reasonCode, method, data: r.rest() };
    }
    case T.REGISTER: {
      const f = r.flags('REGISTER Flags', 0xfe);
      const packetId = r.packetId();
      const topicAlias = f & 0x01 ? r.u16('Topic Alias') : undefined;
      const topicName = r.restUtf8('Topic Name');
      return topicAlias === undefined ? { type: 'REGISTER', packetId, topicName } : { type: 'REGISTER', packetId, topicAlias, topicName };
    }
    case T.REGACK:
    case T.SUBACK: {
      const name = r.type === T.REGACK ? 'REGACK' : 'SUBACK';
      const f = r.flags(`${name} Flags`, 0xf8);
      const p: RegackPacket | SubackPacket = { type: name, topicType: aliasType(r, f), packetId: r.packetId() };
      if (f & Flag.ALIAS) p.topicAlias = r.u16('Topic Alias');
      const rc = r.optionalU8('Reason Code');
      if (rc !== undefined) p.reasonCode = rc;
      return p;
    }
    case T.PUBLISH:
      return publish(r);
    case T.PUBACK:
    case T.PUBREC:
    case T.PUBREL:
    case T.PUBCOMP:
    case T.UNSUBACK: {
      const name = PacketTypeName[r.type] as 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP' | 'UNSUBACK';
      const packetId = r.packetId();
      const reasonCode = r.optionalU8('Reason Code');
      return reasonCode === undefined ? { type: name, packetId } : { type: name, packetId, reasonCode };
    }
    case T.SUBSCRIBE: {
      const f = r.u8('SUBSCRIBE Flags'); // [3.7.2]: no reserved bits
      const qos = qosOf(r, f, 'maximum QoS');
      const rh = (f & Flag.RETAIN_HANDLING_MASK) >> Flag.RETAIN_HANDLING_SHIFT;
      if (rh === 3) r.fail(CodecErrorCode.BAD_FLAGS, 'Retain Handling 3 is reserved');
      const packetId = r.packetId();
      const topic = filterRef(r, f);
      return { type: 'SUBSCRIBE', noLocal: (f & Flag.BIT7) !== 0, qos, retainAsPublished: (f & Flag.BIT4) !== 0, retainHandling: rh as 0 | 1 | 2, packetId, ...topic };
    }
    case T.UNSUBSCRIBE: {
      const f = r.flags('UNSUBSCRIBE Flags', 0xfc);
      const packetId = r.packetId();
      return { type: 'UNSUBSCRIBE', packetId, ...filterRef(r, f) };
    }
    case T.PINGREQ:
      return { type: 'PINGREQ', packetId: r.packetId() };
    case T.PINGRESP: {
      const packetId = r.packetId();
      const n = r.optionalU8('Application Messages Remaining');
      return n === undefined ? { type: 'PINGRESP', packetId } : { type: 'PINGRESP', packetId, appMessagesRemaining: n };
    }
    case T.DISCONNECT:
      return disconnect(r, options);
    case T.SLEEPREQ: {
      const f = r.flags('SLEEPREQ Flags', 0xfe);
      return { type: 'SLEEPREQ', retainTopicAliases: (f & 0x01) !== 0, packetId: r.packetId(), sleepDuration: r.u32('Sleep Duration') };
    }
    case T.SLEEPRESP: {
      const f = r.flags('SLEEPRESP Flags', 0xfe);
      const p: Packet = { type: 'SLEEPRESP', packetId: r.packetId() };
      if (f & 0x01) p.sleepDuration = r.u32('Sleep Duration');
      const rc = r.optionalU8('Reason Code');
      if (rc !== undefined) p.reasonCode = rc;
      return p;
    }
    case T.WAKEUP:
      return { type: 'WAKEUP' };
    case T.PUBWOS: {
      const f = r.flags('PUBWOS Flags', 0xec);
      const retain = (f & Flag.BIT4) !== 0;
      // MQTT-SN-3.6.1.2.1-1: a session alias means nothing without a session.
      if ((f & Flag.TOPIC_TYPE_MASK) === 0b00) r.fail(CodecErrorCode.BAD_FLAGS, 'Topic Type must be Predefined Topic Alias or Topic Name');
      const t = topicRef(r, f);
      return t.topicType === 'name'
        ? { type: 'PUBWOS', retain, payload: r.rest(), topicType: t.topicType, topicName: t.topicName }
        : { type: 'PUBWOS', retain, payload: r.rest(), topicType: 'predefined', topicAlias: t.topicAlias };
    }
    case T.ADVERTISE:
      return { type: 'ADVERTISE', gatewayId: r.u8('Gateway Id'), duration: r.u16('Duration') };
    case T.SEARCHGW:
      return r.left === 0 ? { type: 'SEARCHGW' } : { type: 'SEARCHGW', additionalNetworkInfo: r.rest() };
    case T.GWINFO: {
      const gatewayId = r.u8('Gateway Id');
      return r.left === 0 ? { type: 'GWINFO', gatewayId } : { type: 'GWINFO', gatewayId, gatewayAddress: r.rest() };
    }
    case T.FORWARDER_ENCAPSULATION: {
      const clientAddressingInfo = r.bytes(r.u8('Client Addressing Information Length'), 'Client Addressing Information');
      return { type: 'FORWARDER_ENCAPSULATION', clientAddressingInfo, packet: inner(r) };
    }
    case T.CONNECTION_ENCAPSULATION: {
      const clientId = r.utf8(r.u16('Client Identifier Length'), 'Client Identifier');
      return { type: 'CONNECTION_ENCAPSULATION', clientId, packet: inner(r) };
    }
    case T.PROTECTION_ENCAPSULATION:
      return protection(r);
    default:
      return r.fail(CodecErrorCode.UNKNOWN_TYPE, `reserved packet type 0x${hex(r.type)}`);
  }
}

/** [3.1, Fig 3-1]: the Will Flags byte comes right after the Connect Flags, the Will fields after Session Expiry. */
function connect(r: Reader): Packet {
  const f = r.flags('Connect Flags', ConnectFlag.RESERVED);
  // Fig 3-1 draws Will Flags bits 7-5 as reserved 0s; the prose states the Malformed rule for every
  // other flags byte but not this one. Read like the others (as the reference's §2.5 does).
  const willFlags = f & ConnectFlag.WILL ? r.flags('Will Flags', 0xe0) : undefined;
  const p: Packet = {
    type: 'CONNECT',
    cleanStart: (f & ConnectFlag.CLEAN_START) !== 0,
    allowNetworkAddressChanges: (f & ConnectFlag.ALLOW_NETWORK_ADDRESS_CHANGES) !== 0,
    allowServerSuggestedValues: (f & ConnectFlag.ALLOW_SERVER_SUGGESTED_VALUES) !== 0,
    packetId: r.packetId(),
    protocolVersion: r.u8('Protocol Version'),
    keepAlive: r.u16('Keep Alive'),
    maxPacketSize: r.u16('Maximum Packet Size'),
    clientId: '',
  };
  if (f & ConnectFlag.DEFAULT_AWAKE_MESSAGES) p.defaultAwakeMessages = r.u8('Default Awake Messages');
  if (f & ConnectFlag.SESSION_EXPIRY) p.sessionExpiryInterval = r.u32('Session Expiry Interval');
  if (willFlags !== undefined) p.will = will(r, willFlags);
  if (f & ConnectFlag.AUTH) p.auth = auth(r);
  p.clientId = r.restUtf8('Client Identifier');
  return p;
}

function will(r: Reader, wf: number): Will {
  const bits = (wf & Flag.WILL_QOS_MASK) >> Flag.WILL_QOS_SHIFT;
  if (bits === 3) r.fail(CodecErrorCode.BAD_FLAGS, 'Will QoS 3 is a Malformed Packet [3.1.3.2]');
  const topic = topicRef(r, wf);
  const payload = r.bytes(r.u16('Will Payload Length'), 'Will Payload');
  return { qos: bits as QoS, retain: (wf & Flag.BIT4) !== 0, payload, ...topic };
}

function auth(r: Reader): Auth {
  const method = r.utf8(r.u8('Authentication Method Length'), 'Authentication Method');
  return { method, data: r.bytes(r.u16('Authentication Data Length'), 'Authentication Data') };
}

function qosOf(r: Reader, flags: number, field: string): QoS {
  const q = (flags & Flag.QOS_MASK) >> Flag.QOS_SHIFT;
  if (q === 3) r.fail(CodecErrorCode.BAD_FLAGS, `${field} 3 is reserved`);
  return q as QoS;
}

/** Topic Alias or Topic Name Length (2 bytes), then the name for type 0b11 [3.6.2.4, 3.1.10]. */
function topicRef(r: Reader, flags: number): TopicRef {
  const tt = flags & Flag.TOPIC_TYPE_MASK;
  const v = r.u16('Topic Alias or Topic Name Length');
  switch (tt) {
    case 0b00:
      return { topicType: 'session', topicAlias: v };
    case 0b01:
      return { topicType: 'predefined', topicAlias: v };
    case 0b11:
      return { topicType: 'name', topicName: r.utf8(v, 'Topic Name') };
    default:
      return r.fail(CodecErrorCode.BAD_FLAGS, 'Topic Type 0b10 is reserved');
  }
}

/** SUBSCRIBE / UNSUBSCRIBE: an alias of exactly 2 bytes, or a filter to the end (no length) [3.7.4, 3.9.4]. */
function filterRef(r: Reader, flags: number): FilterRef {
  switch (flags & Flag.TOPIC_TYPE_MASK) {
    case 0b00:
      return { topicType: 'session', topicAlias: r.u16('Topic Alias') };
    case 0b01:
      return { topicType: 'predefined', topicAlias: r.u16('Topic Alias') };
    case 0b11:
      return { topicType: 'filter', topicFilter: r.restUtf8('Topic Filter') };
    default:
      return r.fail(CodecErrorCode.BAD_FLAGS, 'Topic Type 0b10 is reserved');
  }
}

/** REGACK and SUBACK: Topic Type 0b00 or 0b01 only [3.5.2.1, 3.8.2.1]. */
function aliasType(r: Reader, flags: number): AliasType {
  const tt = flags & Flag.TOPIC_TYPE_MASK;
  if (tt > 0b01) r.fail(CodecErrorCode.BAD_FLAGS, `Topic Type 0b${tt.toString(2)} where only an alias type is allowed`);
  return tt === 0b00 ? 'session' : 'predefined';
}

/**
 * PUBLISH [3.6.2, Fig 3-9]: the hot path, kept apart. Packet Identifier only for QoS 1 and 2
 * (MQTT-SN-2.2-2). Built as literals: an object spread here cost 50 times the rest of the decode.
 */
function publish(r: Reader): Packet {
  const f = r.flags('PUBLISH Flags', 0x0c);
  const qos = qosOf(r, f, 'QoS');
  const dup = (f & Flag.BIT7) !== 0;
  const retain = (f & Flag.BIT4) !== 0;
  const packetId = qos > 0 ? r.packetId() : undefined;
  const t = topicRef(r, f);
  const p: PublishPacket =
    t.topicType === 'name'
      ? { type: 'PUBLISH', dup, qos, retain, payload: r.rest(), topicType: t.topicType, topicName: t.topicName }
      : { type: 'PUBLISH', dup, qos, retain, payload: r.rest(), topicType: t.topicType, topicAlias: t.topicAlias };
  if (packetId !== undefined) p.packetId = packetId;
  return p;
}

/**
 * DISCONNECT [3.13, Fig 3-23]: [Packet Identifier] [Session Expiry Interval] [Reason Code]
 * [Reason String]. The draft's figure orders the interval before the Reason Code and wins over
 * its own subsection order and over Paho and Maps-Messaging, which put the Reason Code first
 * (AMBIG-7); `disconnectReasonCodeFirst` reads such peers.
 */
function disconnect(r: Reader, options: CodecOptions): Packet {
  const f = r.flags('DISCONNECT Flags', DisconnectFlag.RESERVED);
  const p: Packet = { type: 'DISCONNECT' };
  if (f & DisconnectFlag.PACKET_ID) p.packetId = r.packetId();
  const rcFirst = options.disconnectReasonCodeFirst === true;
  if (rcFirst && f & DisconnectFlag.REASON_CODE) p.reasonCode = r.u8('Reason Code');
  if (f & DisconnectFlag.SESSION_EXPIRY) p.sessionExpiryInterval = r.u32('Session Expiry Interval');
  if (!rcFirst && f & DisconnectFlag.REASON_CODE) p.reasonCode = r.u8('Reason Code');
  const reason = r.optionalUtf8('Reason String');
  if (reason !== undefined) p.reasonString = reason;
  return p;
}

/** Any MQTT-SN packet is at least Length and type: 2 bytes. */
function inner(r: Reader): Buffer {
  if (r.left < 2) r.fail(CodecErrorCode.TRUNCATED, `an encapsulated packet needs at least 2 bytes, ${r.left} left`);
  return r.rest();
}

/** Protection Encapsulation [3.17, Fig 3-27]: fixed header, optional fields by flag codes, packet, tag. */
function protection(r: Reader): Packet {
  const f = r.u8('Protection Flags');
  const authTagLengthCode = f >> 4;
  const cryptoCode = (f >> 2) & 0x03;
  const counterCode = f & 0x03;
  if (counterCode === 3) r.fail(CodecErrorCode.BAD_FLAGS, 'Monotonic Counter Length 3 is reserved');
  const protectionScheme = r.u8('Protection Scheme');
  const tag = authTagLength(authTagLengthCode, protectionScheme);
  if (tag === 'reserved') r.fail(CodecErrorCode.BAD_FIELD, `Tag Length code ${authTagLengthCode} with scheme 0x${hex(protectionScheme)}: reserved`);
  if (tag === 'not-allowed') r.fail(CodecErrorCode.BAD_FIELD, `Tag Length code ${authTagLengthCode} is not allowed with scheme 0x${hex(protectionScheme)}`);
  if (tag === 'provider') r.fail(CodecErrorCode.UNSUPPORTED, `the provider defines the tag length (code ${authTagLengthCode}, scheme 0x${hex(protectionScheme)})`);
  const p: Packet = {
    type: 'PROTECTION_ENCAPSULATION',
    authTagLengthCode,
    protectionScheme,
    senderId: r.bytes(8, 'Sender Identifier'),
    random: r.bytes(4, 'Random'),
    protectedPacket: Buffer.alloc(0),
    authTag: Buffer.alloc(0),
  };
  if (cryptoCode !== 0) p.cryptoMaterial = r.bytes(CRYPTO_MATERIAL_LENGTH[cryptoCode]!, 'Cryptographic Material');
  if (counterCode !== 0) p.monotonicCounter = r.bytes(MONOTONIC_COUNTER_LENGTH[counterCode]!, 'Monotonic Counter');
  // The inner Length byte is ciphertext under AEAD: the packet is whatever the tag leaves.
  if (r.left < tag + 2) r.fail(CodecErrorCode.TRUNCATED, `room for a protected packet and a ${tag}-byte tag needs ${tag + 2} bytes, ${r.left} left`);
  p.protectedPacket = r.bytes(r.left - tag, 'Protected MQTT-SN Packet');
  p.authTag = r.rest();
  return p;
}
