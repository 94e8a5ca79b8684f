/**
 * Secrets are named in the config by environment variable (`upstream.passwordEnv`,
 * `upstream.tls.passphraseEnv`, `upstream.azure.deviceKeyEnv`, `upstream.clients[i].passwordEnv`:
 * every field whose name ends in `Env`). They are looked up when the config is loaded, so that a
 * variable that is not set is one line naming the field and the variable, the same from
 * `--check-config` as from a start, and not a failure later when the bridge connects. Their
 * values are read for the bridge by `resolveUpstreamSecrets` (secrets.ts).
 */
import { z } from 'zod';
import { ConfigIssueCode, type ConfigIssue } from './errors.js';
import { isRecord } from './fields.js';
import { formatPath, type PathSegment } from './path.js';
import { unsetVariableIssue } from './env-issue.js';

/** Environment variables, as `process.env` has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What an environment variable's name may be: letters, digits and _, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The convention every secret-by-variable field follows, and the check below relies on. */
const ENV_FIELD = /Env$/;

/**
 * A field naming the environment variable that holds a secret. A bad name is not echoed: what
 * lands in a `*Env` field by mistake is often the secret itself.
 */
export const envName = (description: string) =>
  z
    .string()
    .refine((s) => ENV_NAME.test(s), {
      params: { code: ConfigIssueCode.INVALID_VALUE },
      error:
        'is not an environment variable name (letters, digits and _, not starting with a digit); ' +
        'put the secret itself in the environment and the variable\'s name here',
    })
    .optional()
    .describe(description);

export { unsetVariableIssue };

/**
 * Every `*Env` field of the raw config whose variable is not set in `env`. `known(path)` says
 * whether the schema has that field: an unknown key is reported as such, not looked up.
 */
export function checkEnvironment(input: unknown, env: Environment, known: (path: readonly PathSegment[]) => boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, path: PathSegment[]): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, i]));
    } else if (isRecord(value)) {
      for (const [key, v] of Object.entries(value)) {
        const at = [...path, key];
        if (ENV_FIELD.test(key) && typeof v === 'string' && ENV_NAME.test(v) && env[v] === undefined && known(at)) {
          issues.push(unsetVariableIssue(formatPath(at), v));
        } else {
          walk(v, at);
        }
      }
    }
  };
  walk(input, []);
  return issues;
}
