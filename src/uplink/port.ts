/**
 * The gateway's one uplink port: where a client's connection, publishes and subscriptions go
 * beyond the gateway (MQTT-SN.md §3). Both bridge modes implement it:
 *
 * - aggregating (and no upstream at all): the local broker core answers, at once
 *   (src/broker/uplink.ts); the bridge, if any, sits behind the broker core;
 * - transparent: each client's own upstream connection answers (src/bridge/transparent.ts):
 *   CONNACK waits for the upstream CONNACK, PUBACK / PUBREC for its PUBACK / PUBCOMP, SUBACK and
 *   UNSUBACK for its answers, and a lost client's will is published by the upstream broker.
 *
 * A leaf module, types only (and one error class, one predicate): the gateway, the broker and the bridge all
 * import it and nothing here imports them, so DESIGN's rule holds that the gateway never imports
 * the bridge and the bridge and broker never import the gateway.
 */

import type { Message, QoS, Will } from '../message.js';

export type { Message, QoS, Will };

/**
 * The value at once, or a promise of it. An answer the port has at hand is handed over
 * synchronously, so the aggregating gateway answers in the same turn as it always did.
 */
export type Answer<T> = T | Promise<T>;

/** What a client's connection is opened with, from its CONNECT (and will). */
export interface ClientConnectRequest {
  /** the MQTT-SN client id; the bridge may prefix it upstream */
  clientId: string;
  /** the session ends with the connection (1.2 CleanSession, 2.0 Session Expiry Interval 0) */
  cleanSession: boolean;
  /**
   * discard what a kept session holds before connecting (2.0 Clean Start [3.1.2.1]); undefined: as
   * `cleanSession` (1.2 has one flag for both)
   */
  cleanStart?: boolean | undefined;
  /**
   * the user name and password the client itself gave (2.0 MQTT-BASIC [4.11]): the upstream
   * broker authenticates the device with them (transparent mode)
   */
  credentials?: Credentials | undefined;
  keepAliveSec: number;
  will: Will | undefined;
  /** the session goes on (a sleeper's CONNECT without will): a standing connection is kept whatever the clean-session flag */
  resume?: boolean;
  /** subscriptions the session already holds (a session restored at start): made again upstream when its session is gone */
  subscriptions?: ReadonlyArray<{ filter: string; qos: QoS }>;
}

/** An MQTT user name and password (the password is bytes: MQTT-BASIC carries any [4.11]). */
export interface Credentials {
  username: string;
  password: Buffer;
}

/** Where the messages of a client's own connection go: the gateway's queue for that client. */
export interface UplinkSink {
  /**
   * `done` once the gateway is finished with the message: the client acknowledged it (PUBACK for
   * QoS 1, PUBREC for QoS 2: MQTT 3.1.1 §4.3.3, the receiver owns it from then on), or it was
   * dropped (a limit, a refused topic). The upstream ack waits for it, so a message held for a
   * sleeper stays the broker's until the sleeper has it. Never called when the session ends with
   * it unsent: the broker sends it again on the session's next connection.
   */
  message(msg: Message, done: () => void): void;
}

/**
 * - `accepted`: the client may go on (upstream CONNACK 0)
 * - `refused`: refused (client id, protocol, the gateway's own rules): retrying will not help
 * - `badCredentials`: the upstream said "bad user name or password" (MQTT 3.1.1 CONNACK 4)
 * - `notAuthorized`: the upstream said "not authorized" (CONNACK 5; mosquitto's answer to a wrong password too)
 * - `unavailable`: could not be reached or said "server unavailable": try later
 *
 * The two refusals with a cause are told apart so a 2.0 client hears it (CONNACK 0x86 / 0x87,
 * [Fig 2-7]); a 1.2 client gets 0x03 for all three.
 */
export type ConnectOutcome = 'accepted' | 'refused' | 'badCredentials' | 'notAuthorized' | 'unavailable';

/** Whether an outcome says "no, and retrying will not help". */
export function isRefusal(o: ConnectOutcome): o is 'refused' | 'badCredentials' | 'notAuthorized' {
  return o === 'refused' || o === 'badCredentials' || o === 'notAuthorized';
}

export interface Uplink {
  /**
   * Each client's connection is its own upstream MQTT connection under its client id (transparent
   * mode): opening it takes the client's broker session from wherever else it is open. Absent: false.
   */
  readonly clientConnections?: boolean;
  /**
   * Messages for the gateway's sessions that come through no client's own connection: the
   * broker core's, matched by the gateway against its sessions' subscriptions. The transparent
   * port has none (each client's come through its sink; taking the broker core's too would
   * deliver twice). Resolves with the function that stops them.
   */
  listen(deliver: (msg: Message) => void): Promise<() => Promise<void>>;
  /**
   * Makes sure the client has a connection with these parameters. `persistent` (a session
   * restored at start): no answer is waited for; the connection is retried until it stands.
   */
  connect(req: ClientConnectRequest, sink: UplinkSink, persistent?: boolean): Answer<ConnectOutcome>;
  /**
   * Publishes for the client (`clientId` undefined: QoS -1, no session). Resolves once accepted
   * (upstream: acknowledged); rejects with `PublishRefusedError` for what will never be taken, with
   * anything else for "not now".
   */
  publish(clientId: string | undefined, msg: Message): Promise<void>;
  /** The QoS granted, or 128 for a refusal; rejects for "not now". */
  subscribe(clientId: string, filter: string, qos: QoS): Answer<number>;
  /** Retained messages the gateway delivers after SUBACK; none where the upstream sends its own. */
  retained(filter: string): Promise<readonly Message[]>;
  /** Done once nothing of the filter follows (or at once where nothing is held). */
  unsubscribe(clientId: string, filter: string): Answer<void>;
  /**
   * Ends the client's connection. `graceful` (DISCONNECT): no will. Otherwise the client vanished
   * and `will`, if any, is published; a promise is returned when the port publishes it itself
   * (resolved once published), nothing when the upstream broker does.
   */
  disconnect(clientId: string, graceful: boolean, will?: Will): Promise<void> | undefined;
}

/** A publish the uplink would never take (a service's limits): the client is told 0x03, not "later". */
export class PublishRefusedError extends Error {
  constructor(topic: string) {
    super(`the upstream refuses messages on ${JSON.stringify(topic)}`);
    this.name = 'PublishRefusedError';
  }
}
