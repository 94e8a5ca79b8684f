/**
 * The node's topic conversations with the gateway: REGISTER (MQTT-SN.md §4.6), SUBSCRIBE and
 * UNSUBSCRIBE (§4.9). Each takes a message id and waits for the answer carrying it.
 */
import type { SubQoS, SubscriptionTopic } from '../src/codec/index.js';
import { rcError, SimError, SimErrorCode } from './errors.js';
import type { SubscribeResult } from './node-types.js';
import { describeTopic, hasWildcard } from './topic-table.js';
import type { VerbHost } from './verb-host.js';

/** REGISTER `name` unless the node already holds an id for it; resolves with the id. */
export async function registerTopic(host: VerbHost, name: string): Promise<number> {
  const known = host.topics.topicOf(name);
  if (known !== undefined) return known.topicId;
  host.requireState(['active'], 'register');
  const msgId = host.requests.allocMsgId();
  const { packet: reply } = await host.requests.exchange({
    kind: 'register',
    packet: { type: 'REGISTER', msgId, topicName: name },
  });
  if (reply.type !== 'REGACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to REGISTER');
  if (reply.result.meaning !== 'accepted') throw rcError(`REGISTER ${name}`, reply.result);
  // 2.0 MQTT-SN-4.7.2.2-5: a name with a predefined alias gets that alias (0x1A), not a session one.
  if (reply.predefined) host.topics.rememberPredefined(name, reply.topicId);
  else host.topics.remember(name, reply.topicId);
  return reply.topicId;
}

export async function subscribeTopic(host: VerbHost, t: SubscriptionTopic, qos: SubQoS): Promise<SubscribeResult> {
  host.requireState(['active'], 'subscribe');
  const msgId = host.requests.allocMsgId();
  const packet = { type: 'SUBSCRIBE', dup: false, qos, msgId, topic: t } as const;
  const { packet: reply } = await host.requests.exchange({
    kind: 'subscribe',
    packet,
    // §1.3: DUP is meaningful for SUBSCRIBE; the gateway must answer a repeat idempotently (§4.9).
    retransmit: () => host.wire.encode({ ...packet, dup: true }),
  });
  if (reply.type !== 'SUBACK') throw new SimError(SimErrorCode.REJECTED, 'unexpected answer to SUBSCRIBE');
  if (reply.result.meaning !== 'accepted') throw rcError(`SUBSCRIBE ${describeTopic(t)}`, reply.result);
  // §4.9 (2.0 MQTT-SN-4.7.2.2-2): a wildcard-free name gets the id the gateway will publish with.
  if (t.topicIdType === 'normal' && !hasWildcard(t.topicName) && reply.topicId !== 0) {
    if (reply.predefined) host.topics.rememberPredefined(t.topicName, reply.topicId);
    else host.topics.remember(t.topicName, reply.topicId);
  }
  return { topicId: reply.topicId, grantedQos: reply.grantedQos };
}

export async function unsubscribeTopic(host: VerbHost, t: SubscriptionTopic): Promise<void> {
  host.requireState(['active'], 'unsubscribe');
  const msgId = host.requests.allocMsgId();
  await host.requests.exchange({
    kind: 'unsubscribe',
    packet: { type: 'UNSUBSCRIBE', msgId, topic: t },
  });
}
