/**
 * The node's topic conversations with the gateway: REGISTER (MQTT-SN.md §4.6), SUBSCRIBE and
 * UNSUBSCRIBE (§4.9). Each takes a message id and waits for the answer carrying it.
 */
import { encode, ReturnCode, type Packet, type SubQoS, type SubscriptionTopic } from '../src/codec/index.js';
import { rcError, SimError, SimErrorCode } from './errors.js';
import type { SubscribeResult } from './node-types.js';
import { answerTo } from './requests.js';
import { describeTopic, hasWildcard } from './topic-table.js';
import type { VerbHost } from './verb-host.js';

/** REGISTER `name` unless the node already holds an id for it; resolves with the id. */
export async function registerTopic(host: VerbHost, name: string): Promise<number> {
  const known = host.topics.idOf(name);
  if (known !== undefined) return known;
  host.requireState(['active'], 'register');
  const msgId = host.requests.allocMsgId();
  const { packet: reply } = await host.requests.exchange({
    kind: 'register',
    msgId,
    packet: { type: 'REGISTER', topicId: 0, msgId, topicName: name },
    accept: answerTo('REGACK', msgId),
  });
  if (reply.type !== 'REGACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to REGISTER');
  if (reply.returnCode !== ReturnCode.ACCEPTED) throw rcError(`REGISTER ${name}`, reply.returnCode);
  host.topics.remember(name, reply.topicId);
  return reply.topicId;
}

export async function subscribeTopic(host: VerbHost, t: SubscriptionTopic, qos: SubQoS): Promise<SubscribeResult> {
  host.requireState(['active'], 'subscribe');
  const msgId = host.requests.allocMsgId();
  const packet: Packet = { type: 'SUBSCRIBE', dup: false, qos, msgId, ...t };
  const { packet: reply } = await host.requests.exchange({
    kind: 'subscribe',
    msgId,
    packet,
    // §1.3: DUP is meaningful for SUBSCRIBE; the gateway must answer a repeat idempotently (§4.9).
    retransmit: () => encode({ ...packet, dup: true }),
    accept: answerTo('SUBACK', msgId),
  });
  if (reply.type !== 'SUBACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to SUBSCRIBE');
  if (reply.returnCode !== ReturnCode.ACCEPTED) throw rcError(`SUBSCRIBE ${describeTopic(t)}`, reply.returnCode);
  // §4.9: a wildcard-free name gets the id the gateway will publish with.
  if (t.topicIdType === 'normal' && !hasWildcard(t.topicName) && reply.topicId !== 0) host.topics.remember(t.topicName, reply.topicId);
  return { topicId: reply.topicId, grantedQos: reply.qos };
}

export async function unsubscribeTopic(host: VerbHost, t: SubscriptionTopic): Promise<void> {
  host.requireState(['active'], 'unsubscribe');
  const msgId = host.requests.allocMsgId();
  await host.requests.exchange({
    kind: 'unsubscribe',
    msgId,
    packet: { type: 'UNSUBSCRIBE', msgId, ...t },
    accept: answerTo('UNSUBACK', msgId),
  });
}
