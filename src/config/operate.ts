/** The `shutdown` section: how a SIGINT / SIGTERM ends the gateway. */
import { z } from 'zod';

export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

export const shutdownConfigSchema = z
  .strictObject({
    graceMs: z
      .int()
      .min(0)
      .max(600_000)
      .default(DEFAULT_SHUTDOWN_GRACE_MS)
      .describe(
        'On SIGINT / SIGTERM, how long to wait for QoS 1/2 handshakes already under way (and messages queued for awake ' +
          'clients) to finish before closing. New connections and messages are refused meanwhile. 0 closes at once.',
      ),
  })
  .prefault({})
  .describe('Graceful stop. Keep systemd\'s TimeoutStopSec above graceMs (the printed unit does).');

export type ShutdownConfig = z.output<typeof shutdownConfigSchema>;
