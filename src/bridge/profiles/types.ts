/** What a hosted MQTT service allows, as the bridge enforces it before the service has to. */

type QoS = 0 | 1 | 2;

/** What the bridge does with a message from upstream that the profile claims. */
export type ProfileInbound =
  /** deliver it into the broker core under this topic */
  | { readonly kind: 'local'; readonly topic: string }
  /** the service asks the bridge to stop publishing for `pauseMs` (its notice is logged) */
  | { readonly kind: 'throttle'; readonly pauseMs: number; readonly notice: string }
  /** a notice of the service about something the bridge did (logged, nothing else) */
  | { readonly kind: 'notice'; readonly notice: string };

export interface UpstreamProfile {
  readonly name: string;
  /** the service as people call it, for log lines */
  readonly service: string;
  /** higher QoS goes up at this QoS, counted */
  readonly maxQos: QoS;
  readonly maxPayloadBytes: number;
  /** bytes of the UTF-8 topic */
  readonly maxTopicBytes: number;
  /** `/` in a topic, not counting those of `ignoredTopicPrefix` */
  readonly maxTopicSlashes: number;
  /** a prefix whose slashes the service does not count (AWS Basic Ingest: `$aws/rules/<rule>/`) */
  readonly ignoredTopicPrefix?: { pattern: RegExp; slashes: number };
  /** outbound PUBLISH pacing: the bucket refills at `perSecond`, holds at most `burst` */
  readonly publishRate: { readonly perSecond: number; readonly burst: number };
  /**
   * A budget counted over a sliding window instead of the bucket: at most `max` PUBLISH in any
   * `windowMs`. A bucket cannot keep "30 a minute" without a burst allowance breaking it.
   */
  readonly publishWindow?: { readonly max: number; readonly windowMs: number };
  readonly maxSubscriptions: number;
  readonly filtersPerSubscribe: number;
  /** 'drop': the service does not keep retained messages, so the flag is cleared (counted) */
  readonly retain?: 'carry' | 'drop';
  /** while messages wait for the publish budget, a newer one on the same upstream topic replaces the waiting one */
  readonly coalescePerTopic?: boolean;
  /** no reconnect attempt comes sooner than this after the last one ended (services ban fast reconnectors) */
  readonly reconnectFloorMs?: number;
  /** up to this much is added at random to the floor, so that the floor is not a beat the service can count */
  readonly reconnectJitterMs?: number;
  /** an established connection is renewed (closed cleanly and opened again) after this long: its credentials expire */
  readonly renewConnectionAfterMs?: number;
  /** the upstream topic for a topic the rules send up, or why the service could not take it */
  mapOutbound?(topic: string): { topic: string } | { refused: string };
  /** subscriptions the profile needs besides those of the inbound rules */
  readonly subscriptions?: ReadonlyArray<{ filter: string; qos: 0 | 1 }>;
  /** a message from upstream the profile handles itself; undefined: the topic rules decide */
  inbound?(topic: string, payload: Buffer): ProfileInbound | undefined;
}
