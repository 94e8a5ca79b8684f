/**
 * The process logger: pino JSON lines for journald and log shippers, and pino-pretty's coloured
 * one-liners when a person watches a terminal. Every layer gets a child of it (`part`, and the
 * transport name or client id in each line), and the level can change at run time (SIGHUP): pino
 * children inherit the level through their prototype, so setting it on the root reaches all.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import type { LogLevel } from '../config/schema.js';

export interface ProcessLoggerOptions {
  level: LogLevel;
  /** human-readable lines; default: when stdout is a terminal */
  pretty?: boolean;
  /** where lines go; default stdout */
  destination?: NodeJS.WritableStream;
}

export type ProcessLogger = PinoLogger;

export function createProcessLogger(options: ProcessLoggerOptions): ProcessLogger {
  const destination = options.destination ?? process.stdout;
  const human = options.pretty ?? (destination as { isTTY?: boolean }).isTTY === true;
  const base = { pid: process.pid };
  if (!human) return pino({ level: options.level, base }, destination);
  // In-process and synchronous, not a worker transport: a terminal session is low volume, and a
  // line written just before exit (a fatal start-up error) must not be lost with the worker.
  // Required here, not imported at the top: only a terminal needs it, and a service under
  // systemd (stdout a pipe) is spared its ~3 MB resident (issue #19). Synchronous, as the logger is.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const stream = pretty({
    destination,
    sync: true,
    colorize: (destination as { isTTY?: boolean }).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return pino({ level: options.level, base }, stream);
}
