/**
 * The node's wire in MQTT-SN 2.0 (OASIS CSD01, /work/shared/protocol/MQTT-SN-2.0.md): intents as
 * 2.0 packets, 2.0 packets as events. Section numbers are the draft's.
 *
 * What differs from 1.2 and lives only here: a Packet Identifier on CONNECT, PINGREQ and SLEEPREQ
 * [2.2]; the will inside CONNECT [3.1.3]; Clean Start with a Session Expiry Interval [3.1.9];
 * MQTT-BASIC authentication [4.11]; Reason Codes [2.3]; sleep by SLEEPREQ / SLEEPRESP and wake by a
 * PINGREQ without client id [3.11, 3.15]; DISCONNECT never answered [3.13]; PUBWOS for 1.2's QoS -1
 * [3.6.1]; DUP only on QoS 2 [3.6.2.2.3]; no retransmitted CONNECT (MQTT-SN-4.4.2-1).
 */
import { DecodeError, EncodeError, v2 } from '../../src/codec/index.js';
import type { PublishTopic, SubscriptionTopic } from '../../src/codec/index.js';
import { SimError, SimErrorCode } from '../errors.js';
import { ACK_OF, answerTo } from './answer.js';
import type { Credentials, Event, Intent, Result, Wire } from './types.js';

const RC = v2.ReasonCode;

/** The authentication method that carries an MQTT user name and password [4.11]. */
export const MQTT_BASIC = 'MQTT-BASIC';

const CONGESTION: ReadonlySet<number> = new Set([RC.CONGESTION, RC.SERVER_BUSY]);
const INVALID_TOPIC: ReadonlySet<number> = new Set([RC.UNKNOWN_TOPIC_ALIAS, RC.TOPIC_ALIAS_INVALID]);
const NOT_SUPPORTED: ReadonlySet<number> = new Set([
  RC.UNSUPPORTED_PROTOCOL_VERSION,
  RC.BAD_AUTHENTICATION_METHOD,
  RC.RETAIN_NOT_SUPPORTED,
  RC.QOS_NOT_SUPPORTED,
  RC.WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED,
  RC.PROTECTION_NOT_SUPPORTED,
  RC.FORWARDER_ENCAPSULATION_NOT_SUPPORTED,
]);

/** A 2.0 Reason Code [2.3] as a result: below 0x80 success (0x10, 0x1A and granted QoS included). */
export function result2(code: number): Result {
  const name = (v2.ReasonCodeName[code] ?? 'reserved').toLowerCase().replaceAll('_', ' ');
  if (!v2.isFailure(code)) return { code, meaning: 'accepted', name };
  const meaning = CONGESTION.has(code) ? 'congestion' : INVALID_TOPIC.has(code) ? 'invalid-topic' : NOT_SUPPORTED.has(code) ? 'not-supported' : 'rejected';
  return { code, meaning, name };
}

const refuse = (why: string): never => {
  throw new SimError(SimErrorCode.BAD_ARGUMENT, why);
};

/** MQTT-BASIC Authentication Data: user name and password, each with a 2-byte length [4.11]. */
export function basicAuthData(c: Credentials): Buffer {
  const user = Buffer.from(c.username, 'utf8');
  const password = typeof c.password === 'string' ? Buffer.from(c.password, 'utf8') : c.password;
  if (user.length > 0xffff || password.length > 0xffff) refuse('MQTT-BASIC user name and password are at most 65535 bytes each');
  const data = Buffer.alloc(4 + user.length + password.length);
  data.writeUInt16BE(user.length, 0);
  user.copy(data, 2);
  data.writeUInt16BE(password.length, 2 + user.length);
  password.copy(data, 4 + user.length);
  return data;
}

const payloadOf = (p: Buffer | string): Buffer => (typeof p === 'string' ? Buffer.from(p) : p);

/** [2.4]: a short name, gone in 2.0, is the node's caller's mistake, told as such with what to use instead. */
function topicRef(t: PublishTopic): v2.TopicRef {
  try {
    return v2.toTopicRef(t, 'refuse');
  } catch (e) {
    throw e instanceof EncodeError ? new SimError(SimErrorCode.BAD_ARGUMENT, `${e.message}; use the full name or a predefined alias`, { cause: e }) : e;
  }
}

function filterRef(t: SubscriptionTopic): v2.FilterRef {
  switch (t.topicIdType) {
    case 'normal':
      return { topicType: 'filter', topicFilter: t.topicName };
    case 'predefined':
      return { topicType: 'predefined', topicAlias: t.topicId };
    case 'short':
      return refuse(`short topic name "${t.topicName}": MQTT-SN 2.0 has none [2.4]; subscribe to the full name`);
  }
}

