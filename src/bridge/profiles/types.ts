/** What a hosted MQTT service allows, as the bridge enforces it before the service has to. */

type QoS = 0 | 1 | 2;

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
  readonly maxSubscriptions: number;
  readonly filtersPerSubscribe: number;
}
