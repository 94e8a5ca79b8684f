/**
 * What a bad configuration produces. One `ConfigError` carries every problem found, so a person
 * fixes the file in one pass instead of one error per run.
 */
import { MqttSnError, ConfigErrorCode } from '../errors.js';

export { ConfigErrorCode };

/** Stable codes of single problems; tests and tools match on these, never on message text. */
export const ConfigIssueCode = {
  FILE_NOT_FOUND: 'file_not_found',
  /** permission denied, a directory, not UTF-8: the file exists but cannot be used as text */
  FILE_UNREADABLE: 'file_unreadable',
  INVALID_JSON: 'invalid_json',
  /** the same key twice in one JSON object; JSON.parse would silently keep the last */
  DUPLICATE_KEY: 'duplicate_key',
  UNKNOWN_KEY: 'unknown_key',
  /** a required key is absent */
  MISSING: 'missing',
  INVALID_TYPE: 'invalid_type',
  /** a number outside its range */
  OUT_OF_RANGE: 'out_of_range',
  /** an array or string too short or too long */
  INVALID_LENGTH: 'invalid_length',
  /** not one of the allowed values (enum, transport type) */
  INVALID_VALUE: 'invalid_value',
  /** neither an IP address nor a host name */
  INVALID_HOST: 'invalid_host',
  /** two transports (or two listeners) on the same address and port, or the same serial device */
  DUPLICATE_ADDRESS: 'duplicate_address',
  /** an advertise target of the other IP family than the socket it is sent from */
  ADDRESS_FAMILY: 'address_family',
  /** two settings that contradict each other, e.g. reconnect.initialMs > reconnect.maxMs */
  INCONSISTENT: 'inconsistent',
  /** a predefined topic id that is not a decimal number */
  INVALID_TOPIC_ID: 'invalid_topic_id',
  /** a predefined topic id outside 1..65534 */
  TOPIC_ID_OUT_OF_RANGE: 'topic_id_out_of_range',
  /** the same predefined topic id twice (only possible as a duplicate key in the file) */
  DUPLICATE_TOPIC_ID: 'duplicate_topic_id',
  /** the same topic name under two predefined ids */
  DUPLICATE_TOPIC_NAME: 'duplicate_topic_name',
  /** an empty predefined topic name, or one with wildcards or U+0000 */
  INVALID_TOPIC_NAME: 'invalid_topic_name',
  /** anything the mapping above does not know; a defect to fix here if it ever shows */
  INVALID: 'invalid',
} as const;
export type ConfigIssueCode = (typeof ConfigIssueCode)[keyof typeof ConfigIssueCode];

export interface ConfigIssue {
  /** JavaScript-style path, `transports[1].port`; `''` for the file or document as a whole */
  path: string;
  /** what is wrong, with the bad value and what is expected; does not repeat the path */
  message: string;
  code: ConfigIssueCode;
  /** where in the file, when the config came from text */
  line?: number;
  column?: number;
}

export class ConfigError extends MqttSnError {
  declare readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];
  /** the file name or other label the config came from, when known */
  readonly source: string | undefined;

  constructor(issues: readonly ConfigIssue[], source?: string, options?: { cause?: unknown }) {
    super(ConfigErrorCode.INVALID, formatIssues(issues, source), options);
    this.issues = issues;
    this.source = source;
  }
}

/**
 * One headline, then one problem per line in the compiler style `file:line:column: path: message`
 * that terminals and editors turn into links.
 */
export function formatIssues(issues: readonly ConfigIssue[], source?: string): string {
  const where = source === undefined ? 'configuration' : `configuration ${source}`;
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((issue) => {
    let prefix = source ?? '';
    if (issue.line !== undefined) {
      prefix =
        source === undefined
          ? `line ${issue.line}${issue.column === undefined ? '' : `, column ${issue.column}`}`
          : `${source}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
    }
    const parts = [prefix, issue.path, issue.message].filter((p) => p !== '');
    return `  ${parts.join(': ')}`;
  });
  return [`invalid ${where} (${count}):`, ...lines].join('\n');
}
