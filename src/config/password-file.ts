/**
 * The local listener's password file read into users, apart from listener-auth.ts and its zod
 * schema: the running gateway reads it again on SIGHUP and does not load zod (issue #19).
 */
import { readFileSync } from 'node:fs';
import { parsePasswordFile, PasswordTable } from '../broker/passwords.js';
import { ConfigIssueCode, type ConfigIssue } from './errors.js';
import { formatPath } from './path.js';

const FIELD = formatPath(['broker', 'auth', 'passwordFile']);

/** The users of a password file, or the problems that make it unusable, each naming the field. */
export function readPasswordFile(fullPath: string): { table: PasswordTable; issues: [] } | { table: undefined; issues: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(fullPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { table: undefined, issues: [{ path: FIELD, code: ConfigIssueCode.FILE_NOT_FOUND, message: `file not found (${fullPath})` }] };
    const why = code === 'EACCES' ? `permission denied reading ${fullPath}` : code === 'EISDIR' ? `${fullPath} is a directory; expected a password file` : `${fullPath}: ${(err as Error).message}`;
    return { table: undefined, issues: [{ path: FIELD, code: ConfigIssueCode.FILE_UNREADABLE, message: why }] };
  }
  const { users, problems } = parsePasswordFile(text);
  if (problems.length > 0) {
    return { table: undefined, issues: problems.map((p) => ({ path: FIELD, code: ConfigIssueCode.INVALID_VALUE, message: `${fullPath} line ${p.line}: ${p.message}` })) };
  }
  return { table: new PasswordTable(users), issues: [] };
}
