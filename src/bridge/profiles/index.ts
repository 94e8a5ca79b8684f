/**
 * Profiles of hosted MQTT services: the limits a bridge to them must keep, and the pieces that
 * keep them (refusal of what the service would not take, a publish-rate bucket, subscription
 * batches). The aggregating bridge applies them; nothing here does I/O.
 */
import type { Clock } from '../../clock.js';
import type { UpstreamConfig } from '../../config/upstream.js';
import { adafruitIoProfile } from './adafruit-io.js';
import { awsIotProfile } from './aws-iot.js';
import { azureIotHubProfile, type AzureDevice } from './azure-iot-hub.js';
import type { BridgeCounters } from '../types.js';
import type { Message } from '../upstream.js';
import type { UpstreamProfile } from './types.js';
import { TokenBucket } from '../../token-bucket.js';

export type { ProfileInbound, UpstreamProfile } from './types.js';
export { awsIotProfile, AWS_RECONNECT_FLOOR_MS, AWS_RECONNECT_JITTER_MS } from './aws-iot.js';
export { adafruitIoProfile, ADAFRUIT_RECONNECT_FLOOR_MS, ADAFRUIT_RECONNECT_JITTER_MS, feedKey, throttlePauseMs } from './adafruit-io.js';
export { azureIotHubProfile, azureResourceUri, azureSasToken, azureUsername, parsePropertyBag, renewalLeadMs, type AzureDevice } from './azure-iot-hub.js';

type ProfileConfig = Pick<UpstreamConfig, 'profile'> & Partial<Pick<UpstreamConfig, 'url' | 'clientId' | 'username' | 'azure' | 'adafruit'>>;

/** The device an azure-iot-hub section speaks for: its hub and device id, defaults filled in. */
export function azureDevice(config: ProfileConfig): AzureDevice {
  return {
    hubHost: config.azure?.hubHost ?? (config.url === undefined ? '' : new URL(config.url).hostname),
    deviceId: config.azure?.deviceId ?? config.clientId ?? '',
  };
}

export function profileFor(config: ProfileConfig): UpstreamProfile | undefined {
  switch (config.profile) {
    case 'aws-iot':
      return awsIotProfile;
    case 'azure-iot-hub': {
      const s = config.azure ?? { sasLifetimeSec: 3600, topicProperty: 'topic' };
      return azureIotHubProfile(azureDevice(config), s, s.deviceKeyEnv !== undefined);
    }
    case 'adafruit-io':
      return adafruitIoProfile(config.username ?? '', {
        feedTemplate: '{user}/feeds/{topic}',
        feedKeySeparator: '-',
        dataPointsPerMinute: 30,
        budgetWindowSec: 60,
        keepNewestPerFeed: true,
        ...config.adafruit,
      });
    case undefined:
      return undefined;
  }
}

/**
 * The wait before a reconnect: the bridge's backoff, but never under the profile's floor plus its
 * jitter (`random` in [0, 1)). Both bridge modes wait through this.
 */
export function profileReconnectDelay(p: UpstreamProfile | undefined, backoffMs: number, random: () => number): number {
  if (p?.reconnectFloorMs === undefined) return backoffMs;
  return Math.max(backoffMs, Math.round(p.reconnectFloorMs + random() * (p.reconnectJitterMs ?? 0)));
}

/** What paces PUBLISH: a token bucket or a sliding-window budget. */
export interface Pacer {
  /** Whole sends allowed now. */
  available(): number;
  /** Takes `n` if there are; false (and nothing taken) otherwise. */
  take(n?: number): boolean;
  /** Milliseconds until one more send is allowed (0 when one is). */
  msUntilNext(): number;
}

export function pacerFor(clock: Clock, p: UpstreamProfile): Pacer {
  return p.publishWindow === undefined ? new TokenBucket(clock, p.publishRate) : new WindowBudget(clock, p.publishWindow);
}

