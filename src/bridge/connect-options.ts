/**
 * From the `upstream` section and its resolved secrets (config/secrets.ts) to what a connection
 * needs. The secrets come as values: variables and files were read by the config layer.
 */
import type { UpstreamSecrets } from '../config/secrets.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { MqttUpstreamOptions } from './mqtt-upstream.js';
import { azureDevice, azureSasToken, azureUsername, profileServername } from './profiles/index.js';

export interface ConnectOptionsDeps {
  /** wall-clock ms since the epoch, for token expiry; default Date.now */
  now?: () => number;
}

export function mqttOptionsFromConfig(u: UpstreamConfig, secrets: UpstreamSecrets, deps: ConnectOptionsDeps = {}): MqttUpstreamOptions {
  let tls: MqttUpstreamOptions['tls'];
  if (u.tls !== undefined) {
    tls = { ...secrets.tls, rejectUnauthorized: u.tls.rejectUnauthorized, servername: profileServername(u) };
  }
  const azure = u.profile === 'azure-iot-hub' ? azureCredentials(u, secrets.azureDeviceKey, deps.now ?? Date.now) : undefined;
  return {
    url: u.url,
    clientId: azure?.clientId ?? u.clientId,
    username: azure?.username ?? u.username,
    password: secrets.password,
    passwordProvider: azure?.passwordProvider,
    keepAlive: u.keepAlive,
    cleanSession: u.cleanSession,
    connectTimeoutMs: u.connectTimeoutMs,
    maxPacketBytes: u.maxPacketBytes,
    tls,
  };
}

/**
 * Azure IoT Hub's CONNECT: the device id as client id, the hub's user name, and with a device key
 * a SAS token computed anew for each attempt (a reconnect after hours must not present an expired
 * one).
 */
function azureCredentials(
  u: UpstreamConfig,
  key: Buffer | undefined,
  now: () => number,
): { clientId: string; username: string; passwordProvider: (() => string) | undefined } {
  const device = azureDevice(u);
  const lifetimeSec = u.azure?.sasLifetimeSec ?? 3600;
  // Rounded up, so a token lives at least the configured time: renewal is timed from it.
  const passwordProvider = key === undefined ? undefined : () => azureSasToken(device, key, Math.ceil(now() / 1000 + lifetimeSec));
  return { clientId: device.deviceId, username: azureUsername(device), passwordProvider };
}
