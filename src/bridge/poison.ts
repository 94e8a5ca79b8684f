/**
 * A "poison" message: one the upstream answers by closing the connection. MQTT 3.1.1 has no
 * negative PUBACK, so a broker closes the connection over a packet it will not take (mosquitto over
 * one larger than its max_packet_size, any broker over a wildcard in a PUBLISH topic). Sent again
 * first on every new connection, such a message closes each one and nothing behind it ever goes.
 * Both bridge modes notice closes right after a send and set the message aside.
 */

/** A connection the upstream closes this soon after a message went out may have been closed over that message. */
export const SUSPECT_WINDOW_MS = 5000;

/**
 * Closed this many times in a row right after the same message (alone in flight), it is set aside.
 * Two: one close can be the network's, two in a row right after the same message and nothing else
 * are the broker's answer to it.
 */
export const POISON_STRIKES = 2;
