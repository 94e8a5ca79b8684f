/**
 * The node's protocol-neutral vocabulary: what a node means to say to its gateway (an
 * {@link Intent}) and what it heard back (an {@link Event}), and the {@link Wire} that turns the
 * one into bytes and bytes into the other for one protocol version. The node engine (node.ts,
 * publish.ts, topic-requests.ts, inbound.ts, ...) speaks only this vocabulary; wire/v12.ts and
 * wire/v2.ts know MQTT-SN 1.2 and 2.0 (OASIS CSD01).
 *
 * Names follow 1.2's packets where both versions have the packet, so the engine reads as the
 * spec does. Topic references use 1.2's shapes: a `normal` id is 1.2's registered topic id and
 * 2.0's Session Topic Alias (the same thing: a number the gateway gave this session), `inline` is
 * a full topic name inside PUBLISH (1.2: QoS -1 only; 2.0: any QoS), `short` exists only in 1.2.
 */
import type { DecodeError, PublishTopic, QoS, SubQoS, SubscriptionTopic } from '../../src/codec/index.js';
import type { Verdict } from '../../src/waitress.js';
import type { Will } from '../node-types.js';

/** The protocol versions a node speaks: MQTT-SN 1.2 and MQTT-SN 2.0 (OASIS CSD01). */
export type ProtocolVersion = '1.2' | '2';
export const PROTOCOL_VERSIONS: readonly ProtocolVersion[] = ['1.2', '2'];

/**
 * A gateway's answer code, read by the wire module of its version: 1.2's Return Code
 * (MQTT-SN.md §1.4) or a 2.0 Reason Code (CSD01 [2.3]), with what it means to the node.
 */
export interface Result {
  /** the code on the wire */
  code: number;
  meaning: 'accepted' | 'congestion' | 'invalid-topic' | 'not-supported' | 'rejected';
  /** the code's name in its version's table, for messages */
  name: string;
}

/** MQTT-BASIC user name and password (CSD01 [4.11]); 2.0 only. */
export interface Credentials {
  username: string;
  password: Buffer | string;
}

/** What the node says to the gateway; the wire module of the node's version encodes it. */
export type Intent =
  | { type: 'SEARCHGW'; radius: number }
  | {
      type: 'CONNECT';
      clientId: string;
      cleanStart: boolean;
      keepAlive: number;
      will: Will | undefined;
      /** seconds; 2.0 only (1.2 sessions end with a clean CONNECT, never by time) */
      sessionExpiry: number | undefined;
      auth: Credentials | undefined;
      msgId?: number;
    }
  | { type: 'REGISTER'; msgId: number; topicName: string }
  | { type: 'REGACK'; msgId: number; topicId: number }
  | { type: 'PUBLISH'; dup: boolean; qos: QoS; retain: boolean; msgId: number; payload: Buffer; topic: PublishTopic }
  /** the node's answer to a gateway PUBLISH (a refusal when `invalidTopic`) */
  | { type: 'PUBACK'; msgId: number; topicId: number; invalidTopic: boolean }
  | { type: 'PUBREC'; msgId: number }
  | { type: 'PUBREL'; msgId: number }
  | { type: 'PUBCOMP'; msgId: number }
  | { type: 'SUBSCRIBE'; dup: boolean; qos: SubQoS; msgId: number; topic: SubscriptionTopic }
  | { type: 'UNSUBSCRIBE'; msgId: number; topic: SubscriptionTopic }
  /** keep-alive */
  | { type: 'PINGREQ'; msgId?: number }
  /** the gateway's keep-alive, answered (1.2) */
  | { type: 'PINGRESP' }
  /** asleep -> awake: collect what the gateway buffered */
  | { type: 'WAKE'; clientId: string | undefined; msgId?: number }
  | { type: 'SLEEP'; duration: number; msgId?: number }
  /** `withWill`: ask the gateway to publish the will (2.0 Reason Code 0x04) */
  | { type: 'DISCONNECT'; withWill: boolean }
  /** 1.2 only (§4.4); a 2.0 client changes its will by connecting again */
  | { type: 'WILLTOPICUPD'; will: Will | undefined }
  | { type: 'WILLMSGUPD'; payload: Buffer };

