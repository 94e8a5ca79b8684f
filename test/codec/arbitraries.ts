/** fast-check generators of every valid MQTT-SN packet; shared by the codec's property tests. */
import fc from 'fast-check';
import type { Packet, PublishTopic, QoS, SubQoS } from '../../src/codec/index.js';

const byte = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const msgId = fc.integer({ min: 1, max: 0xffff });
/** REGISTER, SUBSCRIBE, UNSUBSCRIBE and their answers: 1.2 reserves MsgId 0 only in PUBLISH. */
const anyMsgId = u16;
const topicId = fc.integer({ min: 1, max: 0xfffe });
const rc = byte;
const subQos = fc.constantFrom<SubQoS>(0, 1, 2);
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const text = (max: number): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength: max });
/** Two UTF-8 bytes: two ASCII characters or one 2-byte character. */
const shortName = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 2, maxLength: 2 }),
  fc.integer({ min: 0x80, max: 0x7ff }).map((c) => String.fromCharCode(c)),
);

/** Every form a PUBLISH names its topic in, each valid on its own (the QoS narrows them further). */
export const anyPublishTopic: fc.Arbitrary<PublishTopic> = fc.oneof(
  fc.record({ topicIdType: fc.constant('normal' as const), topicId }),
  fc.record({ topicIdType: fc.constant('predefined' as const), topicId }),
  fc.record({ topicIdType: fc.constant('short' as const), topicName: shortName }),
  fc.record({ topicIdType: fc.constant('inline' as const), topicName: text(30).filter((s) => s.length > 0) }),
);

const publish: fc.Arbitrary<Packet> = fc
  .record({
    dup: fc.boolean(),
    qos: fc.constantFrom<QoS>(-1, 0, 1, 2),
    retain: fc.boolean(),
    id: msgId,
    payload: bytes(400),
    topic: anyPublishTopic,
  })
  .map(({ dup, qos, retain, id, payload, topic }): Packet => {
    // Fit the topic form to the QoS the way a correct sender must.
    let t = topic;
    if (qos === -1 && t.topicIdType === 'normal') t = { topicIdType: 'predefined', topicId: t.topicId };
    if (qos !== -1 && t.topicIdType === 'inline') t = { topicIdType: 'short', topicName: 'ab' };
    return { type: 'PUBLISH', dup, qos, retain, msgId: qos > 0 ? id : 0, payload, ...t };
  });

const subTopic = fc.oneof(
  fc.record({ topicIdType: fc.constant('normal' as const), topicName: text(40) }),
  fc.record({ topicIdType: fc.constant('predefined' as const), topicId }),
  fc.record({ topicIdType: fc.constant('short' as const), topicName: shortName }),
);

const willTopic = (type: 'WILLTOPIC' | 'WILLTOPICUPD'): fc.Arbitrary<Packet> =>
  fc.oneof(
    fc.constant<Packet>({ type, qos: 0, retain: false, willTopic: null }),
    fc.record({ qos: subQos, retain: fc.boolean(), willTopic: text(40) }).map((r): Packet => ({ type, ...r })),
  );

export const anyPacket: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({ gwId: byte, duration: u16 }).map((r): Packet => ({ type: 'ADVERTISE', ...r })),
  fc.record({ radius: byte }).map((r): Packet => ({ type: 'SEARCHGW', ...r })),
  fc.record({ gwId: byte, gwAdd: fc.option(bytes(16).filter((b) => b.length > 0), { nil: undefined }) }).map(
    ({ gwId, gwAdd }): Packet => (gwAdd === undefined ? { type: 'GWINFO', gwId } : { type: 'GWINFO', gwId, gwAdd }),
  ),
  fc
    .record({ will: fc.boolean(), cleanSession: fc.boolean(), protocolId: byte, duration: u16, clientId: text(30) })
    .map((r): Packet => ({ type: 'CONNECT', ...r })),
  rc.map((returnCode): Packet => ({ type: 'CONNACK', returnCode })),
  fc.constant<Packet>({ type: 'WILLTOPICREQ' }),
  willTopic('WILLTOPIC'),
  fc.constant<Packet>({ type: 'WILLMSGREQ' }),
  bytes(60).map((willMsg): Packet => ({ type: 'WILLMSG', willMsg })),
  fc.record({ topicId: u16, msgId: anyMsgId, topicName: text(60) }).map((r): Packet => ({ type: 'REGISTER', ...r })),
  fc.record({ topicId: u16, msgId: anyMsgId, returnCode: rc }).map((r): Packet => ({ type: 'REGACK', ...r })),
  publish,
  fc.record({ topicId: u16, msgId: u16, returnCode: rc }).map((r): Packet => ({ type: 'PUBACK', ...r })),
  fc
    .record({ type: fc.constantFrom('PUBREC' as const, 'PUBREL' as const, 'PUBCOMP' as const), msgId })
    .map((r): Packet => ({ ...r })),
  anyMsgId.map((m): Packet => ({ type: 'UNSUBACK', msgId: m })),
  fc
    .record({ dup: fc.boolean(), qos: fc.constantFrom<QoS>(-1, 0, 1, 2), msgId: anyMsgId, topic: subTopic })
    .map(({ topic, ...r }): Packet => ({ type: 'SUBSCRIBE', ...r, ...topic })),
  fc.record({ qos: subQos, topicId: u16, msgId: anyMsgId, returnCode: rc }).map((r): Packet => ({ type: 'SUBACK', ...r })),
  fc.record({ msgId: anyMsgId, topic: subTopic }).map(({ msgId: m, topic }): Packet => ({ type: 'UNSUBSCRIBE', msgId: m, ...topic })),
  fc.option(text(30).filter((s) => s.length > 0), { nil: undefined }).map((clientId): Packet =>
    clientId === undefined ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId },
  ),
  fc.constant<Packet>({ type: 'PINGRESP' }),
  fc.option(u16, { nil: undefined }).map((duration): Packet => (duration === undefined ? { type: 'DISCONNECT' } : { type: 'DISCONNECT', duration })),
  willTopic('WILLTOPICUPD'),
  rc.map((returnCode): Packet => ({ type: 'WILLTOPICRESP', returnCode })),
  bytes(60).map((willMsg): Packet => ({ type: 'WILLMSGUPD', willMsg })),
  rc.map((returnCode): Packet => ({ type: 'WILLMSGRESP', returnCode })),
  fc
    .record({ radius: fc.integer({ min: 0, max: 3 }), wirelessNodeId: bytes(8).filter((b) => b.length > 0), message: bytes(40).filter((b) => b.length >= 2) })
    .map((r): Packet => ({ type: 'ENCAPSULATED', ...r })),
);
