/**
 * Packets no request of the node was waiting for: the gateway's own messages. PUBLISH is
 * acknowledged and delivered once (QoS 2 receptions are remembered until PUBREL), REGISTER names
 * an id, PINGREQ is answered, an unsolicited DISCONNECT loses the gateway.
 */
import { SimError, SimErrorCode } from './errors.js';
import type { NodeObserver, SimMessage } from './node-types.js';
import { shortNameBytes, type TopicTable } from './topic-table.js';
import type { Event, Intent } from './wire/index.js';

type PublishEvent = Extract<Event, { type: 'PUBLISH' }>;

/** What the inbound side may do to its node. */
export interface InboundHost {
  readonly topics: TopicTable;
  readonly predefined: ReadonlyMap<number, string>;
  readonly observer: NodeObserver | undefined;
  /** active, asleep or awake: a session the gateway could end */
  connected(): boolean;
  send(p: Intent): void;
  /** hands a PUBLISH to the application */
  deliver(msg: SimMessage): void;
  registered(topicId: number, topicName: string): void;
  gateway(gwId: number, from: string | undefined): void;
  lost(err: SimError): void;
  heardSearch(): void;
  /** 2.0 WAKEUP: messages wait for the sleeping node */
  wakeup(): void;
}

export class InboundHandler {
  readonly #host: InboundHost;
  /** QoS 2 PUBLISHes delivered and waiting for PUBREL: never deliver twice (§4.7) */
  #qos2In = new Set<number>();

  constructor(host: InboundHost) {
    this.#host = host;
  }

  /** A clean session drops half-finished QoS 2 receptions with the gateway's state (§4.3). */
  clearSession(): void {
    this.#qos2In.clear();
  }

  handle(p: Event, from: string | undefined): void {
    const h = this.#host;
    switch (p.type) {
      case 'PUBLISH':
        this.#publish(p);
        return;
      case 'PUBREL':
        // §7: PUBREL for an unknown MsgId still gets PUBCOMP.
        this.#qos2In.delete(p.msgId);
        h.send({ type: 'PUBCOMP', msgId: p.msgId });
        return;
      case 'REGISTER':
        // §4.6: the gateway names an id it is about to publish with; always accepted.
        h.topics.remember(p.topicName, p.topicId);
        h.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId });
        h.registered(p.topicId, p.topicName);
        return;
      case 'PINGREQ':
        // §4.11: the gateway may ping the client.
        h.send({ type: 'PINGRESP' });
        return;
      case 'DISCONNECT':
        // §4.12 item 8: an unsolicited DISCONNECT; the client should CONNECT again.
        if (h.connected()) {
          h.lost(new SimError(SimErrorCode.GATEWAY_LOST, 'the gateway sent DISCONNECT'));
          return;
        }
        break;
      case 'GWINFO':
      case 'ADVERTISE':
        h.gateway(p.gwId, from);
        return;
      case 'SEARCHGW':
        h.heardSearch();
        return;
      case 'WAKEUP':
        // 2.0 [3.14]: a hint only; the node may wake now or when it planned to (MQTT-SN-3.14.2-1).
        h.wakeup();
        return;
      // Answers to the node's own requests arrive through its request engine, not here; whatever
      // else reaches this point is unexpected from a gateway and is reported to the observer.
      case 'AUTH':
      case 'CONNACK':
      case 'OTHER':
      case 'PINGRESP':
      case 'PUBACK':
      case 'PUBCOMP':
      case 'PUBREC':
      case 'REGACK':
      case 'SLEEPRESP':
      case 'SUBACK':
      case 'UNSUBACK':
      case 'WILLMSGREQ':
      case 'WILLMSGRESP':
      case 'WILLTOPICREQ':
      case 'WILLTOPICRESP':
        break;
    }
    h.observer?.unexpected(p);
  }

  #publish(p: PublishEvent): void {
    const h = this.#host;
    const t = p.topic;
    let topic: string | undefined;
    let topicId = 0;
    switch (t.topicIdType) {
      case 'normal':
        topicId = t.topicId;
        topic = h.topics.nameOf(t.topicId);
        if (topic === undefined) {
          // §4.10: the client answers PUBACK 0x02 (2.0: 0xF0) for an id it does not know; the
          // gateway must then REGISTER it again.
          if (p.qos === 1 || p.qos === 2) h.send({ type: 'PUBACK', topicId: t.topicId, msgId: p.msgId, invalidTopic: true });
          h.observer?.unexpected(p);
          return;
        }
        break;
      case 'predefined':
        topicId = t.topicId;
        topic = h.predefined.get(t.topicId);
        break;
      case 'short':
      case 'inline':
        topic = t.topicName;
        break;
    }
    const msg: SimMessage = { topic, topicIdType: t.topicIdType, topicId, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup, msgId: p.msgId };
    if (p.qos === 2) {
      // §4.7 mirrored (§4.10): a repeat before PUBREL gets PUBREC again, never a second delivery.
      const repeat = this.#qos2In.has(p.msgId);
      this.#qos2In.add(p.msgId);
      h.send({ type: 'PUBREC', msgId: p.msgId });
      if (repeat) {
        h.observer?.duplicate(msg);
        return;
      }
    } else if (p.qos === 1) {
      const wireId = t.topicIdType === 'short' ? shortNameBytes(t.topicName) : topicId;
      h.send({ type: 'PUBACK', topicId: wireId, msgId: p.msgId, invalidTopic: false });
    }
    h.deliver(msg);
  }
}
