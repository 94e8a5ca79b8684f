/**
 * The issue for a secret's variable that is not set, apart from env.ts and its zod fields: the
 * running gateway reports it too (`http.adminTokenEnv`) and does not load zod (issue #19).
 */
import { ConfigIssueCode, type ConfigIssue } from './errors.js';

/** The issue for a variable a `*Env` field names but the environment lacks. */
export function unsetVariableIssue(path: string, name: string): ConfigIssue {
  return {
    path,
    code: ConfigIssueCode.MISSING,
    message:
      `the environment variable ${name} is not set; set it where the gateway starts ` +
      '(with systemd: a NAME=value line in /etc/default/mqttsn-gateway), or name another variable here',
  };
}
