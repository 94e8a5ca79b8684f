/**
 * The logger a transport accepts: the subset of pino it uses, so a pino logger (or a child of
 * one) can be passed as is.
 */
export interface Logger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const noop = (): void => {};
export const noopLogger: Logger = { warn: noop, info: noop, debug: noop };

/**
 * Warnings a noisy line can repeat thousands of times a second (garbage, bad checksums) go
 * through this: the first of each key is logged at once, the rest are counted and reported as
 * `suppressed` on the next line allowed for that key, at most one per `intervalMs`. `info` is
 * the same throttle for drops that are a policy, not a fault (a frame kind refused by config).
 */
export class RateLimitedWarn {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, obj: object, msg: string): void {
    this.log('warn', key, obj, msg);
  }

  info(key: string, obj: object, msg: string): void {
    this.log('info', key, obj, msg);
  }

  private log(level: 'warn' | 'info', key: string, obj: object, msg: string): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry !== undefined && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
