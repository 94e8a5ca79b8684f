/** The bridge as the rest of the gateway sees it, whatever the mode. */
import type { UpstreamMode } from '../config/upstream.js';
import type { BridgeErrorCode } from './errors.js';
import type { Uplink } from '../uplink/port.js';

/** Origin tag of messages the bridge publishes into the broker core: they never go up again. */
export const BRIDGE_ORIGIN = 'bridge';

/**
 * - `connecting`: the first attempt since start is under way
 * - `connected`: CONNACK 0 received; messages flow
 * - `reconnecting`: the connection failed or was lost; attempts continue with backoff
 * - `stopped`: closed
 */
export type UpstreamState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface BridgeCounters {
  /** messages sent upstream (QoS 1/2 counted once, when first sent) */
  sent: number;
  /** QoS 1/2 messages the upstream acknowledged */
  acked: number;
  /** QoS 1/2 messages sent again after a connection dropped before their ack */
  resent: number;
  /** messages from upstream published into the broker core */
  received: number;
  /** QoS 1/2 messages dropped because the queue was full (the oldest go first) */
  droppedQueueFull: number;
  /** QoS 0 messages dropped because the upstream was not connected */
  droppedOffline: number;
  /** QoS 0 messages dropped because the connection's socket buffer was full */
  droppedCongested: number;
  /** messages the upstream profile refused because the service would not take them (see the log) */
  refusedByProfile: number;
  /** messages not sent upstream because their upstream topic is not an MQTT topic name (wildcards, U+0000): the upstream would close the connection over one */
  refusedInvalidTopic: number;
  /** QoS 1/2 messages taken out of the queue because the upstream closed the connection right after them, time after time (see the log) */
  setAside: number;
  /** transparent mode: CONNECTs refused because the device's upstream client id is the gateway's own */
  refusedIdCollision: number;
  /** transparent mode: CONNECTs and will updates answered 0x01 because upstream.maxConnections were open */
  refusedConnectionCap: number;
  /** messages sent at a lower QoS than they came with because the service's profile caps it */
  qosDowngraded: number;
  /** QoS 0 messages dropped because the profile's publish rate had no room for them within a short wait (QoS 1/2 wait instead) */
  droppedRateLimited: number;
  // The four below are kept by bridges with an upstream profile (optional, so a bridge without
  // profiles need not carry them).
  /** QoS 1/2 messages replaced, while waiting for the profile's budget, by a newer one on the same upstream topic (adafruit-io: newest value per feed) */
  coalesced: number;
  /** messages sent without their retain flag because the service keeps no retained messages */
  retainDropped: number;
  /** throttle notices from the service; publishing paused for the time each asked */
  throttled: number;
  /** connections renewed before their credentials (a SAS token) expired */
  tokenRenewals: number;
  /** messages from upstream that the broker core refused (see the log) */
  droppedInbound: number;
  /** our own messages that came back from upstream and were not delivered again */
  echoes: number;
  /** connections established */
  connects: number;
  /** attempts that failed before CONNACK 0 */
  connectFailures: number;
  /** established connections that ended without us closing them */
  disconnects: number;
}

/** Every counter at 0, for a bridge that starts. */
export function zeroCounters(): BridgeCounters {
  return {
    sent: 0,
    acked: 0,
    resent: 0,
    received: 0,
    droppedQueueFull: 0,
    droppedOffline: 0,
    droppedCongested: 0,
    refusedByProfile: 0,
    refusedInvalidTopic: 0,
    setAside: 0,
    refusedIdCollision: 0,
    refusedConnectionCap: 0,
    qosDowngraded: 0,
    droppedRateLimited: 0,
    coalesced: 0,
    retainDropped: 0,
    throttled: 0,
    tokenRenewals: 0,
    droppedInbound: 0,
    echoes: 0,
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
  };
}

export interface BridgeStatus {
  mode: UpstreamMode;
  /** the upstream broker, as configured (URLs carry no credentials) */
  url: string;
  clientId: string;
  /** the upstream profile (`upstream.profile`) the bridge follows, if any */
  profile?: string;
  state: UpstreamState;
  connected: boolean;
  /** when the current state began (wall clock, ISO 8601) */
  since: string;
  /** how long the current state has lasted, in ms */
  forMs: number;
  /** failed attempts since the last successful connection */
  attempts: number;
  /** while reconnecting: the wait before the next attempt, in ms (undefined while one runs) */
  nextAttemptInMs: number | undefined;
  /** why the last attempt failed or the last connection ended */
  lastError: { code: BridgeErrorCode; message: string; at: string } | undefined;
  queue: {
    /** QoS 1/2 messages waiting or in flight */
    messages: number;
    bytes: number;
    /** sent and not yet acknowledged */
    inFlight: number;
    maxMessages: number;
    maxBytes: number;
  };
  counters: BridgeCounters;
  /** transparent mode: the clients' own upstream connections */
  clients?: { total: number; connected: number };
}

export interface Bridge {
  readonly mode: UpstreamMode;
  /** Whether the upstream connection is up: a gateway may advertise only while it is. */
  readonly connected: boolean;
  /**
   * Subscribes to the broker core and starts connecting. Resolves without waiting for the
   * upstream: the gateway works without it, and messages for it are queued.
   * @throws ConfigError when a secret's environment variable is unset or a TLS file unreadable
   */
  start(): Promise<void>;
  /** Stops taking messages, gives what is in flight a moment to be acknowledged, disconnects. Idempotent. */
  close(): Promise<void>;
  status(): BridgeStatus;
  /** Calls `listener` whenever `connected` changes; returns the unsubscribe function. */
  onConnectedChange(listener: (connected: boolean) => void): () => void;
  /**
   * The gateway's uplink when the bridge answers for each client (transparent mode). Absent in
   * aggregating mode: the bridge sits behind the broker core, which is the gateway's uplink.
   */
  readonly uplink?: Uplink;
}
