/**
 * From the `upstream` section to what a connection needs: secrets taken from the environment and
 * TLS files read, once, when the bridge starts. Whatever is missing is a `ConfigError` naming the
 * field, like every other configuration mistake.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, ConfigIssueCode, type ConfigIssue } from '../config/errors.js';
import { TLS_FILE_FIELDS, type UpstreamConfig } from '../config/upstream.js';
import type { MqttUpstreamOptions } from './mqtt-upstream.js';
import { profileServername } from './profiles/index.js';

/** Environment variables, as `process.env` has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

export async function mqttOptionsFromConfig(u: UpstreamConfig, env: Environment): Promise<MqttUpstreamOptions> {
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
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    url: u.url,
    clientId: u.clientId,
    username: u.username,
    password,
    keepAlive: u.keepAlive,
    cleanSession: u.cleanSession,
    connectTimeoutMs: u.connectTimeoutMs,
    tls,
  };
}
