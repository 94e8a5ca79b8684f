/**
 * What the message handlers see of the gateway: its parts and a few operations. The handlers
 * stay free of transports, sockets and timers they did not get from here.
 */
import type { BrokerCore } from '../broker/types.js';
import type { Clock } from '../clock.js';
import type { Packet } from '../codec/index.js';
import type { Logger } from '../logger.js';
import type { PredefinedTopics } from '../topics/registry.js';
import type { TopicTrie } from '../topics/trie.js';
import type { Authorizer } from './auth.js';
import type { ByteBudget } from './delivery-queue.js';
import type { PeerRateLimiter } from './rate-limit.js';
import type { Session } from './session.js';
import type { Persistence } from './persistence.js';
import type { GatewayStats, RefusalReason } from './stats.js';
import type { Delivery, GatewayOptions, Link } from './types.js';
import type { Uplink, UplinkSink } from '../uplink/port.js';

export interface GatewayCore {
  readonly options: GatewayOptions;
  readonly clock: Clock;
  readonly broker: BrokerCore;
  readonly logger: Logger;
  readonly stats: GatewayStats;
  /** replaced whole by a reload (SIGHUP); read it on every use, never keep it */
  readonly predefined: PredefinedTopics;
  /** the session store, or no-ops without one */
  readonly persistence: Persistence;
  /** every session by client id */
  readonly sessions: Map<string, Session>;
  /** sessions by the key of the peer they are reached at */
  readonly byPeer: Map<string, Session>;
  /** subscriptions of every session, for the broker fan-out */
  readonly subscriptions: TopicTrie<Session>;
  /** `auth`, compiled; replaced whole by a reload, so read it on every use, never keep it */
  readonly auth: Authorizer;
  /** where clients' connections, publishes and subscriptions go: the broker core, or (transparent mode) each client's own upstream connection */
  readonly uplink: Uplink;
  /** `limits.rate`, one bucket map per request kind */
  readonly rates: {
    readonly connect: PeerRateLimiter;
    /** keyed by `Peer.address ?? Peer.key`: all source ports of one host share it */
    readonly connectByAddress: PeerRateLimiter;
    readonly register: PeerRateLimiter;
    readonly publish: PeerRateLimiter;
    /** keyed by client id: each will update may reopen an upstream connection */
    readonly willUpdate: PeerRateLimiter;
  };

  /** bytes waiting in the queues of every session together (`limits.maxBufferedBytesTotal`) */
  readonly buffered: ByteBudget;
  /** sessions whose will exchange is under way (`limits.maxPendingConnects`) */
  readonly pendingConnects: { readonly count: number };

  /** Counts a refusal and logs it, at most one line per reason every few seconds (a flood must not flood the log). */
  refused(reason: RefusalReason, why: string, fields: object): void;

  /** Encodes and sends; a failure is counted and logged, never thrown. */
  send(link: Link, packet: Packet): void;
  /** Creates a session for a client id (the caller checked the session limit). */
  createSession(clientId: string): Session;
  /** Points a session at a new link, unbinding the old peer. */
  bind(session: Session, link: Link): void;
  /** Removes a session and everything it subscribed. */
  dropSession(session: Session): void;
  /** Restarts the supervision timer for the session's state (keep-alive or sleep). */
  supervise(session: Session): void;
  /** The client is gone without a DISCONNECT: publish its will, state `lost`. */
  lose(session: Session, reason: string): void;
  /** Queues a message for a client and sends it when the client can take it. */
  enqueue(session: Session, delivery: Delivery): void;
  /** Sends what is queued while the client is reachable; ends a wake with PINGRESP. */
  pump(session: Session): void;
  /**
   * Publishes through the uplink for the sender; resolves when it is accepted. Rejects with
   * `PublishRefusedError` for what the uplink would never take.
   */
  publish(delivery: Delivery, from: Session | undefined): Promise<void>;
  /** Where the messages of the client's own uplink connection go (transparent mode has them). */
  uplinkSink(session: Session): UplinkSink;
}
