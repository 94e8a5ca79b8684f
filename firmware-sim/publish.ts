/**
 * The node's PUBLISH (MQTT-SN.md §4.7, §4.8): QoS -1 and 0 go out at once, QoS 1 and 2 one at a
 * time on the publish lane, retransmitted with DUP=1 until PUBACK / PUBCOMP (§4.13). A topic
 * name is registered first when the node has no id for it.
 */
import type { PublishTopic, QoS } from '../src/codec/index.js';
import { rcError, SimError, SimErrorCode } from './errors.js';
import type { PublishOptions, PublishResult, RequestKind } from './node-types.js';
import { hasWildcard, shortNameBytes } from './topic-table.js';
import type { VerbHost } from './verb-host.js';

const PUBLISH_KIND = { '-1': 'publish-1', '0': 'publish0', '1': 'publish1', '2': 'publish2' } as const satisfies Record<QoS, RequestKind>;

export const toBuffer = (p: Buffer | string | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p);

/** A publish that never left is reported as refused, one that left as sent and then done or failed. */
export async function publish(host: VerbHost, options: PublishOptions): Promise<PublishResult> {
  const qos = options.qos ?? 0;
  const track = { sent: false };
  try {
    return await publishTo(host, options, qos, track);
  } catch (err) {
    if (!track.sent) host.observer?.refused(PUBLISH_KIND[qos], err instanceof SimError ? err.code : 'ERROR');
    throw err;
  }
}

async function publishTo(host: VerbHost, options: PublishOptions, qos: QoS, track: { sent: boolean }): Promise<PublishResult> {
  const payload = toBuffer(options.payload);
  const retain = options.retain ?? false;
  if ('topic' in options) {
    if (qos === -1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'QoS -1 needs a predefined id or a short name (§4.8)');
    const name = options.topic;
    for (let attempt = 0; ; attempt++) {
      const topic = host.topics.topicOf(name) ?? { topicIdType: 'normal', topicId: await host.register(name) };
      try {
        return await publishOn(host, host.topics.topicOf(name) ?? topic, payload, qos, retain, track);
      } catch (err) {
        // §4.7: an invalid-topic PUBACK means the gateway forgot the id: register again.
        if (attempt > 0 || !(err instanceof SimError) || err.meaning !== 'invalid-topic' || topic.topicIdType !== 'normal') throw err;
        host.topics.forget(name, topic.topicId);
      }
    }
  }
  let topic: PublishTopic;
  if ('topicId' in options) {
    if (qos === -1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'QoS -1 needs a predefined id or a short name (§4.8)');
    topic = { topicIdType: 'normal', topicId: options.topicId };
  } else if ('shortName' in options) {
    shortNameBytes(options.shortName);
    topic = { topicIdType: 'short', topicName: options.shortName };
  } else if ('topicName' in options) {
    if (options.topicName === '' || hasWildcard(options.topicName)) throw new SimError(SimErrorCode.BAD_ARGUMENT, `cannot publish to "${options.topicName}": a topic name, not a filter`);
    // 2.0 MQTT-SN-4.7.2-1: a name the node holds an alias for travels as that alias.
    topic = host.topics.topicOf(options.topicName) ?? { topicIdType: 'inline', topicName: options.topicName };
  } else {
    topic = { topicIdType: 'predefined', topicId: options.predefinedId };
  }
  return publishOn(host, topic, payload, qos, retain, track);
}

function publishOn(host: VerbHost, topic: PublishTopic, payload: Buffer, qos: QoS, retain: boolean, track: { sent: boolean }): Promise<PublishResult> {
  if (qos === -1 || qos === 0) {
    // QoS -1 goes out in any state, even unconnected (§4.8); QoS 0 needs a connection.
    if (qos === 0) host.requireState(['active'], 'publish');
    else host.assertOpen();
    host.sendFrame(host.wire.encode({ type: 'PUBLISH', dup: false, qos, retain, msgId: 0, payload, topic }));
    track.sent = true;
    host.observer?.sent(PUBLISH_KIND[qos]);
    return Promise.resolve({ msgId: 0, latencyMs: 0, retransmissions: 0 });
  }
  return host.lanes.serial('publish', () => publishAcked(host, topic, payload, qos, retain, track));
}

async function publishAcked(host: VerbHost, topic: PublishTopic, payload: Buffer, qos: 1 | 2, retain: boolean, track: { sent: boolean }): Promise<PublishResult> {
  host.requireState(['active'], 'publish');
  const kind = qos === 1 ? 'publish1' : 'publish2';
  const msgId = host.requests.allocMsgId();
  const packet = { type: 'PUBLISH', dup: false, qos, retain, msgId, payload, topic } as const;
  const started = host.clock.now();
  let retransmissions = 0;
  track.sent = true;
  host.observer?.sent(kind);
  try {
    const { packet: first } = await host.requests.exchange({
      kind,
      packet,
      report: false,
      retransmit: () => {
        retransmissions++;
        return host.wire.encode({ ...packet, dup: true });
      },
      // An error PUBACK answers a QoS 2 PUBLISH too (§4.7).
      accept: ({ packet: p }) => (p.type === 'PUBACK' || (qos === 2 && p.type === 'PUBREC')) && p.msgId === msgId,
    });
    if ((first.type === 'PUBACK' || first.type === 'PUBREC') && first.result.meaning !== 'accepted') throw rcError('PUBLISH', first.result);
    if (first.type === 'PUBREC') {
      // QoS 2, second half: PUBREL until PUBCOMP; a repeated PUBREC means our PUBREL was lost.
      await host.requests.exchange({
        kind,
        packet: { type: 'PUBREL', msgId },
        report: false,
        retransmit: () => {
          retransmissions++;
          return host.wire.encode({ type: 'PUBREL', msgId });
        },
        accept: ({ packet: p }) => ((p.type === 'PUBCOMP' || p.type === 'PUBREC') && p.msgId === msgId ? (p.type === 'PUBCOMP' ? true : 'resend') : false),
      });
    }
  } catch (err) {
    host.observer?.failed(kind, err instanceof SimError ? err.code : 'ERROR');
    throw err;
  }
  const latencyMs = host.clock.now() - started;
  host.observer?.done(kind, latencyMs);
  return { msgId, latencyMs, retransmissions };
}
