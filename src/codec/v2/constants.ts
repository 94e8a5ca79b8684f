/**
 * Wire numbers of MQTT-SN 2.0 (OASIS CSD01). Section numbers are the draft's ([2.1.3] = §2.1.3);
 * reverse tables are derived, never written by hand, so a number and its name cannot drift apart.
 */
import { namesByCode } from '../names.js';

/** Packet types [2.1.3, Fig 2-4]. Renumbered from 1.2: the same byte means another packet there. */
export const PacketType = {
  CONNECT: 0x01,
  CONNACK: 0x02,
  PUBLISH: 0x03,
  PUBACK: 0x04,
  PUBREC: 0x05,
  PUBREL: 0x06,
  PUBCOMP: 0x07,
  SUBSCRIBE: 0x08,
  SUBACK: 0x09,
  UNSUBSCRIBE: 0x0a,
  UNSUBACK: 0x0b,
  PINGREQ: 0x0c,
  PINGRESP: 0x0d,
  DISCONNECT: 0x0e,
  AUTH: 0x0f,
  REGISTER: 0x10,
  REGACK: 0x11,
  PUBWOS: 0x12,
  SLEEPREQ: 0x13,
  SLEEPRESP: 0x14,
  WAKEUP: 0x15,
  ADVERTISE: 0x16,
  SEARCHGW: 0x17,
  GWINFO: 0x18,
  FORWARDER_ENCAPSULATION: 0xfc,
  // 0xFD is reserved "to avoid clash with MQTT-SN 1.2 Encapsulation", but 1.2 used 0xFE (AMBIG-2).
  CONNECTION_ENCAPSULATION: 0xfe,
  PROTECTION_ENCAPSULATION: 0xff,
} as const;

export type PacketTypeName = keyof typeof PacketType;

/** Packet type byte -> name; `undefined` for reserved values. */
export const PacketTypeName = namesByCode(PacketType);

/** The Protocol Version byte of CONNECT [3.1.5, Fig 3-2]. */
export const PROTOCOL_VERSION = 0x02;

/**
 * Reason Codes [2.3, Fig 2-7]: below 0x80 success, from 0x80 failure. 0x00 is Success, Normal
 * disconnection and Granted QoS 0 alike; it has one name here.
 */
export const ReasonCode = {
  SUCCESS: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  CONTINUE_AUTHENTICATION: 0x18,
  REAUTHENTICATE: 0x19,
  TOPIC_ALIAS_EXISTS: 0x1a,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  /** one-in-flight violated [4.9] */
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  PACKET_RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  USE_ANOTHER_SERVER: 0x9c,
  SERVER_MOVED: 0x9d,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  CONNECTION_RATE_EXCEEDED: 0x9f,
  MAXIMUM_CONNECT_TIME: 0xa0,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
  ONLY_PROTECTION_PACKET_SUPPORTED: 0xe6,
  PROTECTION_SCHEME_INVALID: 0xe7,
  UNKNOWN_SENDER_ID: 0xe8,
  UNKNOWN_TOPIC_ALIAS: 0xf0,
  /** retry after the Congestion Delay [C.2] */
  CONGESTION: 0xf1,
  PROTECTION_NOT_SUPPORTED: 0xf2,
  FORWARDER_ENCAPSULATION_NOT_SUPPORTED: 0xf3,
  NO_VIRTUAL_CONNECTION: 0xf4,
} as const;

export type ReasonCodeName = keyof typeof ReasonCode;

/** Reason Code -> name; `undefined` for values the draft does not define. */
export const ReasonCodeName = namesByCode(ReasonCode);

/** [2.3]: a Reason Code of 0x80 or more is a failure; on CONNACK and DISCONNECT the VC is deleted (4.12.2-1). */
export const isFailure = (reasonCode: number): boolean => reasonCode >= 0x80;

/** The Topic Type field, bits 1-0 of a flags byte [2.4, Fig 2-8]; 0b10 is reserved. */
export const TopicTypeBits = {
  session: 0b00,
  predefined: 0b01,
  /** a Topic Name (PUBLISH, PUBWOS, Will) or a Topic Filter (SUBSCRIBE, UNSUBSCRIBE) */
  name: 0b11,
} as const;

/** CONNECT flags [3.1.2, Fig 3-1]; bit 7 reserved. */
export const ConnectFlag = {
  ALLOW_SERVER_SUGGESTED_VALUES: 0x40,
  ALLOW_NETWORK_ADDRESS_CHANGES: 0x20,
  DEFAULT_AWAKE_MESSAGES: 0x10,
  SESSION_EXPIRY: 0x08,
  AUTH: 0x04,
  WILL: 0x02,
  CLEAN_START: 0x01,
  RESERVED: 0x80,
} as const;

