/** SUBSCRIBE and UNSUBSCRIBE (MQTT-SN.md §4.9). */
import { ReturnCode, type SubQoS, type SubscribePacket, type UnsubscribePacket } from '../../codec/index.js';
import { ReasonCode as V2Reason } from '../../codec/v2/constants.js';
import { hasWildcards, validateTopicFilter, validateTopicName } from '../../topics/topic-names.js';
import { whenAnswered } from '../answer.js';
import type { GatewayCore } from '../core.js';
import type { Session, SubscribeOptions, SubscriptionKind } from '../session.js';
import { bump } from '../stats.js';
import { tooLong } from '../topic-budget.js';
import { fits, topicCost } from '../../topics/registry.js';
import type { Link } from '../types.js';

/** What a 1.2 SUBSCRIBE means: no options, retained messages after every SUBACK (MQTT-SN 1.2 §6.9). */
const V12_OPTIONS: SubscribeOptions = { noLocal: false, retainAsPublished: false, retainHandling: 0 };

export function onSubscribe(gw: GatewayCore, s: Session, p: SubscribePacket, link: Link, options: SubscribeOptions = V12_OPTIONS): void {
  /** `v2Reason`: what a 2.0 client is told where 1.2's 0x03 says less (wire-v2.ts) */
  const reject = (returnCode: number, v2Reason?: number): void => gw.send(link, { type: 'SUBACK', qos: 0, topicId: 0, msgId: p.msgId, returnCode }, v2Reason);
  // QoS -1 means nothing in a SUBSCRIBE (MQTT-SN.md §7), yet `mqtt-sn-12` sends it and then waits
  // for SUBACK: it is granted QoS 0, the nearest thing it can mean, rather than left unanswered.
  const requested: SubQoS = p.qos === -1 ? 0 : p.qos;

  let filter: string;
  let kind: SubscriptionKind;
  let topicId = 0;
  switch (p.topicIdType) {
    case 'normal':
      filter = p.topicName;
      if (tooLong(filter, gw.options.limits.maxTopicBytes)) {
        gw.refused('tooLarge', 'SUBSCRIBE refused: topic filter over limits.maxTopicBytes', { clientId: s.clientId, bytes: Buffer.byteLength(filter) });
        return reject(ReturnCode.NOT_SUPPORTED);
      }
      if (hasWildcards(filter)) {
        if (validateTopicFilter(filter) !== undefined) return reject(ReturnCode.NOT_SUPPORTED, V2Reason.TOPIC_FILTER_INVALID);
        kind = 'wildcard'; // SUBACK carries 0x0000; ids come later by REGISTER (§4.6)
      } else {
        if (validateTopicName(filter) !== undefined) return reject(ReturnCode.NOT_SUPPORTED, V2Reason.TOPIC_FILTER_INVALID);
        kind = 'name';
      }
      break;
    case 'predefined': {
      const name = gw.predefined.nameOf(p.topicId);
      if (name === undefined) return reject(ReturnCode.INVALID_TOPIC_ID);
      filter = name;
      kind = 'predefined';
      topicId = p.topicId; // echoed, as Paho does
      break;
    }
    case 'short':
      filter = p.topicName;
      if (validateTopicName(filter) !== undefined) return reject(ReturnCode.NOT_SUPPORTED);
      kind = 'short';
      break;
  }

  // Within an ACL filter, not merely overlapping it: `a/#` from a client allowed `a/b/#` would read `a/c`.
  if (!gw.auth.maySubscribe(s.clientId, filter)) {
    gw.refused('notAuthorized', 'SUBSCRIBE refused by the ACL', { clientId: s.clientId, filter });
    return reject(ReturnCode.NOT_SUPPORTED, V2Reason.NOT_AUTHORIZED);
  }
  const existing = s.subscriptions.get(filter);
  if (existing === undefined && s.subscriptions.size >= gw.options.limits.maxSubscriptionsPerClient) {
    bump(gw.stats.dropped, 'congestion');
    return reject(ReturnCode.CONGESTION);
  }
  // The filter, and for a topic name its new id too, against limits.maxTopicBytesTotal.
  const cost = existing === undefined ? topicCost(filter) * (kind === 'name' && s.registry.lookup(filter) === undefined ? 2 : 1) : 0;
  if (!fits(gw.topicBytes, cost)) {
    gw.refused('congestion', 'SUBSCRIBE refused: limits.maxTopicBytesTotal reached', { clientId: s.clientId, filter });
    return reject(ReturnCode.CONGESTION);
  }
  if (kind === 'name') {
    const id = s.registry.idFor(filter);
    if (id === 'full') {
      bump(gw.stats.dropped, 'congestion');
      return reject(ReturnCode.CONGESTION);
    }
    topicId = id;
    s.confirmedIds.add(id);
  }
  const record = (qos: SubQoS, store: boolean): void => {
    if (!s.subscriptions.has(filter)) gw.subscriptions.add(filter, s);
    s.subscriptions.set(filter, options === V12_OPTIONS ? { qos, kind } : { qos, kind, noLocal: options.noLocal, retainAsPublished: options.retainAsPublished });
    if (options.noLocal) s.noLocal = true;
    // A new SUBSCRIBE is the client asking again for topics whose REGISTER it refused (§4.6).
    if (kind === 'wildcard') s.refusedTopics.clear();
    else s.refusedTopics.delete(filter);
    if (store) gw.persistence.session(s);
    gw.send(link, { type: 'SUBACK', qos, topicId, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED });
  };

  // A retransmitted SUBSCRIBE (DUP, same filter and QoS) changes nothing and sends no retained again.
  const repeat = p.dup && existing?.qos === requested;
  // The uplink grants it (transparent: the upstream's subscription, and its retained messages).
  whenAnswered(
    gw.uplink.subscribe(s.clientId, filter, requested),
    (granted) => {
      if (gw.sessions.get(s.clientId) !== s) return;
      if (granted > 2) {
        gw.clientLog.info({ clientId: s.clientId, filter }, 'SUBSCRIBE refused by the upstream broker');
        return reject(ReturnCode.NOT_SUPPORTED);
      }
      const unchanged = repeat && granted === requested;
      record(granted as SubQoS, !unchanged);
      if (unchanged) return;
      // 2.0 Retain Handling [3.7.2.2]: 2 never, 1 only for a subscription that is new.
      if (options.retainHandling === 2 || (options.retainHandling === 1 && existing !== undefined)) return;
      // §4.9: retained messages follow the SUBACK, each with its REGISTER first where needed.
      gw.uplink.retained(filter).then(
        (messages) => {
          for (const m of messages) gw.enqueue(s, { topic: m.topic, payload: m.payload, qos: Math.min(m.qos, granted) as 0 | 1 | 2, retain: true });
        },
        (err: unknown) => gw.clientLog.warn({ clientId: s.clientId, filter, err }, 'could not read retained messages'),
      );
    },
    () => reject(ReturnCode.CONGESTION),
  );
}

export function onUnsubscribe(gw: GatewayCore, s: Session, p: UnsubscribePacket, link: Link): void {
  let filter: string | undefined;
  switch (p.topicIdType) {
    case 'normal':
    case 'short':
      filter = p.topicName;
      break;
    case 'predefined':
      filter = gw.predefined.nameOf(p.topicId);
      break;
  }
  if (filter !== undefined && s.subscriptions.delete(filter)) {
    gw.subscriptions.remove(filter, s);
    gw.persistence.session(s);
  }
  // v1.2 UNSUBACK has no return code: an unknown filter is answered all the same; a known one
  // once the uplink stopped sending it, so nothing of it follows UNSUBACK.
  const answer = (): void => gw.send(link, { type: 'UNSUBACK', msgId: p.msgId });
  if (filter === undefined) return answer();
  whenAnswered(gw.uplink.unsubscribe(s.clientId, filter), answer, answer);
}
