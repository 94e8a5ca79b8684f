/**
 * Typed MQTT-SN 2.0 packets (OASIS CSD01): one interface per packet, a discriminated union on
 * `type`. Section numbers are the draft's.
 *
 * Presence flags on the wire (Will, Auth, Sess Exp, DAM, Topic Alias, DISCONNECT and SLEEPRESP
 * flags) are not fields here: an optional field is present exactly when its flag is set. Optional
 * trailing fields whose presence the packet length tells (Reason Codes of the acks, Client
 * Identifiers, Reason String, ...) are likewise absent when absent on the wire, so `{ reasonCode: 0 }`
 * and no `reasonCode` are two different, equally valid encodings of Success.
 *
 * Buffers in decoded packets are views into the bytes given to `decode`, not copies (as in 1.2).
 */
import type { LongLengthHint } from '../framing.js';

export type QoS = 0 | 1 | 2;

/** How PUBLISH, PUBWOS and a Will name their topic [2.4]. */
export type TopicRef =
  /** a Session Topic Alias (0b00), assigned by the server */
  | { topicType: 'session'; topicAlias: number }
  /** a Predefined Topic Alias (0b01), configured on both sides */
  | { topicType: 'predefined'; topicAlias: number }
  /** a full Topic Name (0b11), no wildcards */
  | { topicType: 'name'; topicName: string };

/** How SUBSCRIBE and UNSUBSCRIBE name their topic: 0b11 carries a Topic Filter here [3.7.4, 3.9.4]. */
export type FilterRef =
  | { topicType: 'session'; topicAlias: number }
  | { topicType: 'predefined'; topicAlias: number }
  | { topicType: 'filter'; topicFilter: string };

/** Authentication Method and Data of CONNECT and CONNACK [3.1.14-3.1.17]. */
export interface Auth {
  /** UTF-8, at most 255 bytes (1-byte length) */
  method: string;
  /** at most 65535 bytes (2-byte length); may be empty */
  data: Buffer;
}

/** The Will of a CONNECT [3.1.3, 3.1.10-3.1.13]. */
export type Will = {
  qos: QoS;
  retain: boolean;
  payload: Buffer;
} & TopicRef;

export interface ConnectPacket {
  type: 'CONNECT';
  cleanStart: boolean;
  /** Net Addr: the client may move and use Connection Encapsulation [3.1.2.6] */
  allowNetworkAddressChanges: boolean;
  /** Srv Sugg: the server may return Keep Alive, Session Expiry and Sleep Duration of its own [3.1.2.7] */
  allowServerSuggestedValues: boolean;
  packetId: number;
  /** 0x02 for 2.0; other values are decoded so the server can answer CONNACK 0x84 [3.1.5] */
  protocolVersion: number;
  /** seconds; 0 is a Protocol Error [3.1.6], decoded so the server can refuse it */
  keepAlive: number;
  /** 0 = no limit; otherwise at least 10 [3.1.7] (AMBIG-3) */
  maxPacketSize: number;
  defaultAwakeMessages?: number;
  /** seconds; absent = 0; 0xFFFFFFFF never expires [3.1.9] */
  sessionExpiryInterval?: number;
  will?: Will;
  auth?: Auth;
  /** '' when absent: the server must assign one [3.1.18, 3.2.11] */
  clientId: string;
}

export interface ConnackPacket {
  type: 'CONNACK';
  sessionPresent: boolean;
  packetId: number;
  reasonCode: number;
  sessionExpiryInterval?: number;
  serverKeepAlive?: number;
  auth?: Auth;
  /** present exactly when non-empty on the wire */
  assignedClientId?: string;
}

/** [3.3]: no flags, a 1-byte method length and data to the end of the packet. */
export interface AuthPacket {
  type: 'AUTH';
  packetId: number;
  reasonCode: number;
  method: string;
  data: Buffer;
}

export interface RegisterPacket {
  type: 'REGISTER';
  packetId: number;
  /** present only from the server (MQTT-SN-3.4-1/-2) */
  topicAlias?: number;
  topicName: string;
}

/** REGACK and SUBACK carry an alias of one of the two alias types [3.5.2.1, 3.8.2.1]. */
export type AliasType = 'session' | 'predefined';

export interface RegackPacket {
  type: 'REGACK';
  topicType: AliasType;
  packetId: number;
  /** present only from the server (MQTT-SN-3.5.4-1) */
  topicAlias?: number;
  /** absent = 0x00 */
  reasonCode?: number;
}

export type PublishPacket = {
  type: 'PUBLISH';
  /**
   * Defined for QoS 2 resends only (MQTT-SN-3.6.2.2.3-1 tells the sender to keep it 0 for QoS 0
   * and 1); a set bit on another QoS is kept, not refused, as the draft does not make it malformed.
   */
  dup: boolean;
  qos: QoS;
  retain: boolean;
  /** present exactly for QoS 1 and 2 (MQTT-SN-2.2-2) */
  packetId?: number;
  payload: Buffer;
} & TopicRef;

export interface PubackPacket {
  type: 'PUBACK';
  packetId: number;
  /** absent = 0x00 Success */
  reasonCode?: number;
}

export interface PubrecPacket {
  type: 'PUBREC';
  packetId: number;
  reasonCode?: number;
}

export interface PubrelPacket {
  type: 'PUBREL';
  packetId: number;
  reasonCode?: number;
}

export interface PubcompPacket {
  type: 'PUBCOMP';
  packetId: number;
  reasonCode?: number;
}

export type SubscribePacket = {
  type: 'SUBSCRIBE';
  noLocal: boolean;
  /** the maximum QoS asked for; 3 is refused as malformed by the codec */
  qos: QoS;
  retainAsPublished: boolean;
  /** 0 send retained, 1 only for a new subscription, 2 never [3.7.2.2] */
  retainHandling: 0 | 1 | 2;
  packetId: number;
} & FilterRef;

