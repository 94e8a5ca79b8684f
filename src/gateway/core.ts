/**
 * What the message handlers see of the gateway: its parts and a few operations. The handlers
 * stay free of transports, sockets and timers they did not get from here.
 */
import type { BrokerCore } from '../broker/types.js';
import type { Clock } from '../clock.js';
import type { Packet, v2 } from '../codec/index.js';
import type { Logger } from '../logger.js';
import type { PredefinedTopics, TopicBudget } from '../topics/registry.js';
import type { TopicTrie } from '../topics/trie.js';
import type { Authorizer } from './auth.js';
import type { Admission } from './admission.js';
import type { BufferBudget, Session } from './session.js';
import type { PasswordChecker, PasswordGate } from './password-gate.js';
import type { Persistence } from './persistence.js';
import type { GatewayStats, RefusalReason } from './stats.js';
import type { Delivery, GatewayOptions, Link } from './types.js';
import type { Uplink, UplinkSink } from '../uplink/port.js';

export interface GatewayCore {
  readonly options: GatewayOptions;
  readonly clock: Clock;
  readonly broker: BrokerCore;
  readonly logger: Logger;
  /** per-client lines a peer drives (connected, asleep, awake, lost...): a budget per kind and window, peer text bounded */
  readonly clientLog: Pick<Logger, 'info' | 'warn'>;
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
  /** `limits.rate`, one bucket map per request kind; they refuse only under pressure unless `enforce` is "always" */
  readonly rates: Admission['rates'];
  /** pressure, fair share per address, and which idle session makes room in a full table */
  readonly admission: Admission;

  /** bytes waiting in the queues of every session together (`limits.maxBufferedBytesTotal`) */
  readonly buffered: BufferBudget;
  /** bytes of topic names and filters registered and subscribed by every session (`limits.maxTopicBytesTotal`) */
  readonly topicBytes: TopicBudget;
  /** sessions whose will exchange is under way (`limits.maxPendingConnects`) */
  readonly pendingConnects: { readonly count: number };

  /** Counts a refusal and logs it, at most one line per reason every few seconds (a flood must not flood the log). */
  refused(reason: RefusalReason, why: string, fields: object): void;

  /** Users and passwords for 2.0 MQTT-BASIC (the local listener's password file), read at each CONNECT; undefined: none configured */
  readonly passwords: () => PasswordChecker | undefined;
  /** bounds how many MQTT-BASIC checks run and wait at once */
  readonly passwordGate: PasswordGate;

  /**
   * Encodes and sends in the link's version: a packet to a 2.0 link is translated (wire-v2.ts),
   * `v2Reason` its Reason Code there when the 1.2 return code says less. A failure is counted and
   * logged, never thrown.
   */
  send(link: Link, packet: Packet, v2Reason?: number): void;
  /** Sends a packet that only 2.0 has (SLEEPRESP, DISCONNECT with a Reason Code...) to a 2.0 link. */
  sendV2(link: Link, packet: v2.Packet): void;
  /** Creates a session for a client id (the caller checked the session limit). */
  createSession(clientId: string): Session;
  /** Points a session at a new link, unbinding the old peer. */
  bind(session: Session, link: Link): void;
  /** Removes a session and everything it subscribed. */
  dropSession(session: Session): void;
  /** Restarts the supervision timer for the session's state (keep-alive, sleep or, absent, session expiry). */
  supervise(session: Session): void;
  /** Drops the session absent longest (limits.maxSessions reached); false when no session is absent. */
  evictOldestAbsent(): boolean;
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
