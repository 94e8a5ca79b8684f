/**
 * The uplink port answered by the local broker core: aggregating mode, and a gateway with no
 * upstream at all. Every client shares the broker core, so a client's "connection" is the
 * gateway's and is always there: CONNECT, SUBSCRIBE, UNSUBSCRIBE and will updates are answered
 * at once, publishes go into the broker core, and a lost client's will is published here. The
 * bridge, when configured, sits behind the broker core and is not the gateway's business.
 */
import type { Uplink, Message, QoS, Will } from '../uplink/port.js';
import type { BrokerCore } from './types.js';

/** Origin tag of messages the gateway publishes into the broker core. */
export const MQTTSN_ORIGIN = 'mqttsn';

export function brokerUplink(broker: BrokerCore): Uplink {
  return {
    listen: (deliver) => broker.subscribe('#', (msg) => deliver(msg)),
    connect: () => 'accepted',
    // A retained message is charged to the client that set it (the broker's per-client cap).
    publish: (clientId: string | undefined, msg: Message) => broker.publish(msg.retain && clientId !== undefined ? { ...msg, owner: clientId } : msg, MQTTSN_ORIGIN),
    // Granted as asked: the broker core takes every QoS.
    subscribe: (_clientId: string, _filter: string, qos: QoS) => qos,
    retained: (filter) => broker.retained(filter),
    unsubscribe: () => undefined,
    disconnect: (clientId: string, graceful: boolean, will?: Will) =>
      graceful || will === undefined ? undefined : broker.publish({ topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, owner: clientId }, MQTTSN_ORIGIN),
  };
}
