/**
 * The broker core's messages to the sessions whose subscriptions match: once per session, at the
 * highest QoS granted among its matching subscriptions, with the subscription options of 2.0
 * (No Local [3.7.2.1], Retain as Published [3.7.2.3]) applied per subscription.
 */
import type { Message } from '../message.js';
import type { TopicTrie } from '../topics/trie.js';
import type { Session } from './session.js';
import type { Delivery } from './types.js';

export class FanOut {
  #seq = 0;
  /** payloads published by sessions with a No Local subscription, by the publishing session */
  readonly #own = new WeakMap<Buffer, Session>();

  constructor(
    readonly subscriptions: TopicTrie<Session>,
    readonly deliver: (s: Session, d: Delivery) => void,
  ) {}

  /**
   * A session publishes `payload`. No Local is emulated in the broker core: the message comes back
   * through it with the same payload object (aedes hands its in-process subscribers the
   * publisher's packet), which is how the fan-out knows the sender. Only sessions that ever had a
   * No Local subscription are remembered, weakly.
   */
  published(payload: Buffer, from: Session | undefined): void {
    if (from?.noLocal === true) this.#own.set(payload, from);
  }

  message(msg: Message): void {
    const seq = ++this.#seq;
    const targets: Session[] = [];
    const publisher = this.#own.get(msg.payload);
    this.subscriptions.match(msg.topic, (s, filter) => {
      const sub = s.subscriptions.get(filter);
      // 2.0 No Local: not by this subscription to the client that published it.
      if (sub?.noLocal === true && s === publisher) return;
      const q = sub?.qos ?? 0;
      // Live messages go out with retain 0 (MQTT 3.1.1 §3.3.1.3), unless a 2.0 subscription asks
      // for the publisher's flag (Retain as Published; the broker core hands it on).
      const retain = sub?.retainAsPublished === true && msg.retain;
      if (s.matchSeq !== seq) {
        s.matchSeq = seq;
        s.matchQos = q;
        s.matchRetain = retain;
        targets.push(s);
      } else {
        if (q > s.matchQos) s.matchQos = q;
        if (retain) s.matchRetain = true;
      }
    });
    for (const s of targets) this.deliver(s, { topic: msg.topic, payload: msg.payload, qos: Math.min(msg.qos, s.matchQos) as 0 | 1 | 2, retain: s.matchRetain });
  }
}
