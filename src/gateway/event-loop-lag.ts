/**
 * The event loop's mean delay over roughly the last second: one of the gateway's pressure
 * signals (admission.ts). A process property, not a clock one, so it is measured with Node's
 * histogram rather than on the injected clock; tests give the gateway a fixed value instead.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Mean delay in milliseconds; 0 while nothing has been measured. */
export type LagProbe = () => number;

/** How often the histogram is read and restarted: a mean over about this window. */
const WINDOW_MS = 1000;

export interface LagMonitor {
  readonly lagMs: LagProbe;
  stop(): void;
}

export function startLagMonitor(): LagMonitor {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  h.enable();
  let last = 0;
  let readAt = performance.now();
  return {
    lagMs: () => {
      const now = performance.now();
      // Read at most once per window: the histogram is cheap, but this runs on the CONNECT path.
      if (now - readAt >= WINDOW_MS) {
        // The histogram counts the timer's own interval in nanoseconds; the delay is what exceeds it.
        last = h.count > 0 ? Math.max(0, h.mean / 1e6 - 20) : 0;
        h.reset();
        readAt = now;
      }
      return last;
    },
    stop: () => h.disable(),
  };
}
