// The shared throttle is a leaf module that imports nothing: the one import of ours beside errors.
import { LogThrottle } from '../log-throttle.js';

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
  private readonly throttle: LogThrottle;

  constructor(
    private readonly logger: Logger,
    intervalMs = 10_000,
    now: () => number = Date.now,
  ) {
    this.throttle = new LogThrottle({ now }, intervalMs);
  }

  warn(key: string, obj: object, msg: string): void {
    this.log('warn', key, obj, msg);
  }

  info(key: string, obj: object, msg: string): void {
    this.log('info', key, obj, msg);
  }

  private log(level: 'warn' | 'info', key: string, obj: object, msg: string): void {
    const suppressed = this.throttle.hit(key);
    if (suppressed === undefined) return;
    this.logger[level](suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
