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

/**
 * At most this many characters of a peer's text (a client id, a topic, a forwarder's node id)
 * go into a log line: a refused CONNECT may carry a client id of kilobytes, and the log is no
 * place for a peer to fill.
 */
export const MAX_LOGGED_TEXT = 64;

// C0 and C1 controls: a client id with ESC sequences must not repaint an operator's terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` bounded to `max` characters (its length said after a cut) with control characters escaped. */
export function peerText(text: string, max = MAX_LOGGED_TEXT): string {
  let shown = text;
  if (text.length > max) {
    // Never cut a surrogate pair in two.
    const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
    shown = `${text.slice(0, end)}…(${text.length} chars)`;
  }
  return shown.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `fields` with every string value passed through `peerText` (nested objects, like `err`, as they are). */
export function peerFields<T extends object>(fields: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? peerText(v) : v;
  return out as T;
}
