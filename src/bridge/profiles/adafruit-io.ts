/**
 * Adafruit IO, from its MQTT API documentation: user name = the Adafruit IO user, password = the
 * AIO key; data goes to `{user}/feeds/{feed key}`, feed keys being lowercase letters, digits and
 * "-" (a group's feed: `group-key.feed-key`); QoS 0 and 1. Every client of an account shares one
 * budget of data points per minute (30 free, 60 IO Plus); over it the service drops data and
 * publishes a notice on `{user}/throttle` ("... N seconds until throttle released"), and going
 * over it often, or authenticating too often, gets the client banned for a while (CONNACK 6/7).
 * Errors about what a client published come on `{user}/errors`.
 */
import type { AdafruitSettings } from '../../config/profiles.js';
import type { ProfileInbound, UpstreamProfile } from './types.js';

/**
 * Reconnect attempts at least this far apart, plus up to ADAFRUIT_RECONNECT_JITTER_MS: the service
 * takes at most 20 connections per minute per user (and throttles authentications); 4-5 s apart
 * makes at most 15 a minute, room left for the user's other clients and for bunched arrivals.
 */
export const ADAFRUIT_RECONNECT_FLOOR_MS = 4000;
export const ADAFRUIT_RECONNECT_JITTER_MS = 1000;
/** How long to hold off when a throttle notice names no duration. */
const DEFAULT_THROTTLE_MS = 60_000;

/**
 * The feed key for a topic: lowercase, "/" replaced by the separator (with "." only the first,
 * naming a group), anything else outside [a-z0-9-] replaced by "-".
 */
export function feedKey(topic: string, separator: '-' | '.'): string {
  const levels = topic
    .toLowerCase()
    .split('/')
    .map((l) => l.replace(/[^a-z0-9-]+/g, '-'));
  if (separator === '.' && levels.length > 1) return `${levels[0]}.${levels.slice(1).join('-')}`;
  return levels.join('-');
}

/** The wait a throttle notice asks for ("... 17 seconds until throttle released"), in ms. */
export function throttlePauseMs(notice: string): number {
  const m = /(\d+(?:\.\d+)?)\s*seconds?/i.exec(notice);
  return m === null ? DEFAULT_THROTTLE_MS : Math.max(1000, Math.ceil(Number(m[1]) * 1000));
}

export function adafruitIoProfile(user: string, s: AdafruitSettings): UpstreamProfile {
  const throttle = `${user}/throttle`;
  const errors = `${user}/errors`;
  const windowMs = s.budgetWindowSec * 1000;
  return {
    name: 'adafruit-io',
    service: 'Adafruit IO',
    maxQos: 1,
    // The MQTT documentation gives no size limit; this only keeps back payloads far beyond what a
    // feed value is meant to be (text, usually a few bytes) rather than have the service drop them.
    maxPayloadBytes: 100 * 1024,
    maxTopicBytes: 65_535,
    maxTopicSlashes: Number.POSITIVE_INFINITY,
    publishRate: { perSecond: s.dataPointsPerMinute / 60, burst: 1 },
    // Arrivals bunch up on the way (the service counts when they arrive, not when they left):
    // a window a little longer than the service's keeps two sends a window apart on arrival too.
    publishWindow: { max: s.dataPointsPerMinute, windowMs: windowMs + Math.max(100, windowMs * 0.05) },
    maxSubscriptions: 100,
    filtersPerSubscribe: 10,
    // The service keeps each feed's last value itself and does not hold MQTT retained messages.
    retain: 'drop',
    coalescePerTopic: s.keepNewestPerFeed,
    reconnectFloorMs: ADAFRUIT_RECONNECT_FLOOR_MS,
    reconnectJitterMs: ADAFRUIT_RECONNECT_JITTER_MS,
    mapOutbound(topic) {
      const key = feedKey(topic, s.feedKeySeparator);
      if (!/[a-z0-9]/.test(key)) return { refused: `the topic ${JSON.stringify(topic)} makes no usable feed key` };
      return { topic: s.feedTemplate.replaceAll('{user}', user).replaceAll('{topic}', key) };
    },
    subscriptions: [
      { filter: throttle, qos: 0 },
      { filter: errors, qos: 0 },
    ],
    inbound(topic, payload): ProfileInbound | undefined {
      if (topic === throttle) {
        const notice = payload.toString('utf8');
        return { kind: 'throttle', pauseMs: throttlePauseMs(notice), notice };
      }
      if (topic === errors) return { kind: 'notice', notice: payload.toString('utf8') };
      return undefined;
    },
  };
}
