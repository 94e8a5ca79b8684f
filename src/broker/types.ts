/**
 * The broker core as the rest of the gateway sees it: the meeting point of MQTT-SN sessions,
 * local MQTT clients (optional TCP listener) and the upstream bridge. Nothing here names aedes,
 * so the gateway and the bridge can be tested against a double.
 */

import type { Message } from '../message.js';

/** A message inside the broker core: the one message shape, and who owns it when it is retained. */
export interface BrokerMessage extends Message {
  /**
   * Who is charged for it when it sets a retained message (the local broker's per-client cap):
   * the MQTT-SN client's id. Absent: the origin's (bridge, store), counted in the totals only.
   */
  readonly owner?: string | undefined;
}

/** Origin tag of messages published by clients of the TCP listener. */
export const MQTT_LISTENER_ORIGIN = 'mqtt';

export type BrokerHandler = (msg: BrokerMessage, origin: string | undefined) => void;

export interface BrokerCore {
  /**
   * Publish into the local broker (retained handling included: retain with an empty payload
   * clears the topic's retained message, MQTT 3.1.1 §3.3.1.3). Resolves once the broker has
   * accepted and dispatched it. `origin` is an opaque tag (e.g. 'mqttsn', 'bridge') that
   * in-process subscribers get back, so the bridge can avoid loops. `topic` must be a valid topic
   * name: callers check names where they come in, not on every message.
   */
  publish(msg: BrokerMessage, origin?: string): Promise<void>;
  /**
   * Subscribe in-process to a filter; the handler gets each message with its origin tag
   * ('mqtt' for messages from TCP listener clients, `undefined` for untagged ones). `retain` is
   * as published (like MQTT 5 "retain as published"), so the bridge can forward it; a live
   * delivery to an MQTT(-SN) client clears it itself (MQTT 3.1.1 §3.3.1.3). A filter starting
   * with a wildcard gets no topic starting with '$' ([MQTT-4.7.2-1]). The handler runs inside the
   * broker's dispatch: it must not throw and should not block. Returns an unsubscribe function.
   */
  subscribe(filter: string, handler: BrokerHandler): Promise<() => Promise<void>>;
  /** The retained messages that match a filter (for delivery after SUBACK), with `retain` set. */
  retained(filter: string): Promise<BrokerMessage[]>;
  /** Addresses of the TCP listeners actually bound (port 0 resolves to the real port). */
  readonly listeners: ReadonlyArray<{ host: string; port: number }>;
  /** Closes listeners, client connections and the broker. Safe to call twice. */
  close(): Promise<void>;
}
