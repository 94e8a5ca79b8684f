/**
 * AWS IoT Core, from its published MQTT limits ("AWS IoT Core message broker and protocol limits
 * and quotas"): QoS 0 and 1 only, 128 KB payloads, topics of at most 256 bytes and 7 slashes,
 * 100 publishes per second per connection, 50 subscriptions per connection, 8 filters per SUBSCRIBE.
 * Breaking any of these gets the connection closed, not the one message refused, so the bridge
 * keeps under them itself.
 */
import type { UpstreamProfile } from './types.js';

/** Reconnect attempts at least this far apart (AWS IoT: one CONNECT per second per client id)... */
export const AWS_RECONNECT_FLOOR_MS = 1500;
/** ...plus up to this much at random. */
export const AWS_RECONNECT_JITTER_MS = 500;

export const awsIotProfile: UpstreamProfile = {
  name: 'aws-iot',
  service: 'AWS IoT Core',
  maxQos: 1,
  maxPayloadBytes: 128 * 1024,
  maxTopicBytes: 256,
  maxTopicSlashes: 7,
  // Basic Ingest's mandatory segments do not count towards the 7.
  ignoredTopicPrefix: { pattern: /^\$aws\/rules\/[^/]+\//i, slashes: 3 },
  // burst + one second of refill (75) stays below 100 in any 1 s window with room to spare:
  // the service counts arrivals, and network or event-loop stalls bunch them up.
  publishRate: { perSecond: 70, burst: 5 },
  maxSubscriptions: 50,
  filtersPerSubscribe: 8,
  // One CONNECT per second per client id: a connection that drops right after it came up must
  // not be opened again within the second (the backoff alone starts at 0.5-1 s). 1.5-2 s leaves
  // room for handshakes that take longer one time than the next.
  reconnectFloorMs: AWS_RECONNECT_FLOOR_MS,
  reconnectJitterMs: AWS_RECONNECT_JITTER_MS,
};
