/** fast-check generators of every valid MQTT-SN 2.0 packet; shared by the 2.0 codec's property tests. */
import fc from 'fast-check';
import type * as v2 from '../../../src/codec/v2/index.js';

const byte = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const packetId = fc.integer({ min: 1, max: 0xffff });
const qos = fc.constantFrom<v2.QoS>(0, 1, 2);
const bytes = (max: number, min = 0): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
/** [1.8.4]: any well-formed string without U+0000. */
const text = (max: number, min = 0): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme', minLength: min, maxLength: max }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) >= min);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

/** Drop keys whose value is undefined: a decoded packet has no key for an absent field. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

/** Every way a PUBLISH, PUBWOS or Will names its topic [2.4]. */
export const anyTopicRef: fc.Arbitrary<v2.TopicRef> = fc.oneof(
  fc.record({ topicType: fc.constant('session' as const), topicAlias: u16 }),
  fc.record({ topicType: fc.constant('predefined' as const), topicAlias: u16 }),
  fc.record({ topicType: fc.constant('name' as const), topicName: text(30) }),
);
const filterRef: fc.Arbitrary<v2.FilterRef> = fc.oneof(
  fc.record({ topicType: fc.constant('session' as const), topicAlias: u16 }),
  fc.record({ topicType: fc.constant('predefined' as const), topicAlias: u16 }),
  fc.record({ topicType: fc.constant('filter' as const), topicFilter: text(30) }),
);
const aliasType = fc.constantFrom<v2.AliasType>('session', 'predefined');
// fc.record builds null-prototype objects; a decoded nested object is a plain one.
const auth: fc.Arbitrary<v2.Auth> = fc.record({ method: text(20), data: bytes(20) }).map((a) => ({ ...a }));

const connect: fc.Arbitrary<v2.Packet> = fc
  .record({
    cleanStart: fc.boolean(),
    allowNetworkAddressChanges: fc.boolean(),
    allowServerSuggestedValues: fc.boolean(),
    packetId,
    protocolVersion: byte,
    keepAlive: u16,
    maxPacketSize: u16,
    defaultAwakeMessages: maybe(byte),
    sessionExpiryInterval: maybe(u32),
    will: maybe(fc.record({ qos, retain: fc.boolean(), payload: bytes(20), topic: anyTopicRef }).map(({ topic, ...w }): v2.Will => ({ ...w, ...topic }))),
    auth: maybe(auth),
    clientId: text(30),
  })
  .map((r) => compact<v2.Packet>({ type: 'CONNECT', ...r }));

const publish: fc.Arbitrary<v2.Packet> = fc
  .record({ dup: fc.boolean(), qos, retain: fc.boolean(), packetId, payload: bytes(300), topic: anyTopicRef })
  .map(({ topic, packetId: id, ...r }): v2.Packet => (r.qos === 0 ? { type: 'PUBLISH', ...r, ...topic } : { type: 'PUBLISH', ...r, packetId: id, ...topic }));

/** A tag-length code and scheme the codec can size, with a tag of that size. */
const protection: fc.Arbitrary<v2.Packet> = fc
  .record({
    scheme: fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x3c, 0x40, 0x43, 0x46, 0x49),
    truncate: fc.integer({ min: 4, max: 15 }),
    truncated: fc.boolean(),
    senderId: bytes(8, 8),
    random: bytes(4, 4),
    cryptoMaterial: maybe(fc.constantFrom(2, 4, 12).chain((n) => bytes(n, n))),
    monotonicCounter: maybe(fc.constantFrom(2, 4).chain((n) => bytes(n, n))),
    protectedPacket: bytes(40, 2),
  })
  .filter(({ scheme, truncated }) => truncated || scheme !== 0x3c) // a provider scheme's nominal size is the provider's
  .map(({ scheme, truncate, truncated, ...r }) => {
    const authOnly = scheme <= 0x04 || scheme === 0x3c;
    const nominal = scheme <= 0x01 ? 32 : 16;
    // Truncation only for Authentication-Only schemes and never above the nominal size [3.17.2.3].
    const code = truncated && authOnly ? Math.min(truncate, scheme === 0x3c ? 15 : nominal / 2) : 1;
    const tag = code === 1 ? (scheme >= 0x40 && scheme <= 0x42 ? 8 : nominal) : code * 2;
    return compact<v2.Packet>({ type: 'PROTECTION_ENCAPSULATION', authTagLengthCode: code, protectionScheme: scheme, ...r, authTag: Buffer.alloc(tag, 0xa5) });
  });