/** CONNACK flags [3.2.2]; bits 7-4 reserved. */
export const ConnackFlag = {
  AUTH: 0x08,
  SERVER_KEEP_ALIVE: 0x04,
  SESSION_EXPIRY: 0x02,
  SESSION_PRESENT: 0x01,
  RESERVED: 0xf0,
} as const;

/** DISCONNECT flags [3.13.2]; bits 7-3 reserved. */
export const DisconnectFlag = {
  REASON_CODE: 0x04,
  SESSION_EXPIRY: 0x02,
  PACKET_ID: 0x01,
  RESERVED: 0xf8,
} as const;

/** PUBLISH, PUBWOS, SUBSCRIBE and Will flag bits that share positions [3.6.1.2, 3.6.2.2, 3.7.2, 3.1.3]. */
export const Flag = {
  /** PUBLISH DUP; SUBSCRIBE No Local */
  BIT7: 0x80,
  QOS_MASK: 0x60,
  QOS_SHIFT: 5,
  /** PUBLISH/PUBWOS Retain; SUBSCRIBE Retain as Published; Will Retain */
  BIT4: 0x10,
  /** SUBSCRIBE Retain Handling */
  RETAIN_HANDLING_MASK: 0x0c,
  RETAIN_HANDLING_SHIFT: 2,
  /** Will QoS sits two bits lower than a PUBLISH's [3.1.3] */
  WILL_QOS_MASK: 0x0c,
  WILL_QOS_SHIFT: 2,
  /** REGACK/SUBACK Topic Alias present */
  ALIAS: 0x04,
  TOPIC_TYPE_MASK: 0x03,
} as const;

/** Protection Schemes [3.17.3, Fig 3-28]. */
export const ProtectionScheme = {
  HMAC_SHA256: 0x00,
  HMAC_SHA3_256: 0x01,
  CMAC_128: 0x02,
  CMAC_192: 0x03,
  CMAC_256: 0x04,
  AES_CCM_64_128: 0x40,
  AES_CCM_64_192: 0x41,
  AES_CCM_64_256: 0x42,
  AES_CCM_128_128: 0x43,
  AES_CCM_128_192: 0x44,
  AES_CCM_128_256: 0x45,
  AES_GCM_128_128: 0x46,
  AES_GCM_128_192: 0x47,
  AES_GCM_128_256: 0x48,
  CHACHA20_POLY1305: 0x49,
} as const;

/**
 * The Authentication Tag size in bytes of a Protection Encapsulation, from its Tag Length code
 * (Protection Flags bits 7-4) and scheme [3.17.2.3, Fig 3-28], or why it cannot be told:
 * `provider` when the provider defines it (code 0, or code 1 with a provider scheme), `reserved`
 * for reserved codes and schemes, `not-allowed` for a truncation the draft forbids.
 */
export function authTagLength(code: number, scheme: number): number | 'provider' | 'reserved' | 'not-allowed' {
  if (code === 2 || code === 3) return 'reserved';
  const authOnly = scheme <= 0x04 || (scheme >= 0x3c && scheme <= 0x3f);
  const aead = (scheme >= 0x40 && scheme <= 0x49) || scheme >= 0xf0;
  if (!authOnly && !aead) return 'reserved';
  const nominal = nominalTagLength(scheme);
  if (code === 0) return 'provider';
  if (code === 1) return nominal ?? 'provider';
  // Codes 4..15: 16 × code bits, only to truncate an Authentication-Only scheme, never above its nominal size.
  if (!authOnly) return 'not-allowed';
  const bytes = code * 2;
  return nominal !== undefined && bytes > nominal ? 'not-allowed' : bytes;
}

/** Nominal tag bytes of a scheme [Fig 3-28]; undefined for provider-defined schemes. */
function nominalTagLength(scheme: number): number | undefined {
  if (scheme <= 0x01) return 32; // HMAC-SHA256, HMAC-SHA3-256
  if (scheme <= 0x04) return 16; // CMAC
  if (scheme >= 0x40 && scheme <= 0x42) return 8; // AES-CCM-64-*
  if (scheme >= 0x43 && scheme <= 0x49) return 16; // AES-CCM-128-*, AES-GCM-*, ChaCha20/Poly1305
  return undefined;
}

/** Cryptographic Material bytes by its 2-bit length code [3.17.2.2]: 12 for code 3, not 6 (AMBIG-8). */
export const CRYPTO_MATERIAL_LENGTH = [0, 2, 4, 12] as const;
/** Monotonic Counter bytes by its 2-bit length code [3.17.2.1]; code 3 is reserved. */
export const MONOTONIC_COUNTER_LENGTH = [0, 2, 4] as const;
