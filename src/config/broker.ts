/**
 * The `broker` section: the local broker core's MQTT 3.1.1 listeners, their limits and their
 * users (`broker.auth`, in listener-auth.ts). Hosts and bind collisions follow net.ts.
 */
import { z } from 'zod';
import { always, isRecord, MAX_TIMER_MS, maxPacketBytes } from './fields.js';
import { listenerAuthSchema } from './listener-auth.js';
import { bindOf, claimBind, formatAddress, hostField, listenPort, reportClash, type Bind } from './net.js';

const listener = z.strictObject({
  host: hostField('Address the MQTT listener binds.', '127.0.0.1'),
  port: listenPort(1883, 'TCP port of the MQTT listener.'),
});

export const brokerSchema = z
  .strictObject({
    listen: z
      .array(listener)
      .superRefine((list: unknown, ctx) => {
        const seen: Bind[] = [];
        if (!Array.isArray(list)) return;
        (list as readonly unknown[]).forEach((l, index) => {
          const bind = isRecord(l) ? bindOf(l, index) : undefined;
          const clash = bind === undefined ? undefined : claimBind(seen, bind);
          if (bind === undefined || clash === undefined) return;
          reportClash(
            ctx,
            bind,
            `${formatAddress(bind.host, bind.port)} collides with broker.listen[${clash.index}] (${formatAddress(clash.host, clash.port)}); expected each listener on its own address and port`,
          );
        });
      }, always)
      .default([{ host: '127.0.0.1', port: 1883 }])
      .describe('Local MQTT 3.1.1 listeners on the broker core, for local applications. [] opens none.'),
    auth: listenerAuthSchema.optional(),
    maxConnections: z
      .int()
      .min(1)
      .default(1000)
      .describe('TCP connections to the listeners at once, CONNECTed or not; one beyond it is closed as soon as it is accepted.'),
    maxPacketBytes: maxPacketBytes('Largest MQTT packet a listener client may send; a larger one closes its connection.'),
    connectTimeoutMs: z
      .int()
      .min(1)
      .max(MAX_TIMER_MS)
      .default(10_000)
      .describe('A listener connection that has not sent its CONNECT within this is closed.'),
    maxRetainedMessages: z
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'Retained messages kept at most (all topics). A retained publish on a new topic beyond it is delivered but not kept; replacing or clearing ' +
          'a kept one always works. They are reloaded at every start and held in memory: 10,000 covers a site of devices with a few state topics each.',
      ),
    maxRetainedBytes: z
      .int()
      .min(0)
      .default(16 * 1024 * 1024)
      .describe('Topic and payload bytes of all retained messages together; a retained publish beyond it is delivered but not kept.'),
    maxRetainedPerClient: z
      .int()
      .min(0)
      .default(1000)
      .describe(
        'Retained messages one MQTT-SN or local MQTT client may have set (the bridge and messages restored at start count only in the totals), ' +
          'so that one client cannot take all of maxRetainedMessages.',
      ),
  })
  .prefault({})
  .describe('The local broker core.');
