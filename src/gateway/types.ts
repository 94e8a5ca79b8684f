/** Options and small shared types of the gateway core. */
import type { Peer, Transport } from '../transport/types.js';
import type { AuthOptions } from './auth.js';
import type { BucketOptions } from '../token-bucket.js';
import type { Message } from '../message.js';

/**
 * The gateway's part of the configuration. The config layer owns the defaults and hands this
 * over fully defaulted (a `GatewayConfig` is one).
 */
export interface GatewayOptions {
  /** GwId in ADVERTISE and GWINFO */
  gatewayId: number;
  /** predefined topic ids shared by every client: `{ "1": "sensors/boot" }` */
  predefinedTopics: Record<string, string>;
  qosMinusOne: {
    /** accept Paho's non-standard QoS -1 PUBLISH with an inline topic name */
    inlineTopicNames: boolean;
  };
  limits: {
    /** sessions of all states together; CONNECT beyond it gets CONNACK 0x01 */
    maxSessions: number;
    /** sessions in the will exchange (half-open) together; a CONNECT with a will beyond it gets CONNACK 0x01 */
    maxPendingConnects: number;
    /** normal topic ids per client; REGISTER / SUBSCRIBE beyond it get 0x01 */
    maxRegistrationsPerClient: number;
    /** subscriptions per client; SUBSCRIBE beyond it gets SUBACK 0x01 */
    maxSubscriptionsPerClient: number;
    /** messages kept for a client that sleeps or is away; the oldest is dropped when full */
    sleepBufferMessages: number;
    /** messages queued for an awake client behind the one in flight; the oldest is dropped when full */
    maxInflightQueue: number;
    /** payload and topic bytes queued for all clients together; beyond it nothing more is buffered for a sleeping or absent client */
    maxBufferedBytesTotal: number;
    /** longest topic name or filter a client may REGISTER, SUBSCRIBE or give as will topic, in UTF-8 bytes */
    maxTopicBytes: number;
    /** topic bytes (plus a fixed overhead per entry) registered and subscribed by all sessions together */
    maxTopicBytesTotal: number;
    /** QoS 2 message ids of one client received and awaiting PUBREL; a new one beyond it gets PUBACK 0x01 */
    maxQos2AwaitingPubrel: number;
    /** a kept session whose client is disconnected or lost is forgotten this long after it was last heard; 0: never */
    sessionExpirySec: number;
    /** a connected client with keep-alive 0 that is not on the allow-list is lost after this long silent; 0: never */
    idleSessionSec: number;
    /** token buckets per peer key, and per network address (`Peer.address ?? Peer.key`) */
    rate: {
      /** `underPressure`: buckets refuse only while {@link GatewayOptions.limits.pressure} says so; `always`: whenever empty */
      enforce: 'underPressure' | 'always';
      connectPerPeer: BucketOptions;
      connectPerAddress: BucketOptions;
      registerPerPeer: BucketOptions;
      publishPerPeer: BucketOptions;
      willUpdatePerClient: BucketOptions;
      /** frames of any kind per network address, checked before decoding, only under pressure */
      datagramsPerAddress: BucketOptions;
    };
    /** thresholds past which the gateway counts as under pressure (see admission.ts) */
    pressure: {
      sessionsPercent: number;
      pendingConnectsPercent: number;
      connectsPerSecond: number;
      eventLoopLagMs: number;
      bufferedBytesPercent: number;
    };
  };
  auth: AuthOptions;
  timers: {
    /** T_RETRY */
    retryMs: number;
    /** N_RETRY */
    maxRetries: number;
    /** a client silent for this many keep-alive (or sleep) periods is lost */
    keepAliveFactor: number;
    /** T_ADV; 0 sends no ADVERTISE */
    advertiseIntervalSec: number;
    /** a will dance not finished within this is abandoned */
    connectTimeoutMs: number;
  };
}

/** Where a client is reached: the transport it spoke on, the peer there, and the version it speaks. */
export interface Link {
  transport: Transport;
  peer: Peer;
  /**
   * Present exactly when the peer speaks MQTT-SN 2.0 (wire-v2.ts): what is sent on this link is
   * then translated to 2.0 and encoded by the 2.0 codec, in `GatewayCore.send` and nowhere else.
   */
  v2?: V2Link;
}

/**
 * The 2.0 facts of one client's link that a 1.2-shaped answer lacks: the Packet Identifiers a
 * CONNACK and a PINGRESP echo (MQTT-SN-2.2-4; their 1.2 forms carry none), and the Client
 * Identifier the gateway assigned. The same object follows the client's frames from its address.
 */
export interface V2Link {
  /** of the last CONNECT from this peer */
  connectId: number;
  /** of the last PINGREQ from this peer */
  pingId: number;
  /** assigned for a CONNECT with an empty Client Identifier; CONNACK must carry it (MQTT-SN-3.2.11-2) */
  assignedClientId?: string | undefined;
  /** what the client's pending requests named, by Packet Identifier, for the 2.0-only fields of their answers */
  readonly asked: Map<number, AskedTopic>;
  /** the Packet Identifier of the client's request the gateway has not answered yet (one in flight, [4.9]) */
  pending?: number | undefined;
  /** the authentication method of the last CONNECT, which CONNACK names again (MQTT-SN-4.11.1-5) */
  authMethod?: string | undefined;
}

/** How a SUBSCRIBE or REGISTER named its topic, which decides the Topic Type of SUBACK / REGACK [3.5.2.1, 3.8.2.1]. */
export type AskedTopic =
  /** SUBSCRIBE by a predefined alias: SUBACK returns no alias (MQTT-SN-3.8.4-3) */
  | 'predefinedAlias'
  /** a name that has a predefined alias: that alias comes back, Topic Type 01 (MQTT-SN-4.7.2.2-2, -5) */
  | 'predefinedName'
  /** a wildcard filter: no alias, Topic Type 01 (MQTT-SN-3.8.2.1-2) */
  | 'wildcard'
  /** a topic name (or a session alias of one): a session alias comes back */
  | 'name';

/** A message on its way to one client. */
export interface Delivery extends Message {
  /** its entry in the session store, while it is stored */
  seq?: number | undefined;
  /** the MsgId and QoS stage once sent; a resend (after a restart too) reuses the MsgId */
  sent?: { msgId: number; stage: 'puback' | 'pubrec' | 'pubcomp' } | undefined;
  /**
   * Told once the gateway is finished with the message (the client acknowledged it, or it was
   * dropped): the transparent uplink's upstream ack waits for it. Never stored: a delivery
   * restored from the store has none, and the upstream broker sends its copy again anyway.
   */
  settled?: (() => void) | undefined;
}