/** The id a request carries in 2.0; the request engine allocates it for every numbered intent. */
function id(i: { type: string; msgId?: number }): number {
  if (i.msgId === undefined || i.msgId === 0) throw new SimError(SimErrorCode.BAD_ARGUMENT, `a 2.0 ${i.type} needs a Packet Identifier [2.2]`);
  return i.msgId;
}

function packetOf(i: Intent): v2.Packet {
  switch (i.type) {
    case 'SEARCHGW':
      // [3.20]: 1.2's Radius became optional Additional Network Information.
      return i.radius === 0 ? { type: 'SEARCHGW' } : { type: 'SEARCHGW', additionalNetworkInfo: Buffer.from([i.radius]) };
    case 'CONNECT': {
      if (i.keepAlive < 1) refuse('a 2.0 Keep Alive is 1..65535 s: 0 is a Protocol Error (MQTT-SN-3.1.6-4)');
      const p: v2.ConnectPacket = {
        type: 'CONNECT',
        cleanStart: i.cleanStart,
        allowNetworkAddressChanges: false,
        // Srv Sugg 0: the gateway must not change Keep Alive, Session Expiry or Sleep Duration [3.1.2.7].
        allowServerSuggestedValues: false,
        packetId: id(i),
        protocolVersion: v2.PROTOCOL_VERSION,
        keepAlive: i.keepAlive,
        maxPacketSize: 0,
        clientId: i.clientId,
      };
      if (i.sessionExpiry !== undefined && i.sessionExpiry > 0) p.sessionExpiryInterval = i.sessionExpiry;
      if (i.will) p.will = { qos: i.will.qos ?? 0, retain: i.will.retain ?? false, payload: payloadOf(i.will.payload), topicType: 'name', topicName: i.will.topic };
      if (i.auth) p.auth = { method: MQTT_BASIC, data: basicAuthData(i.auth) };
      return p;
    }
    case 'REGISTER':
      return { type: 'REGISTER', packetId: i.msgId, topicName: i.topicName };
    case 'REGACK':
      // MQTT-SN-3.5.4-1: a client's REGACK carries no alias.
      return { type: 'REGACK', topicType: 'session', packetId: i.msgId };
    case 'PUBLISH': {
      if (i.qos === -1) {
        // [3.6.1]: PUBWOS replaces 1.2's QoS -1, on a predefined alias or a full name only.
        const t = topicRef(i.topic);
        if (t.topicType === 'session') return refuse('PUBWOS needs a predefined alias or a full topic name [3.6.1], not a session alias');
        return { type: 'PUBWOS', retain: i.retain, payload: i.payload, ...t };
      }
      // MQTT-SN-3.6.2.2.3-1: DUP stays 0 for QoS 0 and 1; a resent QoS 1 PUBLISH is identical.
      const p: v2.PublishPacket = { type: 'PUBLISH', dup: i.qos === 2 && i.dup, qos: i.qos, retain: i.retain, payload: i.payload, ...topicRef(i.topic) };
      if (i.qos !== 0) p.packetId = i.msgId;
      return p;
    }
    case 'PUBACK':
      return i.invalidTopic ? { type: 'PUBACK', packetId: i.msgId, reasonCode: RC.UNKNOWN_TOPIC_ALIAS } : { type: 'PUBACK', packetId: i.msgId };
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      return { type: i.type, packetId: i.msgId };
    case 'SUBSCRIBE':
      // No DUP in a 2.0 SUBSCRIBE (bit 7 is No Local): a retransmission is the same packet [4.4.2].
      return { type: 'SUBSCRIBE', noLocal: false, qos: i.qos, retainAsPublished: false, retainHandling: 0, packetId: i.msgId, ...filterRef(i.topic) };
    case 'UNSUBSCRIBE':
      return { type: 'UNSUBSCRIBE', packetId: i.msgId, ...filterRef(i.topic) };
    case 'PINGREQ':
    case 'WAKE':
      // [3.11]: no client id; the gateway knows the sleeper by its address.
      return { type: 'PINGREQ', packetId: id(i) };
    case 'PINGRESP':
      return refuse('a 2.0 gateway never sends PINGREQ to a client [3.11]: nothing to answer');
    case 'SLEEP':
      // Retain T = 1: the session aliases stay valid while asleep, as 1.2's topic ids do [3.15.2.1].
      return { type: 'SLEEPREQ', retainTopicAliases: true, packetId: id(i), sleepDuration: i.duration };
    case 'DISCONNECT':
      // [3.13.4]: an absent Reason Code is 0x00 Normal disconnection (the will is discarded); 0x04 asks for it.
      return i.withWill ? { type: 'DISCONNECT', reasonCode: RC.DISCONNECT_WITH_WILL } : { type: 'DISCONNECT' };
    case 'WILLTOPICUPD':
    case 'WILLMSGUPD':
      return refuse('MQTT-SN 2.0 has no will update [1.2.1]: connect again with the new will');
  }
}

