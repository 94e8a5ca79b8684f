/**
 * The logger every layer accepts: the subset of pino it uses, so a pino logger (or a child of
 * one) can be passed as is, and tests can pass a recorder.
 */
export interface Logger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  trace(obj: object, msg: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
export const noopLogger: Logger = { error: noop, warn: noop, info: noop, debug: noop, trace: noop };

/** A child logger where the logger has children (pino), the logger itself otherwise. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return logger.child ? logger.child(bindings) : logger;
}
