/**
 * What a valid configuration still does unsafely: private keys and password files other users
 * can read, an upstream whose certificate is not checked, a password sent in clear over
 * `mqtt://`. None stops the start (a test bench may mean it), but each is said once, plainly, by
 * `--check-config` and at every start, naming the field and the fix.
 */
import { statSync } from 'node:fs';
import type { GatewayConfig } from './schema.js';

export interface ConfigWarning {
  /** the field, as in config error messages: `upstream.tls.key` */
  path: string;
  message: string;
}

/** The files holding a secret the config names: private keys and the listener's password hashes. */
function secretFiles(config: GatewayConfig): Array<{ path: string; file: string }> {
  const out: Array<{ path: string; file: string }> = [];
  const u = config.upstream;
  if (u?.tls?.key !== undefined) out.push({ path: 'upstream.tls.key', file: u.tls.key });
  u?.clients.forEach((c, i) => {
    if (c.key !== undefined) out.push({ path: `upstream.clients[${i}].key`, file: c.key });
  });
  const auth = config.broker.auth;
  if (auth !== undefined) out.push({ path: 'broker.auth.passwordFile', file: auth.passwordFile });
  return out;
}

export function configWarnings(config: GatewayConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const { path, file } of secretFiles(config)) {
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch {
      continue; // a missing file is a config error, reported where the file is read
    }
    // Other users of the machine (a web server, a shell account) could copy the secret.
    if ((mode & 0o004) !== 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0');
      warnings.push({ path, message: `${file} is readable by every user of this machine (mode ${octal}); restrict it: chmod 600 ${file} (or 640 with the gateway's group)` });
    }
  }
  const u = config.upstream;
  if (u !== null) {
    if (u.tls?.rejectUnauthorized === false) {
      warnings.push({
        path: 'upstream.tls.rejectUnauthorized',
        message: "is false: the upstream broker's certificate is not checked, so anyone on the path can pose as the broker and read or change every message (and the password); set it to true and give tls.ca instead",
      });
    }
    if (u.url.startsWith('mqtt://')) {
      const clear = [
        ...(u.password !== undefined || u.passwordEnv !== undefined ? ['upstream.password'] : []),
        ...u.clients.flatMap((c, i) => (c.password !== undefined || c.passwordEnv !== undefined ? [`upstream.clients[${i}].password`] : [])),
      ];
      for (const path of clear) {
        warnings.push({ path, message: `is sent in clear over ${JSON.stringify(u.url)}: anyone on the path can read it; use an mqtts:// url (TLS)` });
      }
    }
  }
  return warnings;
}
