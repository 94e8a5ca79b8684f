/**
 * Wire numbers of MQTT-SN v1.2 (§5.2.2, §5.3). The reverse tables are derived, never written
 * by hand, so a code and its name cannot drift apart.
 */
import { namesByCode } from './names.js';

export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  // PUBCOMP precedes PUBREC and PUBREL on the wire, unlike the order of the QoS 2 flow.
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  ENCAPSULATED: 0xfe,
} as const;

export type MsgTypeName = keyof typeof MsgType;

/** MsgType code -> name; `undefined` for reserved codes. */
export const MsgTypeName = namesByCode(MsgType);

export const ReturnCode = {
  ACCEPTED: 0x00,
  CONGESTION: 0x01,
  INVALID_TOPIC_ID: 0x02,
  NOT_SUPPORTED: 0x03,
} as const;
export type ReturnCodeName = keyof typeof ReturnCode;

/** The Flags byte (§5.3.4). */
export const Flag = {
  DUP: 0x80,
  QOS_MASK: 0x60,
  QOS_SHIFT: 5,
  RETAIN: 0x10,
  WILL: 0x08,
  CLEAN_SESSION: 0x04,
  TOPIC_ID_TYPE_MASK: 0x03,
} as const;

/** TopicIdType bits 1-0 of the Flags byte. 0b11 is reserved in v1.2. */
export const TopicIdTypeBits = {
  normal: 0b00,
  predefined: 0b01,
  short: 0b10,
} as const;

/** The only ProtocolId defined by v1.2 (CONNECT). */
export const PROTOCOL_ID = 0x01;

/** Shared with 2.0 (same Length field); kept here too for the 1.2 codec's callers. */
export { MAX_MESSAGE_LENGTH } from './framing.js';

/** Topic ids 0x0000 and 0xFFFF are reserved and never assigned (§5.3.11). */
export const TOPIC_ID_MIN = 0x0001;
export const TOPIC_ID_MAX = 0xfffe;

/**
 * Flags bits each message uses (MQTT-SN.md §1.3), by MsgType; 0 marks messages without a Flags
 * byte. MQTT-SN 1.2 §5.3.4: every other bit "must be sent as 0 and should be ignored on
 * receipt". A typed array keeps the lookup cheap on the hot path.
 */
export const USED_FLAGS: Readonly<Uint8Array> = (() => {
  const t = new Uint8Array(256);
  t[MsgType.CONNECT] = Flag.WILL | Flag.CLEAN_SESSION;
  t[MsgType.WILLTOPIC] = Flag.QOS_MASK | Flag.RETAIN;
  t[MsgType.WILLTOPICUPD] = Flag.QOS_MASK | Flag.RETAIN;
  t[MsgType.PUBLISH] = Flag.DUP | Flag.QOS_MASK | Flag.RETAIN | Flag.TOPIC_ID_TYPE_MASK;
  t[MsgType.SUBSCRIBE] = Flag.DUP | Flag.QOS_MASK | Flag.TOPIC_ID_TYPE_MASK;
  t[MsgType.SUBACK] = Flag.QOS_MASK;
  t[MsgType.UNSUBSCRIBE] = Flag.TOPIC_ID_TYPE_MASK;
  return t;
})();
