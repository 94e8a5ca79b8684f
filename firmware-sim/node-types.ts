/**
 * The simulated node's public vocabulary: its states, the options of its verbs, what they
 * resolve with, the events it emits and the observer a run's statistics attach.
 */
import type { Clock } from '../src/clock.js';
import type { DecodeError, PublishTopic, QoS, SubQoS } from '../src/codec/index.js';
import type { SimError } from './errors.js';
import type { Link } from './link.js';
import type { Credentials, Event, ProtocolVersion } from './wire/types.js';

export type { Credentials, ProtocolVersion };

export type NodeState = 'disconnected' | 'connecting' | 'active' | 'asleep' | 'awake' | 'lost' | 'closed';

/** The request kinds a node times; publish kinds carry their QoS. */
export type RequestKind =
  | 'search'
  | 'connect'
  | 'register'
  | 'subscribe'
  | 'unsubscribe'
  | 'publish-1'
  | 'publish0'
  | 'publish1'
  | 'publish2'
  | 'ping'
  | 'sleep'
  | 'wake'
  | 'disconnect'
  | 'willupdate';

export interface Will {
  topic: string;
  payload: Buffer | string;
  qos?: SubQoS;
  retain?: boolean;
}

export interface ConnectOptions {
  /** 1..23 characters in v1.2 (MQTT-SN.md §1.5); default the node's `clientId` */
  clientId?: string;
  /** default true (2.0: Clean Start) */
  cleanSession?: boolean;
  /** keep-alive in seconds; 0 disables the node's pings (1.2 only: 2.0 forbids 0, MQTT-SN-3.1.6-4); default 60 */
  keepAlive?: number;
  /** 1.2: the WILLTOPICREQ / WILLMSGREQ dance (§4.3); 2.0: inside CONNECT [3.1.3] */
  will?: Will;
  /**
   * 2.0 Session Expiry Interval in seconds [3.1.9]; ignored by 1.2. Default: 0 with a clean session
   * (it ends with the connection), 0xFFFFFFFF (never) without one, as a 1.2 session lasts.
   */
  sessionExpiry?: number;
  /** 2.0 only: MQTT-BASIC user name and password in CONNECT [4.11] */
  auth?: Credentials;
}

export interface DisconnectOptions {
  /** 2.0: DISCONNECT with Reason Code 0x04, the gateway publishes the will [3.13]; 1.2 cannot */
  withWill?: boolean;
}

/** How a PUBLISH names its topic: exactly one of these. */
export type PublishTarget =
  /** a topic name: registered first if the node has no id for it yet (§4.6) */
  | { topic: string }
  /** a normal id the node got from REGISTER or SUBACK */
  | { topicId: number }
  /** a two-character short topic name (§4.5) */
  | { shortName: string }
  /** a predefined id configured on both sides (§4.5) */
  | { predefinedId: number }
  /**
   * the full name inside the PUBLISH, no REGISTER (2.0 [2.4] at any QoS; 1.2 only at QoS -1); the
   * node's alias for the name goes instead when it holds one (2.0 MQTT-SN-4.7.2-1)
   */
  | { topicName: string };

export type PublishOptions = PublishTarget & {
  payload?: Buffer | string;
  /** default 0 */
  qos?: QoS;
  retain?: boolean;
};

export interface PublishResult {
  /** 0 for QoS 0 and -1 */
  msgId: number;
  /** from the first transmission to PUBACK / PUBCOMP (0 for QoS 0 and -1) */
  latencyMs: number;
  /** retransmissions it took (DUP=1 copies and PUBREL repeats) */
  retransmissions: number;
}

export type SubscribeTarget = string | { topic: string } | { shortName: string } | { predefinedId: number };

export interface SubscribeResult {
  /** the id the gateway will use (wildcard-free names, predefined); 0 for wildcards and short names (§4.9) */
  topicId: number;
  grantedQos: SubQoS;
}

/** A PUBLISH the node delivered to the application. */
export interface SimMessage {
  /** the topic name; undefined for a predefined id the node has no name for */
  topic: string | undefined;
  topicIdType: PublishTopic['topicIdType'];
  /** the wire topic id (normal or predefined); 0 for short and inline names */
  topicId: number;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  msgId: number;
}

/**
 * What a run's statistics see of a node. Every method is optional to call sites: a node without
 * an observer pays nothing.
 */
export interface NodeObserver {
  /** a request (or a publish of any QoS) left for the first time */
  sent(kind: RequestKind): void;
  /** its answer came after `ms` */
  done(kind: RequestKind, ms: number): void;
  /** it failed with an error code (timeout, rejection, lost gateway, ...) */
  failed(kind: RequestKind, code: string): void;
  /** a publish that never left: no connection, no topic id (the registration failed), ... */
  refused(kind: RequestKind, code: string): void;
  retransmitted(kind: RequestKind): void;
  /** a PUBLISH delivered to the application */
  received(msg: SimMessage): void;
  /** a QoS 2 PUBLISH the node had already delivered (not delivered again, §4.7) */
  duplicate(msg: SimMessage): void;
  /** a frame that did not decode, or a packet nothing expected */
  unexpected(what: Event | DecodeError): void;
}

export interface ReconnectOptions {
  /** first wait after the gateway is lost; doubles up to `maxDelayMs`, with jitter; default 1000 */
  initialDelayMs?: number;
  /** default 30000 */
  maxDelayMs?: number;
}

export interface DiscoveryOptions {
  /** SEARCHGW radius (§4.2); default 0 (the whole network) */
  radius?: number;
  /** give up after this; default 30000 */
  timeoutMs?: number;
  /** random wait before the first SEARCHGW, T_SEARCHGW (§4.13, 5 s in the spec); default 0 */
  jitterMs?: number;
  /** first repeat interval, doubled after each repeat; default 1000 */
  repeatMs?: number;
}

export interface SimNodeOptions {
  link: Link;
  /** the MQTT-SN version the node speaks; default '1.2' */
  protocol?: ProtocolVersion;
  /** default client id of `connect` and of the wake-up PINGREQ */
  clientId?: string;
  clock?: Clock;
  /** T_RETRY in ms (§4.13: 10-15 s); default 10000 */
  retryMs?: number;
  /** N_RETRY (§4.13: 3-5); default 3 */
  maxRetries?: number;
  /** predefined ids known to this node, for naming incoming PUBLISHes */
  predefinedTopics?: ReadonlyMap<number, string> | Record<number, string>;
  /** find the gateway by SEARCHGW before connecting, and again after it is lost (§4.11) */
  discover?: boolean | DiscoveryOptions;
  /** reconnect after the gateway is lost; default on */
  reconnect?: boolean | ReconnectOptions;
  observer?: NodeObserver;
  /** [0, 1) source for jitter; default Math.random (seed it for reproducible runs) */
  random?: () => number;
}

export interface SimNodeEvents {
  message: [SimMessage];
  state: [NodeState, NodeState];
  /** the gateway is gone (N_RETRY exhausted, or it sent DISCONNECT on its own) */
  lost: [SimError];
  reconnected: [];
  /** the gateway announced a topic id (REGISTER from the gateway, §4.6) */
  register: [{ topicId: number; topicName: string }];
  gateway: [{ gwId: number; from: string | undefined }];
  /** 2.0: the gateway holds messages for this sleeping node (WAKEUP, a hint [3.14]) */
  wakeup: [];
}
