/**
 * Typed MQTT-SN v1.2 messages: one interface per message, a discriminated union on `type`.
 *
 * Buffers in decoded packets (`payload`, `willMsg`, `gwAdd`, `wirelessNodeId`, `message`) are
 * views into the bytes given to `decode`, not copies. They stay valid while the caller does not
 * reuse that input buffer; a transport hands each frame over in its own buffer, so a packet may
 * be kept as long as needed. Copy a view before writing into the input buffer again.
 */

import type { LongLengthHint } from './framing.js';

/** QoS of a PUBLISH: -1 is "publish without connection" (flags bits 0b11). */
export type QoS = -1 | 0 | 1 | 2;
/** QoS where -1 has no meaning: SUBSCRIBE, SUBACK, WILLTOPIC. */
export type SubQoS = 0 | 1 | 2;
export type TopicIdType = 'normal' | 'predefined' | 'short';

export interface AdvertisePacket {
  type: 'ADVERTISE';
  gwId: number;
  /** seconds until the next ADVERTISE */
  duration: number;
}

export interface SearchGwPacket {
  type: 'SEARCHGW';
  radius: number;
}

export interface GwInfoPacket {
  type: 'GWINFO';
  gwId: number;
  /** present only when a client answers for a gateway; never empty */
  gwAdd?: Buffer;
}

export interface ConnectPacket {
  type: 'CONNECT';
  will: boolean;
  cleanSession: boolean;
  /** 0x01 for v1.2; other values are decoded so the gateway can refuse them with CONNACK 0x03 */
  protocolId: number;
  /** keep-alive in seconds */
  duration: number;
  clientId: string;
}

export interface ConnackPacket {
  type: 'CONNACK';
  returnCode: number;
}

export interface WillTopicReqPacket {
  type: 'WILLTOPICREQ';
}

/**
 * `willTopic: null` is the empty 2-byte form (`02 07`), which deletes the will; qos and retain
 * are then 0 and false. Paho clients delete it with flags and a zero-length topic instead, which
 * decodes as `willTopic: ''`.
 */
export interface WillTopicPacket {
  type: 'WILLTOPIC';
  qos: SubQoS;
  retain: boolean;
  willTopic: string | null;
}

export interface WillMsgReqPacket {
  type: 'WILLMSGREQ';
}

export interface WillMsgPacket {
  type: 'WILLMSG';
  willMsg: Buffer;
}

export interface RegisterPacket {
  type: 'REGISTER';
  /** 0x0000 from a client; the assigned id from a gateway */
  topicId: number;
  /** 1.2 reserves 0 only for QoS 0/-1 PUBLISH, but clients send it here (`mqttsn`); it is echoed */
  msgId: number;
  topicName: string;
}

export interface RegackPacket {
  type: 'REGACK';
  topicId: number;
  msgId: number;
  returnCode: number;
}

/** How a PUBLISH names its topic. */
export type PublishTopic =
  | { topicIdType: 'normal'; topicId: number }
  | { topicIdType: 'predefined'; topicId: number }
  /** exactly two bytes of UTF-8, carried in the TopicId field */
  | { topicIdType: 'short'; topicName: string }
  /**
   * Not v1.2: Paho's `qos-1pub_extended`, QoS -1 only, wire TopicIdType 0b00 with the name's
   * length in the TopicId field and the name before the data. Decoded so a gateway can choose to
   * accept it; a strict gateway drops it.
   */
  | { topicIdType: 'inline'; topicName: string };

export type PublishPacket = {
  type: 'PUBLISH';
  dup: boolean;
  qos: QoS;
  retain: boolean;
  /** 0 for QoS 0 and -1; 1..65535 for QoS 1 and 2 */
  msgId: number;
  payload: Buffer;
} & PublishTopic;

export interface PubackPacket {
  type: 'PUBACK';
  topicId: number;
  /** 0 is legal here: the error PUBACK to a QoS 0 PUBLISH echoes its msgId 0 */
  msgId: number;
  returnCode: number;
}

