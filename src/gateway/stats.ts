/**
 * Plain counters of the gateway core, cheap to bump on the hot path and read by the metrics
 * layer. Keys are stable: they become metric labels.
 */
import type { PacketType, v2 } from '../codec/index.js';

/** Why the gateway dropped or refused something: counted (`dropped`) and logged through its throttled log (`GatewayCore.refused`). */
export type RefusalReason =
  | 'decode'
  | 'unknownClient'
  | 'badState'
  | 'invalidTopic'
  | 'qosMinusOneRejected'
  /** the client answered the gateway's REGISTER with a refusal: that message is not delivered */
  | 'registerRefused'
  /**
   * the client never answered the gateway's REGISTER (N_RETRY): that message is dropped and the
   * topic treated as refused for it, the session kept (RIOT emcute, a full topic table)
   */
  | 'registerUnanswered'
  /** the client answered the gateway's PUBLISH with PUBACK 0x01..0x03: that message is lost to it */
  | 'clientRefused'
  | 'sleepBufferFull'
  | 'queueFull'
  | 'tooLarge'
  | 'retriesExhausted'
  | 'sendFailed'
  | 'congestion'
  /** refused by `auth`: not on the allow-list, wrong peer, denied by the ACL or the QoS -1 rules */
  | 'notAuthorized'
  /** a CONNECT refused because `auth.takeover` is "deny" */
  | 'takeoverRefused'
  /** over a per-peer or per-address token bucket (`limits.rate`) */
  | 'rateLimited'
  /** a frame dropped unread, before decoding: under pressure, over `limits.rate.datagramsPerAddress` */
  | 'shed'
  /** a session that did nothing since its CONNACK, ended to make room for a newcomer in a full table */
  | 'evictedIdle'
  /** not buffered for a sleeping or absent client: `limits.maxBufferedBytesTotal` reached */
  | 'bufferedBytesFull'
  /** a QoS 0 or -1 PUBLISH shed because the broker core is behind (`MAX_PUBLISH_BACKLOG` unsettled publishes) */
  | 'overloaded'
  /** a 2.0 feature the gateway does not serve (another protocol version, an AUTH method, Protection or 2.0 Forwarder / Connection Encapsulation), answered with its Reason Code or dropped */
  | 'unsupported'
  /** a 2.0 Protocol Error [4.12.1]: the client is told DISCONNECT 0x82 (or CONNACK 0x82) and its Virtual Connection ends */
  | 'protocolError';


/** Messages a client answers a gateway request with; their return codes are counted. */
export type RefusingMessage = 'REGACK' | 'PUBACK';

export interface GatewayStats {
  /** by type name; 1.2 and 2.0 share the names they have in common */
  packetsIn: Partial<Record<PacketType | v2.PacketName, number>>;
  packetsOut: Partial<Record<PacketType | v2.PacketName, number>>;
  /** PUBLISH received from clients, by QoS (-1, 0, 1, 2) */
  publishIn: Record<'-1' | '0' | '1' | '2', number>;
  /** PUBLISH sent to clients, by QoS */
  publishOut: Record<'0' | '1' | '2', number>;
  dropped: Partial<Record<RefusalReason, number>>;
  decodeErrors: Partial<Record<string, number>>;
  /** refusals by clients of what the gateway sent them, by message and return code ("0x03") */
  clientRefusals: Record<RefusingMessage, Partial<Record<string, number>>>;
  /** PUBLISH and PUBREL sent again after T_RETRY */
  retransmissions: number;
  willsPublished: number;
  /** absent kept sessions ended by `limits.sessionExpirySec`, or evicted, oldest first, at `limits.maxSessions` */
  sessionsEnded: { expired: number; evicted: number };
  /** taken away because `auth` no longer allows them (after a reload, or at a restore from the store) */
  revoked: { sessions: number; subscriptions: number; wills: number };
}

export function createStats(): GatewayStats {
  return {
    packetsIn: {},
    packetsOut: {},
    publishIn: { '-1': 0, '0': 0, '1': 0, '2': 0 },
    publishOut: { '0': 0, '1': 0, '2': 0 },
    dropped: {},
    decodeErrors: {},
    clientRefusals: { REGACK: {}, PUBACK: {} },
    retransmissions: 0,
    willsPublished: 0,
    sessionsEnded: { expired: 0, evicted: 0 },
    revoked: { sessions: 0, subscriptions: 0, wills: 0 },
  };
}

export function bump<K extends string>(counters: Partial<Record<K, number>>, key: K, by = 1): void {
  counters[key] = (counters[key] ?? 0) + by;
}
