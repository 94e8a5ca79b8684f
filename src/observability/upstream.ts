/**
 * What the metrics and health endpoints need to know about the upstream bridge, as a small
 * interface the bridge implements (or a function that adapts it), so observability never
 * imports the bridge and the bridge never imports observability.
 */

export interface UpstreamStatus {
  /**
   * The upstream broker is reachable now. Aggregating mode: its one connection is up.
   * Transparent mode: the bridge decides (e.g. every device connection that should be up is).
   */
  readonly connected: boolean;
  /** messages waiting for the upstream (the outbound queue), 0 when it is empty */
  readonly queueDepth: number;
  /** the most the queue keeps before it drops; undefined when it has no bound */
  readonly queueLimit?: number;
  /** bytes (topics and payloads) in the queue, when the bridge counts them */
  readonly queueBytes?: number;
  /** the most bytes the queue keeps */
  readonly queueBytesLimit?: number;
  /** upstream connections open now, for transparent mode (one per device) */
  readonly connections?: number;
  /** messages the bridge sent upstream, since start */
  readonly sent?: number;
  /** messages the bridge took from upstream, since start */
  readonly received?: number;
  /** messages the bridge dropped (queue full, rejected), since start */
  readonly dropped?: number;
  /** messages not sent upstream because their topic is no MQTT topic name, since start */
  readonly invalidTopic?: number;
  /** messages set aside because the upstream closed the connection right after each, time after time, since start */
  readonly setAside?: number;
  /** what the bridge did to keep a hosted service's rules, when it follows an upstream profile */
  readonly profile?: ProfileCounters;
}

/** Counters of a bridge that follows an upstream profile (`upstream.profile`), since start. */
export interface ProfileCounters {
  /** the profile's name: aws-iot, azure-iot-hub, adafruit-io */
  readonly name: string;
  /** messages not sent because the service would refuse them */
  readonly refused: number;
  /** messages sent at the service's lower QoS ceiling */
  readonly qosDowngraded: number;
  /** QoS 0 messages shed because the service's publish rate had no room for them within a short wait */
  readonly droppedRateLimited: number;
  /** waiting messages replaced by a newer one of the same upstream topic */
  readonly coalesced: number;
  /** retain flags cleared for a service that keeps no retained messages */
  readonly retainDropped: number;
  /** throttle notices the service sent */
  readonly throttled: number;
  /** connections renewed before their token expired */
  readonly tokenRenewals: number;
}

/**
 * Read on every scrape and health check: it must be cheap (read counters, never ask the
 * network) and must not throw.
 */
export type UpstreamStatusProvider = () => UpstreamStatus;

/** Why an upstream status makes the gateway not ready, or undefined when it is fine. */
export function upstreamProblem(s: UpstreamStatus): string | undefined {
  if (s.connected) return undefined;
  // Transparent mode keeps no queue: without the upstream no device can connect.
  if (s.connections !== undefined) return 'upstream disconnected: in transparent mode devices cannot connect until it is back';
  // Disconnected but still queueing is the store-and-forward the bridge exists for: ready.
  if (s.queueLimit !== undefined && s.queueDepth >= s.queueLimit) {
    return `upstream disconnected and its queue is full (${s.queueDepth} of ${s.queueLimit} messages)`;
  }
  if (s.queueBytes !== undefined && s.queueBytesLimit !== undefined && s.queueBytes >= s.queueBytesLimit) {
    return `upstream disconnected and its queue is full (${s.queueBytes} of ${s.queueBytesLimit} bytes)`;
  }
  return undefined;
}

/** What `Bridge.status()` says, as far as metrics and health need it. */
export interface BridgeStatusLike {
  connected: boolean;
  profile?: string | undefined;
  queue: { messages: number; bytes: number; maxMessages: number; maxBytes: number };
  /** transparent mode: the devices' own connections */
  clients?: { total: number; connected: number } | undefined;
  counters: {
    sent: number;
    received: number;
    droppedQueueFull: number;
    droppedOffline: number;
    droppedCongested: number;
    droppedInbound: number;
    refusedInvalidTopic?: number;
    setAside?: number;
    refusedByProfile?: number;
    qosDowngraded?: number;
    droppedRateLimited?: number;
    coalesced?: number;
    retainDropped?: number;
    throttled?: number;
    tokenRenewals?: number;
  };
}

/** The provider for a bridge: reads its status, which only copies counters it keeps. */
export function bridgeStatusProvider(bridge: { status(): BridgeStatusLike }): UpstreamStatusProvider {
  return () => {
    const s = bridge.status();
    const c = s.counters;
    return {
      connected: s.connected,
      queueDepth: s.queue.messages,
      // Transparent mode has no queue (devices keep what is not acknowledged) but a connection each.
      ...(s.clients === undefined
        ? { queueLimit: s.queue.maxMessages, queueBytes: s.queue.bytes, queueBytesLimit: s.queue.maxBytes }
        : { connections: s.clients.connected }),
      sent: c.sent,
      received: c.received,
      dropped: c.droppedQueueFull + c.droppedOffline + c.droppedCongested + c.droppedInbound,
      ...(c.refusedInvalidTopic === undefined ? {} : { invalidTopic: c.refusedInvalidTopic }),
      ...(c.setAside === undefined ? {} : { setAside: c.setAside }),
      ...(s.profile === undefined
        ? {}
        : {
            profile: {
              name: s.profile,
              refused: c.refusedByProfile ?? 0,
              qosDowngraded: c.qosDowngraded ?? 0,
              droppedRateLimited: c.droppedRateLimited ?? 0,
              coalesced: c.coalesced ?? 0,
              retainDropped: c.retainDropped ?? 0,
              throttled: c.throttled ?? 0,
              tokenRenewals: c.tokenRenewals ?? 0,
            },
          }),
    };
  };
}
