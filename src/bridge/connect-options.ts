/**
 * From the `upstream` section to what a connection needs: secrets taken from the environment and
 * TLS files read, once, when the bridge starts. Whatever is missing is a `ConfigError` naming the
 * field, like every other configuration mistake.
 */
import { readFile } from 'node:fs/promises';
import { unsetVariableIssue, type Environment } from '../config/env.js';
import { ConfigError, ConfigIssueCode, type ConfigIssue } from '../config/errors.js';
import { clientIdGlob, TLS_FILE_FIELDS, type UpstreamConfig } from '../config/upstream.js';
import type { MqttUpstreamOptions } from './mqtt-upstream.js';
import { azureDevice, azureSasToken, azureUsername, profileServername } from './profiles/index.js';

export type { Environment };

export interface ConnectOptionsDeps {
  /** wall-clock ms since the epoch, for token expiry; default Date.now */
  now?: () => number;
}

/**
 * A secret from the environment variable `name`; a missing one is an issue on `field` (the CLI
 * finds it when loading the config; a config parsed in code without `env` meets it here).
 */
function fromEnv(env: Environment, issues: ConfigIssue[], name: string | undefined, field: string): string | undefined {
  if (name === undefined) return undefined;
  const value = env[name];
  if (value === undefined) issues.push(unsetVariableIssue(field, name));
  return value;
}

/** A file named in the config, read; an unreadable one is an issue on `field`. */
async function readNamedFile(issues: ConfigIssue[], path: string | undefined, field: string): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    issues.push({ path: field, code: ConfigIssueCode.FILE_UNREADABLE, message: `cannot read ${path}: ${why}` });
    return undefined;
  }
}

export async function mqttOptionsFromConfig(u: UpstreamConfig, env: Environment, deps: ConnectOptionsDeps = {}): Promise<MqttUpstreamOptions> {
  const issues: ConfigIssue[] = [];
  const password = u.password ?? fromEnv(env, issues, u.passwordEnv, 'upstream.passwordEnv');
  let tls: MqttUpstreamOptions['tls'];
  if (u.tls !== undefined) {
    const t = u.tls;
    const files: Partial<Record<(typeof TLS_FILE_FIELDS)[number], Buffer>> = {};
    await Promise.all(
      TLS_FILE_FIELDS.map(async (field) => {
        const content = await readNamedFile(issues, t[field], `upstream.tls.${field}`);
        if (content !== undefined) files[field] = content;
      }),
    );
    tls = {
      ...files,
      passphrase: fromEnv(env, issues, t.passphraseEnv, 'upstream.tls.passphraseEnv'),
      rejectUnauthorized: t.rejectUnauthorized,
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
  env: Environment,
  now: () => number,
  issues: ConfigIssue[],
): { clientId: string; username: string; passwordProvider: (() => string) | undefined } {
  const device = azureDevice(u);
  const lifetimeSec = u.azure?.sasLifetimeSec ?? 3600;
  const keyEnv = u.azure?.deviceKeyEnv;
  let passwordProvider: (() => string) | undefined;
  const field = 'upstream.azure.deviceKeyEnv';
  // A missing variable is reported by fromEnv; a present one must be base64.
  const text = fromEnv(env, issues, keyEnv, field)?.trim();
  if (text !== undefined) {
    const key = Buffer.from(text, 'base64');
    if (key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
      issues.push({ path: field, code: ConfigIssueCode.INVALID_VALUE, message: `the environment variable ${keyEnv} does not hold a base64 key; expected the device's primary or secondary key as the hub shows it` });
    } else {
      // Rounded up, so a token lives at least the configured time: renewal is timed from it.
      passwordProvider = () => azureSasToken(device, key, Math.ceil(now() / 1000 + lifetimeSec));
    }
  }
  return { clientId: device.deviceId, username: azureUsername(device), passwordProvider };
}

/** A `clients` entry of transparent mode, its secret and files read. */
export interface ClientCredentials {
  match: RegExp;
  username: string | undefined;
  password: string | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

/** The per-device credentials of `upstream.clients`, read once when the bridge starts. */
export async function clientCredentialsFromConfig(u: UpstreamConfig, env: Environment): Promise<ClientCredentials[]> {
  const issues: ConfigIssue[] = [];
  const out = await Promise.all(
    u.clients.map(async (c, i) => {
      const at = `upstream.clients[${i}]`;
      const [cert, key] = await Promise.all([readNamedFile(issues, c.cert, `${at}.cert`), readNamedFile(issues, c.key, `${at}.key`)]);
      const password = c.password ?? fromEnv(env, issues, c.passwordEnv, `${at}.passwordEnv`);
      return { match: clientIdGlob(c.clientId), username: c.username, password, cert, key };
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}