export interface PubrecPacket {
  type: 'PUBREC';
  msgId: number;
}

export interface PubrelPacket {
  type: 'PUBREL';
  msgId: number;
}

export interface PubcompPacket {
  type: 'PUBCOMP';
  msgId: number;
}

/** How a SUBSCRIBE or UNSUBSCRIBE names its topic: a name (maybe with wildcards), a predefined id or a short name. */
export type SubscriptionTopic =
  | { topicIdType: 'normal'; topicName: string }
  | { topicIdType: 'predefined'; topicId: number }
  | { topicIdType: 'short'; topicName: string };

export type SubscribePacket = {
  type: 'SUBSCRIBE';
  dup: boolean;
  /**
   * The requested QoS. -1 (bits 0b11) means nothing in a SUBSCRIBE, but clients send it
   * (`mqtt-sn-12`); it is decoded so that the gateway can answer it instead of staying silent.
   */
  qos: QoS;
  msgId: number;
} & SubscriptionTopic;

export interface SubackPacket {
  type: 'SUBACK';
  qos: SubQoS;
  topicId: number;
  msgId: number;
  returnCode: number;
}

export type UnsubscribePacket = {
  type: 'UNSUBSCRIBE';
  msgId: number;
} & SubscriptionTopic;

export interface UnsubackPacket {
  type: 'UNSUBACK';
  msgId: number;
}

export interface PingreqPacket {
  type: 'PINGREQ';
  /** present only when a sleeping client wakes up (§6.14) */
  clientId?: string;
}

export interface PingrespPacket {
  type: 'PINGRESP';
}

export interface DisconnectPacket {
  type: 'DISCONNECT';
  /** present only when the client goes to sleep; seconds */
  duration?: number;
}

/** Same shape and empty form as WILLTOPIC. */
export interface WillTopicUpdPacket {
  type: 'WILLTOPICUPD';
  qos: SubQoS;
  retain: boolean;
  willTopic: string | null;
}

export interface WillTopicRespPacket {
  type: 'WILLTOPICRESP';
  returnCode: number;
}

export interface WillMsgUpdPacket {
  type: 'WILLMSGUPD';
  willMsg: Buffer;
}

export interface WillMsgRespPacket {
  type: 'WILLMSGRESP';
  returnCode: number;
}

/**
 * Forwarder encapsulation (0xFE): a complete MQTT-SN message relayed for the wireless node
 * `wirelessNodeId`. `message` is the inner frame, undecoded; decode it on its own.
 */
export interface EncapsulatedPacket {
  type: 'ENCAPSULATED';
  /** Ctrl bits 1-0: how far the forwarder broadcasts (gateway to forwarder) */
  radius: number;
  wirelessNodeId: Buffer;
  message: Buffer;
}

export type Packet =
  | AdvertisePacket
  | SearchGwPacket
  | GwInfoPacket
  | ConnectPacket
  | ConnackPacket
  | WillTopicReqPacket
  | WillTopicPacket
  | WillMsgReqPacket
  | WillMsgPacket
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
  | WillTopicUpdPacket
  | WillTopicRespPacket
  | WillMsgUpdPacket
  | WillMsgRespPacket
  | EncapsulatedPacket;

export type PacketType = Packet['type'];
export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;

/**
 * What a decoded packet remembers of its wire form beyond its fields, so that re-encoding it gives
 * back the same bytes. Packets built by code never set these; `encode` then writes the canonical form.
 */
export interface LengthFormHint extends LongLengthHint {
  /**
   * The Flags byte as received, kept only when it set bits this message does not use. MQTT-SN 1.2
   * §5.3.4 says those are ignored on receipt (`mqttsn` sets 0x04 in PUBLISH and SUBSCRIBE), so the
   * fields ignore them; `encode` puts the same unused bits back.
   */
  rawFlags?: number;
}