function eventOf(p: v2.Packet): Event {
  switch (p.type) {
    case 'CONNACK': {
      const e: Event = { type: 'CONNACK', msgId: p.packetId, result: result2(p.reasonCode), sessionPresent: p.sessionPresent };
      if (p.assignedClientId !== undefined) e.assignedClientId = p.assignedClientId;
      if (p.serverKeepAlive !== undefined) e.keepAlive = p.serverKeepAlive;
      return e;
    }
    case 'AUTH':
      return { type: 'AUTH', msgId: p.packetId, result: result2(p.reasonCode) };
    case 'REGISTER':
      // MQTT-SN-3.4-2: a gateway's REGISTER names the alias it will use; without one it says nothing.
      return p.topicAlias === undefined ? { type: 'OTHER', name: 'REGISTER without a Topic Alias' } : { type: 'REGISTER', msgId: p.packetId, topicId: p.topicAlias, topicName: p.topicName };
    case 'REGACK':
      return { type: 'REGACK', msgId: p.packetId, topicId: p.topicAlias ?? 0, predefined: p.topicType === 'predefined', result: result2(p.reasonCode ?? RC.SUCCESS) };
    case 'PUBLISH':
      return { type: 'PUBLISH', dup: p.dup, qos: p.qos, retain: p.retain, msgId: p.packetId ?? 0, payload: p.payload, topic: v2.fromTopicRef(p) };
    case 'PUBWOS':
      // MQTT-SN-3.6-1: a receiver treats it as QoS 0.
      return { type: 'PUBLISH', dup: false, qos: 0, retain: p.retain, msgId: 0, payload: p.payload, topic: v2.fromTopicRef(p) };
    case 'PUBACK':
    case 'PUBREC':
      return { type: p.type, msgId: p.packetId, result: result2(p.reasonCode ?? RC.SUCCESS) };
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return { type: p.type, msgId: p.packetId };
    case 'SUBACK': {
      // [3.8.5]: the Reason Code is the granted QoS, or a failure; absent is 0x00 (AMBIG-4).
      const rc = p.reasonCode ?? RC.SUCCESS;
      const grantedQos = rc === 1 || rc === 2 ? rc : 0;
      return { type: 'SUBACK', msgId: p.packetId, topicId: p.topicAlias ?? 0, predefined: p.topicType === 'predefined', grantedQos, result: result2(rc) };
    }
    case 'PINGRESP':
      return { type: 'PINGRESP', msgId: p.packetId };
    case 'DISCONNECT':
      return { type: 'DISCONNECT', result: result2(p.reasonCode ?? RC.SUCCESS) };
    case 'SLEEPRESP':
      return { type: 'SLEEPRESP', msgId: p.packetId, result: result2(p.reasonCode ?? RC.SUCCESS) };
    case 'WAKEUP':
      return { type: 'WAKEUP' };
    case 'GWINFO':
    case 'ADVERTISE':
      return { type: p.type, gwId: p.gatewayId };
    case 'SEARCHGW':
      return { type: 'SEARCHGW' };
    case 'CONNECT':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'PINGREQ':
    case 'SLEEPREQ':
    case 'FORWARDER_ENCAPSULATION':
    case 'CONNECTION_ENCAPSULATION':
    case 'PROTECTION_ENCAPSULATION':
      return { type: 'OTHER', name: p.type };
  }
}

export const wire2: Wire = {
  version: '2',
  encode: (i) => v2.encode(packetOf(i)),
  decode(frame) {
    const p = v2.decode(frame);
    return p instanceof DecodeError ? p : eventOf(p);
  },
  numbered: (type) => type === 'CONNECT' || type === 'PINGREQ' || type === 'WAKE' || type === 'SLEEP',
  answer(i) {
    switch (i.type) {
      case 'SEARCHGW':
        return (e) => e.type === 'GWINFO' || e.type === 'ADVERTISE';
      case 'CONNECT':
        // A CONNACK (or an AUTH of a multi-step method, which ends the attempt) with the CONNECT's id [3.2.3].
        return (e) => (e.type === 'CONNACK' || e.type === 'AUTH') && e.msgId === i.msgId;
      case 'REGISTER':
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE':
        return answerTo(ACK_OF[i.type], i.msgId);
      case 'PINGREQ':
      case 'WAKE':
        return answerTo('PINGRESP', i.msgId);
      case 'SLEEP':
        return answerTo('SLEEPRESP', i.msgId);
      case 'DISCONNECT':
      case 'WILLTOPICUPD':
      case 'WILLMSGUPD':
        // [3.13]: DISCONNECT is never answered; the will updates do not exist in 2.0.
        return undefined;
    }
  },
  // MQTT-SN-4.4.2-1: a CONNECT is never retransmitted; the node tries again with a new one.
  maxRetries: (type) => (type === 'CONNECT' ? 0 : undefined),
  reservedTypes: [0x00, 0x19, 0x1e, 0xfd, 0x80],
};
