/**
 * The log levels, apart from the `log` section's schema: the CLI checks `--log-level` with them in
 * a process that does not load zod (issue #19).
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