const ack = (type: 'PUBACK' | 'PUBREC' | 'PUBREL' | 'PUBCOMP' | 'UNSUBACK'): fc.Arbitrary<v2.Packet> =>
  fc.record({ packetId, reasonCode: maybe(byte) }).map((r) => compact<v2.Packet>({ type, ...r }));

const aliasAck = (type: 'REGACK' | 'SUBACK'): fc.Arbitrary<v2.Packet> =>
  fc.record({ topicType: aliasType, packetId, topicAlias: maybe(u16), reasonCode: maybe(byte) }).map((r) => compact<v2.Packet>({ type, ...r }));

export const anyPacket2: fc.Arbitrary<v2.Packet> = fc.oneof(
  connect,
  fc
    .record({ sessionPresent: fc.boolean(), packetId, reasonCode: byte, sessionExpiryInterval: maybe(u32), serverKeepAlive: maybe(u16), auth: maybe(auth), assignedClientId: maybe(text(36, 1)) })
    .map((r) => compact<v2.Packet>({ type: 'CONNACK', ...r })),
  fc.record({ packetId, reasonCode: byte, method: text(20), data: bytes(30) }).map((r): v2.Packet => ({ type: 'AUTH', ...r })),
  fc.record({ packetId, topicAlias: maybe(u16), topicName: text(40) }).map((r) => compact<v2.Packet>({ type: 'REGISTER', ...r })),
  aliasAck('REGACK'),
  publish,
  ack('PUBACK'),
  ack('PUBREC'),
  ack('PUBREL'),
  ack('PUBCOMP'),
  fc
    .record({ noLocal: fc.boolean(), qos, retainAsPublished: fc.boolean(), retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2), packetId, topic: filterRef })
    .map(({ topic, ...r }): v2.Packet => ({ type: 'SUBSCRIBE', ...r, ...topic })),
  aliasAck('SUBACK'),
  fc.record({ packetId, topic: filterRef }).map(({ topic, ...r }): v2.Packet => ({ type: 'UNSUBSCRIBE', ...r, ...topic })),
  ack('UNSUBACK'),
  packetId.map((id): v2.Packet => ({ type: 'PINGREQ', packetId: id })),
  fc.record({ packetId, appMessagesRemaining: maybe(byte) }).map((r) => compact<v2.Packet>({ type: 'PINGRESP', ...r })),
  fc
    .record({ packetId: maybe(packetId), sessionExpiryInterval: maybe(u32), reasonCode: maybe(byte), reasonString: maybe(text(30, 1)) })
    .map((r) => compact<v2.Packet>({ type: 'DISCONNECT', ...r })),
  fc.record({ retainTopicAliases: fc.boolean(), packetId, sleepDuration: u32 }).map((r): v2.Packet => ({ type: 'SLEEPREQ', ...r })),
  fc.record({ packetId, sleepDuration: maybe(u32), reasonCode: maybe(byte) }).map((r) => compact<v2.Packet>({ type: 'SLEEPRESP', ...r })),
  fc.constant<v2.Packet>({ type: 'WAKEUP' }),
  fc
    .record({
      retain: fc.boolean(),
      payload: bytes(60),
      topic: fc.oneof(fc.record({ topicType: fc.constant('predefined' as const), topicAlias: u16 }), fc.record({ topicType: fc.constant('name' as const), topicName: text(30) })),
    })
    .map(({ topic, ...r }): v2.Packet => ({ type: 'PUBWOS', ...r, ...topic })),
  fc.record({ gatewayId: byte, duration: u16 }).map((r): v2.Packet => ({ type: 'ADVERTISE', ...r })),
  maybe(bytes(8, 1)).map((info) => compact<v2.Packet>({ type: 'SEARCHGW', additionalNetworkInfo: info })),
  fc.record({ gatewayId: byte, gatewayAddress: maybe(bytes(16, 1)) }).map((r) => compact<v2.Packet>({ type: 'GWINFO', ...r })),
  fc.record({ clientAddressingInfo: bytes(12), packet: bytes(40, 2) }).map((r): v2.Packet => ({ type: 'FORWARDER_ENCAPSULATION', ...r })),
  fc.record({ clientId: text(23), packet: bytes(40, 2) }).map((r): v2.Packet => ({ type: 'CONNECTION_ENCAPSULATION', ...r })),
  protection,
);
