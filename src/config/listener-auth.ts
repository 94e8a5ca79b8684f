/**
 * `broker.auth`: user names and passwords for the local MQTT listener. The password file is read
 * when the config is loaded (so --check-config finds a bad line) and again when the gateway
 * starts; its path is relative to the config file's folder, settled after the schema as for the
 * TLS files of `upstream`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { aclRuleSchema } from './auth.js';
import { ConfigIssueCode, type ConfigIssue } from './errors.js';
import { isRecord } from './fields.js';
import { readPasswordFile } from './password-file.js';

export { readPasswordFile };

const aclFilter = z
  .string()
  .min(1)
  .refine((f) => !f.includes('%c'), {
    params: { code: ConfigIssueCode.INVALID_VALUE },
    error: (iss) => `${JSON.stringify(iss.input)} uses %c; listener rules are per user: use %u for the user name`,
  })
  .describe('A topic filter; %u stands for the user name.');

const listenerAclRule = aclRuleSchema({
  subject: 'user',
  subjectText: 'Which users the rule is for: an exact name, "*" for every client (those let in without a user name too), or a pattern where % matches any characters ("app-%").',
  filter: aclFilter,
  who: 'user',
  description: 'What matching users may do. %u in a filter is the user name; a user name containing +, # or / gets nothing from a rule that uses %u.',
});

export const listenerAuthSchema = z
  .strictObject({
    passwordFile: z
      .string()
      .min(1)
      .describe(
        'File of username:hash lines (scrypt; make a line with `mqttsn-gateway --hash-password USER`), relative to the folder of this config file. ' +
          'Blank lines and lines starting with # are ignored.',
      ),
    allowAnonymous: z
      .boolean()
      .default(false)
      .describe('Let in a CONNECT without a user name. A CONNECT with a user name must still have the right password.'),
    acl: z
      .array(listenerAclRule)
      .optional()
      .describe(
        'Publish and subscribe rights of listener clients, with the meaning of auth.acl. Absent: everything is allowed. ' +
          'Present: a client no rule matches may neither publish (its messages are dropped) nor subscribe (SUBACK 0x80).',
      ),
  })
  .describe(
    'Local MQTT listener clients must give a user name and password from passwordFile: a wrong one gets CONNACK 4, none gets CONNACK 5. ' +
      'Absent: anyone who can reach a listener may connect.',
  );

export type ListenerAuthConfig = z.output<typeof listenerAuthSchema>;


/** Problems of the password file named in the raw config, if it names one. */
export function checkListenerAuthFile(input: unknown, baseDir?: string): ConfigIssue[] {
  if (!isRecord(input) || !isRecord(input.broker) || !isRecord(input.broker.auth)) return [];
  const file = input.broker.auth.passwordFile;
  if (typeof file !== 'string' || file === '') return [];
  return readPasswordFile(resolve(baseDir ?? '', file)).issues;
}

/** The section with the password file's path made absolute against `baseDir`. */
export function resolveListenerAuth<T extends { auth?: ListenerAuthConfig | undefined }>(broker: T, baseDir?: string): T {
  if (broker.auth === undefined) return broker;
  return { ...broker, auth: { ...broker.auth, passwordFile: resolve(baseDir ?? '', broker.auth.passwordFile) } };
}
