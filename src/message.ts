/**
 * An MQTT application message, the one shape every layer hands on: the broker core, the uplink
 * port (both bridge modes), the upstream queue in the store. A will is the same thing, published
 * for a client that vanishes (MQTT 3.1.1 §3.1.2.5). A leaf module: it imports nothing, so every
 * layer may use it without breaking DESIGN's layer rules.
 */

export type QoS = 0 | 1 | 2;

/**
 * Read-only: the same object may be handed to every in-process subscriber of a message (no copy
 * per subscriber on the hot path).
 */
export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
}

export type Will = Message;
