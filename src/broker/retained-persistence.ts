/**
 * The local broker core's retained messages across restarts. aedes keeps them in memory only; the
 * session store keeps them on disk. At start the stored ones go back into the broker, tagged
 * `STORE_ORIGIN`; from then on every retained publish or clear, whoever made it (an MQTT-SN client,
 * a local MQTT client, the bridge), is written to the store.
 *
 * Topics starting with '$' are not kept: a '#' subscription does not see them ([MQTT-4.7.2-1]),
 * and they are the broker's own ($SYS), rebuilt by it.
 */
import type { Logger } from '../logger.js';
import type { SessionStore } from '../store/session-store.js';
import type { BrokerCore, BrokerMessage } from './types.js';

/**
 * Origin tag of the retained messages the store gives back at start. They were delivered before
 * the restart: whoever forwards messages elsewhere (the bridge) must not send them again.
 */
export const STORE_ORIGIN = 'store';

export interface RetainedPersistence {
  /** retained messages put back into the broker at start */
  readonly restored: number;
  /** Stops recording (the store stays open). */
  stop(): Promise<void>;
}

/**
 * Puts the stored retained messages back into the broker, then records every retained publish
 * into the store. Call it before the gateway and the bridge subscribe to the broker, so that the
 * restored messages reach them only as retained messages (on SUBSCRIBE), never as live ones.
 */
export async function persistRetained(broker: BrokerCore, store: SessionStore, deps: { logger?: Logger } = {}): Promise<RetainedPersistence> {
  const { retained } = await store.load();
  let restored = 0;
  let dropped = 0;
  for (const m of retained) {
    try {
      await broker.publish({ topic: m.topic, payload: m.payload, qos: m.qos, retain: true }, STORE_ORIGIN);
      // Over a retained cap (broker.maxRetained*, lowered since it was stored): not kept by the
      // broker, so not kept here either, or the file would hold it for good.
      if ((await broker.retained(m.topic)).length === 0) {
        store.setRetained({ topic: m.topic, payload: Buffer.alloc(0), qos: m.qos });
        dropped++;
        continue;
      }
      restored++;
    } catch (err) {
      // One the broker now refuses (a limit changed, say) costs that message, not the start.
      deps.logger?.warn({ topic: m.topic, err }, 'stored retained message refused by the broker core');
    }
  }
  if (restored > 0) deps.logger?.info({ retained: restored }, 'retained messages restored from the store');
  if (dropped > 0) deps.logger?.warn({ dropped }, 'stored retained messages over broker.maxRetained* dropped');
  const off = await broker.subscribe('#', (msg, origin) => {
    // `retain` is as published here (see BrokerCore.subscribe): set on every publish that sets or
    // clears a retained message, and on nothing else.
    if (!msg.retain || origin === STORE_ORIGIN) return;
    // Inside the broker's dispatch, before the publish resolves: a gateway flush after the publish
    // (the one before PUBACK) covers this write too.
    store.setRetained({ topic: msg.topic, payload: msg.payload, qos: msg.qos });
  });
  return { restored, stop: off };
}

/**
 * The broker core as a component that acknowledges to the outside world (the upstream bridge)
 * should see it when state is durable:
 * - `publish` resolves only once what the message caused (a message buffered for a sleeper, a
 *   retained message) is committed to the store, so an acknowledgement upstream waits for it;
 * - messages the store restored at start (`STORE_ORIGIN`) are not delivered to its subscriptions:
 *   they went out before the restart.
 */
export function durableBrokerView(broker: BrokerCore, store: Pick<SessionStore, 'flush'>): BrokerCore {
  return {
    publish: (msg: BrokerMessage, origin?: string) => broker.publish(msg, origin).then(() => store.flush()),
    subscribe: (filter, handler) =>
      broker.subscribe(filter, (msg, origin) => {
        if (origin !== STORE_ORIGIN) handler(msg, origin);
      }),
    retained: (filter) => broker.retained(filter),
    get listeners() {
      return broker.listeners;
    },
    close: () => broker.close(),
  };
}
