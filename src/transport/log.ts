// The shared throttle and logger are leaf modules that import nothing: the imports of ours beside errors.
import { LogThrottle } from '../log-throttle.js';
import { noopLogger as baseNoopLogger, type Logger as BaseLogger } from '../logger.js';

/**
 * The part of the one Logger (src/logger.ts, like the throttle a leaf that imports nothing) a
 * transport uses, so a caller may pass any logger with just these three.
 */
export type Logger = Pick<BaseLogger, 'warn' | 'info' | 'debug'>;

export const noopLogger: Logger = baseNoopLogger;

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
