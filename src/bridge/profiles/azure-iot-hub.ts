/**
 * Azure IoT Hub, from "Communicate with an IoT hub using the MQTT protocol" and "Control access
 * to IoT Hub with SAS tokens": the gateway is one device. Client id = device id, user name
 * `{hub}/{device}/?api-version=...`, password a SAS token signed with the device key (or an X.509
 * certificate and no password). Telemetry goes to `devices/{device}/messages/events/` with
 * properties in a url-encoded bag after the last "/"; cloud-to-device messages come on
 * `devices/{device}/messages/devicebound/{bag}`. The hub closes the connection on a QoS 2
 * PUBLISH, keeps no retained message, takes messages up to 256 KB, and closes a connection whose
 * token expired: the bridge caps, strips and renews before any of that happens.
 */
import { createHmac } from 'node:crypto';
import { AZURE_API_VERSION, type AzureSettings } from '../../config/profiles.js';
import type { UpstreamProfile } from './types.js';

export interface AzureDevice {
  hubHost: string;
  deviceId: string;
}

/** The hub's identity of the device: what the token is scoped to. */
export function azureResourceUri(d: AzureDevice): string {
  return `${d.hubHost}/devices/${d.deviceId}`;
}

export function azureUsername(d: AzureDevice): string {
  return `${d.hubHost}/${d.deviceId}/?api-version=${AZURE_API_VERSION}`;
}

/**
 * A device SAS token valid until `expiresAt` (seconds since the epoch): HMAC-SHA256 with the
 * decoded device key over the url-encoded resource URI, a newline and the expiry.
 */
export function azureSasToken(d: AzureDevice, key: Buffer, expiresAt: number): string {
  const sr = encodeURIComponent(azureResourceUri(d));
  const sig = createHmac('sha256', key).update(`${sr}\n${expiresAt}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiresAt}`;
}

/** Properties of a topic's property bag (`a=1&b=2`, url-encoded), in order; a bad encoding keeps the raw text. */
export function parsePropertyBag(bag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of bag.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    out.set(decode(k), decode(v));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * Renew a token this long before it expires: a quarter of its life, at most a minute, so that a
 * reconnect that takes a few seconds still lands before the hub cuts the connection.
 */
export function renewalLeadMs(lifetimeSec: number): number {
  return Math.min(60_000, (lifetimeSec * 1000) / 4);
}

export function azureIotHubProfile(device: AzureDevice, s: AzureSettings, usesSas: boolean): UpstreamProfile {
  const events = `devices/${device.deviceId}/messages/events/`;
  const bound = `devices/${device.deviceId}/messages/devicebound/`;
  const local = s.c2dLocalPrefix;
  return {
    name: 'azure-iot-hub',
    service: 'Azure IoT Hub',
    maxQos: 1,
    // 256 KB is the whole message; topic and properties share it with the payload.
    maxPayloadBytes: 256 * 1024 - 1024,
    maxTopicBytes: 65_535,
    maxTopicSlashes: Number.POSITIVE_INFINITY,
    // The hub throttles device-to-cloud sends per hub and unit (its quotas depend on the tier)
    // and delays what is over; a steady pace well under a small hub's share spares the other
    // devices of the hub. Not a documented per-device limit: a choice.
    publishRate: { perSecond: 50, burst: 10 },
    maxSubscriptions: 50,
    filtersPerSubscribe: 8,
    retain: 'drop',
    renewConnectionAfterMs: usesSas ? s.sasLifetimeSec * 1000 - renewalLeadMs(s.sasLifetimeSec) : undefined,
    mapOutbound: (topic) => ({ topic: s.topicProperty === '' ? events : `${events}${encodeURIComponent(s.topicProperty)}=${encodeURIComponent(topic)}` }),
    subscriptions: local === undefined ? [] : [{ filter: `${bound}#`, qos: 1 }],
    inbound(topic) {
      if (local === undefined || !topic.startsWith(bound)) return undefined;
      const carried = s.topicProperty === '' ? undefined : parsePropertyBag(topic.slice(bound.length)).get(s.topicProperty);
      return { kind: 'local', topic: carried === undefined || carried === '' ? local.replace(/\/+$/, '') : local + carried };
    },
  };
}
