/**
 * From the `upstream` section to what a connection needs: secrets taken from the environment and
 * TLS files read, once, when the bridge starts. Whatever is missing is a `ConfigError` naming the
 * field, like every other configuration mistake.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, ConfigIssueCode, type ConfigIssue } from '../config/errors.js';
import { TLS_FILE_FIELDS, type UpstreamConfig } from '../config/upstream.js';
import type { MqttUpstreamOptions } from './mqtt-upstream.js';
import { azureDevice, azureSasToken, azureUsername, profileServername } from './profiles/index.js';

/** Environment variables, as `process.env` has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface ConnectOptionsDeps {
  /** wall-clock ms since the epoch, for token expiry; default Date.now */
  now?: () => number;
}

export async function mqttOptionsFromConfig(u: UpstreamConfig, env: Environment, deps: ConnectOptionsDeps = {}): Promise<MqttUpstreamOptions> {
  const issues: ConfigIssue[] = [];
  const fromEnv = (name: string | undefined, field: string, what: string): string | undefined => {
    if (name === undefined) return undefined;
    const value = env[name];
    if (value === undefined) {
      issues.push({ path: field, code: ConfigIssueCode.MISSING, message: `the environment variable ${name} is not set; expected it to hold ${what}` });
    }
    return value;
  };
  const password = u.password ?? fromEnv(u.passwordEnv, 'upstream.passwordEnv', 'the upstream password');
  let tls: MqttUpstreamOptions['tls'];
  if (u.tls !== undefined) {
    const files: Partial<Record<(typeof TLS_FILE_FIELDS)[number], Buffer>> = {};
    await Promise.all(
      TLS_FILE_FIELDS.map(async (field) => {
        const path = u.tls?.[field];
        if (path === undefined) return;
        try {
          files[field] = await readFile(path);
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          issues.push({ path: `upstream.tls.${field}`, code: ConfigIssueCode.FILE_UNREADABLE, message: `cannot read ${path}: ${why}` });
        }
      }),
    );
    tls = {
      ...files,
      passphrase: fromEnv(u.tls.passphraseEnv, 'upstream.tls.passphraseEnv', 'the passphrase of the TLS key'),
      rejectUnauthorized: u.tls.rejectUnauthorized,
      servername: profileServername(u),
    };
  }
  const azure = u.profile === 'azure-iot-hub' ? azureCredentials(u, env, deps.now ?? Date.now, issues) : undefined;
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    url: u.url,
    clientId: azure?.clientId ?? u.clientId,
    username: azure?.username ?? u.username,
    password,
    passwordProvider: azure?.passwordProvider,
    keepAlive: u.keepAlive,
    cleanSession: u.cleanSession,
    connectTimeoutMs: u.connectTimeoutMs,
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
  env: Environment,
  now: () => number,
  issues: ConfigIssue[],
): { clientId: string; username: string; passwordProvider: (() => string) | undefined } {
  const device = azureDevice(u);
  const lifetimeSec = u.azure?.sasLifetimeSec ?? 3600;
  const keyEnv = u.azure?.deviceKeyEnv;
  let passwordProvider: (() => string) | undefined;
  if (keyEnv !== undefined) {
    const field = 'upstream.azure.deviceKeyEnv';
    const text = env[keyEnv];
    const key = text === undefined ? undefined : Buffer.from(text.trim(), 'base64');
    if (text === undefined) {
      issues.push({ path: field, code: ConfigIssueCode.MISSING, message: `the environment variable ${keyEnv} is not set; expected it to hold the device's primary or secondary key (base64)` });
    } else if (key === undefined || key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) {
      issues.push({ path: field, code: ConfigIssueCode.INVALID_VALUE, message: `the environment variable ${keyEnv} does not hold a base64 key; expected the device's primary or secondary key as the hub shows it` });
    } else {
      // Rounded up, so a token lives at least the configured time: renewal is timed from it.
      passwordProvider = () => azureSasToken(device, key, Math.ceil(now() / 1000 + lifetimeSec));
    }
  }
  return { clientId: device.deviceId, username: azureUsername(device), passwordProvider };
}