export type IntentType = Intent['type'];
export type IntentOf<T extends IntentType> = Extract<Intent, { type: T }>;

/** What the gateway said, as the node's wire module read it. */
export type Event =
  | { type: 'CONNACK'; result: Result; sessionPresent: boolean; msgId?: number; assignedClientId?: string; keepAlive?: number }
  | { type: 'REGISTER'; msgId: number; topicId: number; topicName: string }
  | { type: 'REGACK'; msgId: number; topicId: number; predefined: boolean; result: Result }
  | { type: 'PUBLISH'; dup: boolean; qos: QoS; retain: boolean; msgId: number; payload: Buffer; topic: PublishTopic }
  | { type: 'PUBACK'; msgId: number; result: Result }
  | { type: 'PUBREC'; msgId: number; result: Result }
  | { type: 'PUBREL'; msgId: number }
  | { type: 'PUBCOMP'; msgId: number }
  | { type: 'SUBACK'; msgId: number; topicId: number; predefined: boolean; grantedQos: SubQoS; result: Result }
  | { type: 'UNSUBACK'; msgId: number }
  | { type: 'PINGREQ' }
  | { type: 'PINGRESP'; msgId?: number }
  /** 1.2's answer to a sleep or a disconnect, or the gateway ending the connection (either version) */
  | { type: 'DISCONNECT'; duration?: number; result?: Result }
  | { type: 'SLEEPRESP'; msgId: number; result: Result }
  /** 2.0: the gateway holds messages for a sleeping node (a hint, CSD01 [3.14]) */
  | { type: 'WAKEUP' }
  | { type: 'AUTH'; msgId: number; result: Result }
  | { type: 'WILLTOPICREQ' }
  | { type: 'WILLMSGREQ' }
  | { type: 'WILLTOPICRESP'; result: Result }
  | { type: 'WILLMSGRESP'; result: Result }
  | { type: 'GWINFO'; gwId: number }
  | { type: 'ADVERTISE'; gwId: number }
  | { type: 'SEARCHGW' }
  /** a packet no gateway sends to a client (a CONNECT, a SUBSCRIBE, an encapsulation, ...) */
  | { type: 'OTHER'; name: string };

export type EventType = Event['type'];

/** The request kinds that have an answer to wait for, and how a version matches it. */
export type Answered = IntentOf<'SEARCHGW' | 'CONNECT' | 'REGISTER' | 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PINGREQ' | 'WAKE' | 'SLEEP' | 'DISCONNECT' | 'WILLTOPICUPD' | 'WILLMSGUPD'>;

/** One protocol version on the wire. */
export interface Wire {
  readonly version: ProtocolVersion;
  /** Bytes of `intent`; throws SimError BAD_ARGUMENT for what this version cannot carry. */
  encode(intent: Intent): Buffer;
  decode(frame: Buffer): Event | DecodeError;
  /** the intents that carry a packet identifier in this version beyond 1.2's (CSD01 [2.2]) */
  numbered(type: IntentType): boolean;
  /**
   * How the gateway answers `intent` (undefined: it does not, e.g. a 2.0 DISCONNECT [3.13]).
   * A verdict may move the exchange on (1.2's will requests during CONNECT).
   */
  answer(intent: Answered): ((e: Event) => Verdict<Buffer>) | undefined;
  /** retransmissions of `intent` allowed (undefined: N_RETRY); 2.0 never retransmits a CONNECT (MQTT-SN-4.4.2-1) */
  maxRetries(type: IntentType): number | undefined;
  /** packet type bytes this version leaves reserved, for the misbehaving profile */
  readonly reservedTypes: readonly number[];
}
