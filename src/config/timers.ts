/** The `timers` section: the protocol timers of MQTT-SN 1.2 §6.13 and the gateway's own. */
import { z } from 'zod';
import { MAX_TIMER_MS } from './fields.js';

export const timersSchema = z
  .strictObject({
    retryMs: z.int().min(1).max(MAX_TIMER_MS).default(10_000).describe('T_RETRY: wait for an acknowledgement before resending (MQTT-SN 1.2 §6.13).'),
    maxRetries: z.int().min(0).max(100).default(3).describe('N_RETRY: resends before giving up. An unanswered PUBLISH or PUBREL loses the client; an unanswered REGISTER drops that message and the topic for that client.'),
    keepAliveFactor: z
      .number()
      .min(1)
      .max(10)
      .default(1.5)
      .describe('A client silent for this many keep-alive (or sleep) periods is lost.'),
    advertiseIntervalSec: z
      .int()
      .min(0)
      .max(65_535)
      .default(900)
      // ADVERTISE carries T_ADV in its 16-bit Duration field (MQTT-SN.md §1.5, §4.2).
      .describe('T_ADV, seconds between ADVERTISE broadcasts (a 16-bit Duration on the wire). 0 sends no ADVERTISE.'),
    connectTimeoutMs: z.int().min(1).max(MAX_TIMER_MS).default(30_000).describe('A CONNECT whose will exchange is not finished within this is abandoned.'),
  })
  .prefault({})
  .describe('Protocol timers.');
