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

/** Where a client is reached: the transport it spoke on and the peer there. */
export interface Link {
  transport: Transport;
  peer: Peer;
}

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
