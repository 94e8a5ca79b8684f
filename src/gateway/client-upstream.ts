/**
 * The port through which a transparent bridge gives every MQTT-SN client its own upstream
 * connection (MQTT-SN.md §3, "transparent gateway"). The gateway defines it and the bridge
 * implements it, so neither imports the other: the composition in `index.ts` plugs one into the
 * other. Without a port the gateway is aggregating: it meets the broker core.
 *
 * What changes in the gateway with a port:
 * - CONNACK waits for the upstream CONNACK (a refusal becomes 0x03, a broker away 0x01);
 * - PUBACK / PUBREC wait for the upstream's PUBACK / PUBCOMP;
 * - SUBSCRIBE and UNSUBSCRIBE are answered once the upstream answered them;
 * - a lost client's will is published by the upstream broker, from the will its connection
 *   carries, when the gateway drops that connection without DISCONNECT.
 */
import type { SubQoS } from '../codec/index.js';

export interface UpstreamWill {
  topic: string;
  payload: Buffer;
  qos: SubQoS;
  retain: boolean;
}

/** What a client's upstream connection is opened with, from its CONNECT (and will). */
export interface ClientConnectRequest {
  /** the MQTT-SN client id; the bridge may prefix it upstream */
  clientId: string;
  cleanSession: boolean;
  keepAliveSec: number;
  will: UpstreamWill | undefined;
  /** the session goes on (a sleeper's CONNECT without will): a standing connection is kept whatever the clean-session flag */
  resume?: boolean;
  /** subscriptions the session already holds (a session restored at start): made again upstream when its session is gone */
  subscriptions?: ReadonlyArray<{ filter: string; qos: SubQoS }>;
}

export interface UpstreamPublish {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** Where the messages of a client's upstream subscriptions go: the gateway's queue for that client. */
export interface ClientUpstreamSink {
  /** `done` once the message is the gateway's (queued, and stored when there is a store): the upstream ack waits for it */
  message(msg: UpstreamPublish, done: () => void): void;
}

/**
 * - `accepted`: the upstream broker said CONNACK 0
 * - `refused`: it refused the client (credentials, client id, ACL): retrying will not help
 * - `unavailable`: it could not be reached or said "server unavailable": try later
 */
export type ClientConnectOutcome = 'accepted' | 'refused' | 'unavailable';

/** A publish the upstream would never take (a service's limits): the client is told 0x03, not "later". */
export type PublishOutcome = 'accepted' | 'refused';

export interface ClientUpstream {
  /**
   * Makes sure the client has a connection with these parameters: an open one is reused when
   * nothing that needs a new one changed (clean session asks for a fresh upstream session).
   * `persistent` (a session restored at start): no answer is waited for; the connection is
   * retried with backoff until it stands.
   */
  connect(req: ClientConnectRequest, sink: ClientUpstreamSink, persistent?: boolean): Promise<ClientConnectOutcome>;
  /**
   * Publishes on the client's connection (or, for `clientId` undefined, on the gateway's own one:
   * QoS -1). Resolves once the upstream acknowledged (QoS 1: PUBACK, QoS 2: PUBCOMP) or the
   * message was written (QoS 0); rejects while the connection is down.
   */
  publish(clientId: string | undefined, msg: UpstreamPublish): Promise<PublishOutcome>;
  /** Resolves with the QoS the upstream granted, or 128 for a refusal; rejects while the connection is down. */
  subscribe(clientId: string, filter: string, qos: SubQoS): Promise<number>;
  /** Resolves once the upstream answered (or at once while the connection is down: the filter is forgotten all the same). */
  unsubscribe(clientId: string, filter: string): Promise<void>;
  /**
   * Ends the client's connection. `graceful` sends DISCONNECT (the upstream discards the will);
   * otherwise the socket is dropped, and the upstream publishes the will the way it does for any
   * client that vanished.
   */
  disconnect(clientId: string, graceful: boolean): void;
}

/** A publish the upstream would never take; the handlers answer it with 0x03 (not supported). */
export class PublishRefusedError extends Error {
  constructor(topic: string) {
    super(`the upstream refuses messages on ${JSON.stringify(topic)}`);
    this.name = 'PublishRefusedError';
  }
}