/** At most `max` sends in any `windowMs`: the send times of the last `max` sends are kept. */
export class WindowBudget implements Pacer {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  /** send times, oldest first, at most `max` */
  readonly #sent: number[] = [];

  constructor(clock: Clock, o: { max: number; windowMs: number }) {
    this.#clock = clock;
    this.#max = o.max;
    this.#windowMs = o.windowMs;
  }

  available(): number {
    const since = this.#clock.now() - this.#windowMs;
    while (this.#sent.length > 0 && (this.#sent[0] ?? 0) <= since) this.#sent.shift();
    return this.#max - this.#sent.length;
  }

  take(n = 1): boolean {
    if (this.available() < n) return false;
    const now = this.#clock.now();
    for (let i = 0; i < n; i++) this.#sent.push(now);
    return true;
  }

  msUntilNext(): number {
    if (this.available() >= 1) return 0;
    return Math.max(1, (this.#sent[0] ?? 0) + this.#windowMs - this.#clock.now());
  }
}

/**
 * The SNI to send. MQTT.js sends the url's host when it is a name, but the profile should not
 * depend on that: a service that routes by SNI refuses the handshake without it.
 */
export function profileServername(config: Pick<UpstreamConfig, 'profile' | 'url' | 'tls'>): string | undefined {
  if (config.tls?.servername !== undefined) return config.tls.servername;
  if (profileFor(config) === undefined) return undefined;
  return new URL(config.url).hostname;
}

/** Why the service would refuse a message, or undefined when it may go up. */
export function refusalReason(p: UpstreamProfile, topic: string, payload: Buffer): string | undefined {
  if (payload.length > p.maxPayloadBytes) {
    return `the payload is ${payload.length} bytes; ${p.service} takes at most ${p.maxPayloadBytes}`;
  }
  const topicBytes = Buffer.byteLength(topic);
  if (topicBytes > p.maxTopicBytes) return `the topic is ${topicBytes} bytes; ${p.service} takes at most ${p.maxTopicBytes}`;
  let slashes = 0;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) slashes++;
  if (p.ignoredTopicPrefix?.pattern.test(topic) === true) slashes -= p.ignoredTopicPrefix.slashes;
  if (slashes > p.maxTopicSlashes) return `the topic has ${slashes} "/"; ${p.service} allows at most ${p.maxTopicSlashes}`;
  return undefined;
}

/**
 * A message as the service takes it: topic mapped, QoS capped, retain cleared (each counted in
 * `counters`), or why the service would refuse it. Both bridge modes shape through this.
 */
export function shapeOutbound(
  p: UpstreamProfile,
  msg: Message,
  counters: Pick<BridgeCounters, 'qosDowngraded' | 'retainDropped'>,
): Message | { refused: string } {
  let out = msg;
  if (p.mapOutbound !== undefined) {
    const mapped = p.mapOutbound(out.topic);
    if ('refused' in mapped) return mapped;
    out = { ...out, topic: mapped.topic };
  }
  const why = refusalReason(p, out.topic, out.payload);
  if (why !== undefined) return { refused: why };
  if (out.qos > p.maxQos) {
    counters.qosDowngraded++;
    out = { ...out, qos: p.maxQos };
  }
  if (out.retain && p.retain === 'drop') {
    counters.retainDropped++;
    out = { ...out, retain: false };
  }
  return out;
}

/** Splits subscriptions into what fits one connection, in SUBSCRIBE-sized batches, and what is left out. */
export function batchSubscriptions<T>(p: UpstreamProfile, subs: readonly T[]): { batches: T[][]; leftOut: T[] } {
  const kept = subs.slice(0, p.maxSubscriptions);
  const batches: T[][] = [];
  for (let i = 0; i < kept.length; i += p.filtersPerSubscribe) batches.push(kept.slice(i, i + p.filtersPerSubscribe));
  return { batches, leftOut: subs.slice(p.maxSubscriptions) };
}