export interface SubackPacket {
  type: 'SUBACK';
  topicType: AliasType;
  packetId: number;
  topicAlias?: number;
  /** granted QoS (0x00-0x02) or failure; absent = 0x00 (AMBIG-4: the server always sends it) */
  reasonCode?: number;
}

export type UnsubscribePacket = {
  type: 'UNSUBSCRIBE';
  packetId: number;
} & FilterRef;

export interface UnsubackPacket {
  type: 'UNSUBACK';
  packetId: number;
  reasonCode?: number;
}

/** [3.11]: a Packet Identifier and no Client Identifier (1.2's PINGREQ had one). */
export interface PingreqPacket {
  type: 'PINGREQ';
  packetId: number;
}

export interface PingrespPacket {
  type: 'PINGRESP';
  packetId: number;
  /** 0 none, 1-254 a count, 255 unknown but more than 0 [3.12.3] (AMBIG-5) */
  appMessagesRemaining?: number;
}

export interface DisconnectPacket {
  type: 'DISCONNECT';
  /** a server's echo of an offending packet's id, e.g. with 0xF4 [3.13.3] */
  packetId?: number;
  /** sent by clients only (MQTT-SN-3.13.5-1) */
  sessionExpiryInterval?: number;
  /** absent = 0x00 Normal disconnection */
  reasonCode?: number;
  /** present exactly when non-empty on the wire; allowed without a Reason Code (AMBIG-6) */
  reasonString?: string;
}

export interface SleepreqPacket {
  type: 'SLEEPREQ';
  /** Retain T: keep Session Topic Aliases while asleep [3.15.2.1] */
  retainTopicAliases: boolean;
  packetId: number;
  /** seconds; must be > 0, decoded as sent so the server can refuse 0 */
  sleepDuration: number;
}

export interface SleeprespPacket {
  type: 'SLEEPRESP';
  packetId: number;
  /** the server's own duration, only if the CONNECT allowed suggested values [3.16.2.1] */
  sleepDuration?: number;
  reasonCode?: number;
}

export interface WakeupPacket {
  type: 'WAKEUP';
}

/** [3.6.1]: Publish Without Session, QoS 0 semantics, predefined alias or name only. */
export type PubwosPacket = {
  type: 'PUBWOS';
  retain: boolean;
  payload: Buffer;
} & ({ topicType: 'predefined'; topicAlias: number } | { topicType: 'name'; topicName: string });

export interface AdvertisePacket {
  type: 'ADVERTISE';
  gatewayId: number;
  /** seconds to the next ADVERTISE */
  duration: number;
}

export interface SearchgwPacket {
  type: 'SEARCHGW';
  /** e.g. a ZigBee radius; present exactly when non-empty (1.2's mandatory Radius became optional) */
  additionalNetworkInfo?: Buffer;
}

export interface GwinfoPacket {
  type: 'GWINFO';
  gatewayId: number;
  /** only when a client answers for a gateway; present exactly when non-empty */
  gatewayAddress?: Buffer;
}

/**
 * Forwarder Encapsulation (0xFC) [3.19]: its Length covers the whole packet, inner packet
 * included (unlike 1.2's 0xFE). `packet` is the inner packet, undecoded: demultiplex and decode
 * it on its own.
 */
export interface ForwarderEncapsulationPacket {
  type: 'FORWARDER_ENCAPSULATION';
  /** opaque to the server, echoed when it answers (at most 255 bytes) */
  clientAddressingInfo: Buffer;
  packet: Buffer;
}

/** Connection Encapsulation (0xFE) [3.18]: re-binds a VC to a new address. `packet` undecoded. */
export interface ConnectionEncapsulationPacket {
  type: 'CONNECTION_ENCAPSULATION';
  clientId: string;
  packet: Buffer;
}

/**
 * Protection Encapsulation (0xFF) [3.17]. The codec frames it only: no key, no crypto. Under an
 * AEAD scheme `protectedPacket` is ciphertext. The tag size follows from `authTagLengthCode`
 * and `protectionScheme` ({@link authTagLength}); where the provider defines it the codec cannot
 * split packet from tag and refuses the frame (`MQTTSN_ERR_UNSUPPORTED`).
 */
export interface ProtectionEncapsulationPacket {
  type: 'PROTECTION_ENCAPSULATION';
  /** Protection Flags bits 7-4 */
  authTagLengthCode: number;
  protectionScheme: number;
  /** 8 bytes */
  senderId: Buffer;
  /** 4 bytes */
  random: Buffer;
  /** 2, 4 or 12 bytes when present */
  cryptoMaterial?: Buffer;
  /** 2 or 4 bytes when present */
  monotonicCounter?: Buffer;
  protectedPacket: Buffer;
  authTag: Buffer;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | AuthPacket
  | RegisterPacket
  | RegackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | SleepreqPacket
  | SleeprespPacket
  | WakeupPacket
  | PubwosPacket
  | AdvertisePacket
  | SearchgwPacket
  | GwinfoPacket
  | ForwarderEncapsulationPacket
  | ConnectionEncapsulationPacket
  | ProtectionEncapsulationPacket;

export type PacketName = Packet['type'];
export type PacketOf<T extends PacketName> = Extract<Packet, { type: T }>;

/** What a decoded 2.0 packet remembers of its wire form beyond its fields. */
export type Decoded = Packet & LongLengthHint;

/**
 * DISCONNECT with both Session Expiry Interval and Reason Code (AMBIG-7): Fig 3-23 puts the
 * interval first and is followed by default; Paho and Maps-Messaging put the Reason Code first.
 */
export interface CodecOptions {
  disconnectReasonCodeFirst?: boolean;
}
