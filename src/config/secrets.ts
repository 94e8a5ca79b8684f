/**
 * The secrets of the `upstream` section, resolved: every `*Env` variable looked up and every key
 * or certificate file read, once, before the bridge is made. The bridge receives these values and
 * never sees a variable name or a path. Whatever is missing is one `ConfigError` naming each
 * field, like every other configuration mistake (the CLI's `loadConfig` already checked the
 * variables and files; a config parsed in code without `env`, or a file gone since, meets it here).
 */
import { readFile } from 'node:fs/promises';
import { unsetVariableIssue, type Environment } from './env.js';
import { ConfigError, ConfigIssueCode, type ConfigIssue } from './errors.js';
import { clientIdGlob, TLS_FILE_FIELDS, type UpstreamConfig } from './upstream.js';

export type TlsFileField = (typeof TLS_FILE_FIELDS)[number];

/** `upstream.tls`'s files, read (a field the config leaves out is absent), and the key's passphrase. */
export type UpstreamTlsSecrets = Partial<Record<TlsFileField, Buffer>> & { passphrase: string | undefined };

/** A `clients` entry of transparent mode, its secret and files read. */
export interface ClientCredentials {
  match: RegExp;
  username: string | undefined;
  password: string | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

export interface UpstreamSecrets {
  /** `password`, or the value of the variable `passwordEnv` names */
  password: string | undefined;
  /** present when the section has `tls` */
  tls: UpstreamTlsSecrets | undefined;
  /** azure-iot-hub: the device key (`azure.deviceKeyEnv`), decoded from base64 */
  azureDeviceKey: Buffer | undefined;
  /** `clients`, in order (first match wins) */
  clients: ClientCredentials[];
}

/**
 * Looks up and reads every secret `u` names.
 * @throws ConfigError listing every variable that is unset or invalid and every file that cannot be read
 */
export async function resolveUpstreamSecrets(u: UpstreamConfig, env: Environment): Promise<UpstreamSecrets> {
  const issues: ConfigIssue[] = [];
  const password = u.password ?? fromEnv(env, issues, u.passwordEnv, 'upstream.passwordEnv');
  let tls: UpstreamTlsSecrets | undefined;
  if (u.tls !== undefined) {
    const t = u.tls;
    const files: Partial<Record<TlsFileField, Buffer>> = {};
    await Promise.all(
      TLS_FILE_FIELDS.map(async (field) => {
        const content = await readNamedFile(issues, t[field], `upstream.tls.${field}`);
        if (content !== undefined) files[field] = content;
      }),
    );
    tls = { ...files, passphrase: fromEnv(env, issues, t.passphraseEnv, 'upstream.tls.passphraseEnv') };
  }
  const azureDeviceKey = u.profile === 'azure-iot-hub' ? deviceKey(env, issues, u.azure?.deviceKeyEnv) : undefined;
  const clients = await Promise.all(
    u.clients.map(async (c, i) => {
      const at = `upstream.clients[${i}]`;
      const [cert, key] = await Promise.all([readNamedFile(issues, c.cert, `${at}.cert`), readNamedFile(issues, c.key, `${at}.key`)]);
      const clientPassword = c.password ?? fromEnv(env, issues, c.passwordEnv, `${at}.passwordEnv`);
      return { match: clientIdGlob(c.clientId), username: c.username, password: clientPassword, cert, key };
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return { password, tls, azureDeviceKey, clients };
}

/** A secret from the environment variable `name`; a missing one is an issue on `field`. */
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

/** Azure IoT Hub's symmetric device key: the variable must hold base64, as the hub shows the key. */
function deviceKey(env: Environment, issues: ConfigIssue[], keyEnv: string | undefined): Buffer | undefined {
  const field = 'upstream.azure.deviceKeyEnv';
  // A missing variable is reported by fromEnv; a present one must be base64.
  const text = fromEnv(env, issues, keyEnv, field)?.trim();
  if (text === undefined) return undefined;
  const key = Buffer.from(text, 'base64');
  if (key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    issues.push({ path: field, code: ConfigIssueCode.INVALID_VALUE, message: `the environment variable ${keyEnv} does not hold a base64 key; expected the device's primary or secondary key as the hub shows it` });
    return undefined;
  }
  return key;
}

/**
 * Names of fields that hold a secret inline, wherever they are in the config (`password`,
 * `upstream.clients[].password`, a `passphrase`, a `token`...). Matched by name rather than
 * listed by path, so a section added later is masked without anyone remembering to. Fields
 * that name a variable (`*Env`) or a file (`*File`, `key`) hold no secret and stay readable.
 */
const SECRET_FIELD = /(password|passphrase|secret|token)$/i;

/** A URL's user info (`mqtt://user:pass@host`): the password part is a secret too. */
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i;

/**
 * A deep copy of `value` with every secret replaced by "***": string values of fields named
 * like a secret, and the password of any URL that carries one.
 */
export function maskSecretFields<T>(value: T): T {
  return mask(value, undefined) as T;
}

function mask(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_FIELD.test(key)) return '***';
    return value.replace(URL_CREDENTIALS, '$1:***@');
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, undefined));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  return structuredClone(value);
}
