/**
 * From a file, text or a parsed value to a fully defaulted `GatewayConfig`, or one `ConfigError`
 * listing every problem.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, ConfigIssueCode, type ConfigIssue } from './errors.js';
import { checkEnvironment, type Environment } from './env.js';
import { fromZodIssues, schemaAt } from './issues.js';
import { parseJsonText, type TextPosition } from './json-text.js';
import { formatPath } from './path.js';
import { gatewayConfigSchema, type GatewayConfig } from './schema.js';
import { maskSecretFields } from './secrets.js';
import { checkUpstreamFiles, resolveUpstreamFiles } from './upstream.js';
import { resolveStoreConfig } from './store.js';
import { checkListenerAuthFile, resolveListenerAuth } from './listener-auth.js';

/**
 * Validates an already parsed JSON value (or an object built in code) and fills in defaults.
 * `source` names where it came from in the error message; files the config names (TLS
 * certificates) are found relative to `baseDir` (default: the working directory). With `env`, every
 * environment variable a `*Env` field names must be set in it.
 * @throws ConfigError with every problem found
 */
export function parseConfig(json: unknown, source?: string, baseDir?: string, env?: Environment): GatewayConfig {
  return validate(json, source, undefined, [], baseDir, env);
}

/**
 * Parses JSON text, then validates it like {@link parseConfig}. Syntax errors carry line and
 * column; every other problem carries the line of the key it concerns, and a key written twice
 * is reported too (JSON.parse would silently keep the last).
 * @throws ConfigError
 */
export function parseConfigText(text: string, source?: string, baseDir?: string, env?: Environment): GatewayConfig {
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const { line, column } = parsed.position;
    throw new ConfigError(
      [{ path: '', code: ConfigIssueCode.INVALID_JSON, message: `invalid JSON: ${parsed.message}`, line, column }],
      source,
    );
  }
  const duplicates = parsed.duplicates.map((d): ConfigIssue => {
    const key = d.path[d.path.length - 1];
    const isTopicId = d.path.length === 2 && d.path[0] === 'predefinedTopics';
    return {
      path: formatPath(d.path),
      code: isTopicId ? ConfigIssueCode.DUPLICATE_TOPIC_ID : ConfigIssueCode.DUPLICATE_KEY,
      message: isTopicId
        ? `topic id ${String(key)} is predefined twice (first at line ${d.first.line}); expected each id once`
        : `key ${JSON.stringify(key)} appears twice in one object (first at line ${d.first.line}); JSON keeps only the last`,
      line: d.second.line,
      column: d.second.column,
    };
  });
  return validate(parsed.value, source, parsed.positions, duplicates, baseDir, env);
}

/**
 * Reads and validates a config file. With `env` (the CLI passes `process.env`), a `*Env` field
 * naming a variable that is not set is a problem of the file like any other.
 * @throws ConfigError for a missing or unreadable file, invalid JSON or an invalid config
 */
export async function loadConfig(path: string, env?: Environment): Promise<GatewayConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ConfigError([describeReadError(err, path)], path, { cause: err });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError(
      [{ path: '', code: ConfigIssueCode.FILE_UNREADABLE, message: 'the file is not UTF-8 text' }],
      path,
      { cause: err },
    );
  }
  // Paths inside the file (TLS certificates) are relative to the file, wherever it is run from.
  return parseConfigText(text, path, dirname(resolve(path)), env);
}

/** The issue for a file that could not be read, in the words a person acts on. */
export function describeReadError(err: unknown, path: string): ConfigIssue {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  const full = resolve(path);
  switch (code) {
    case 'ENOENT':
      return { path: '', code: ConfigIssueCode.FILE_NOT_FOUND, message: `file not found (${full})` };
    case 'EACCES':
    case 'EPERM':
      return { path: '', code: ConfigIssueCode.FILE_UNREADABLE, message: `permission denied reading ${full}` };
    case 'EISDIR':
      return { path: '', code: ConfigIssueCode.FILE_UNREADABLE, message: `${full} is a directory; expected a JSON file` };
    case undefined: // not a system error
    default:
      return {
        path: '',
        code: ConfigIssueCode.FILE_UNREADABLE,
        message: `cannot read ${full}: ${err instanceof Error ? err.message : String(err)}`,
      };
  }
}

/**
 * The configuration used when none is given: the file defaults plus one UDP transport on the
 * loopback, so a gateway started from code is reachable locally and from nowhere else.
 */
export function defaultConfig(): GatewayConfig {
  return parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 1884 }] }, 'built-in defaults');
}

/**
 * A copy safe to log or print (`--check-config`): every inline secret becomes "***", in every
 * section (see `maskSecretFields`). Variable names and file paths are not secrets and stay.
 */
export function maskSecrets(config: GatewayConfig): GatewayConfig {
  return maskSecretFields(config);
}

function validate(
  json: unknown,
  source: string | undefined,
  positions: ReadonlyMap<string, TextPosition> | undefined,
  earlier: readonly ConfigIssue[],
  baseDir: string | undefined,
  env: Environment | undefined,
): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(json);
  // What the schema cannot see: the files the config names, and the variables it names.
  const outside = [...checkUpstreamFiles(json, baseDir), ...checkListenerAuthFile(json, baseDir)];
  if (env !== undefined) outside.push(...checkEnvironment(json, env, (path) => schemaAt(gatewayConfigSchema, json, path) !== undefined));
  if (result.success && earlier.length === 0 && outside.length === 0) {
    const { $schema: _editorsOnly, ...config } = result.data;
    return {
      ...config,
      broker: resolveListenerAuth(config.broker, baseDir),
      upstream: resolveUpstreamFiles(config.upstream, baseDir),
      store: resolveStoreConfig(config.store, json, baseDir),
    };
  }
  const issues = [...earlier, ...(result.success ? [] : fromZodIssues(result.error.issues, gatewayConfigSchema, json)), ...outside];
  if (positions !== undefined) {
    for (const issue of issues) {
      if (issue.line === undefined) Object.assign(issue, locate(issue.path, positions));
    }
    // Read top to bottom like the file; sort is stable, so issues on one line keep their order.
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }
  throw new ConfigError(issues, source);
}

/**
 * Where an issue's path is in the file: the key itself, or for a key that is missing, the
 * object it is missing from.
 */
function locate(path: string, positions: ReadonlyMap<string, TextPosition>): Partial<TextPosition> {
  for (let p = path; ; p = parentOf(p)) {
    const found = positions.get(p);
    if (found !== undefined) return { line: found.line, column: found.column };
    if (p === '') return {};
  }
}

/** `transports[1].port` -> `transports[1]` -> `transports` -> `''`. */
function parentOf(path: string): string {
  const m = /^(.*?)(?:\.[A-Za-z_$][\w$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/.exec(path);
  return m?.[1] ?? '';
}
