/**
 * The node's wire in MQTT-SN 1.2 (MQTT-SN.md): intents as 1.2 packets, 1.2 packets as events.
 * 1.2 has no packet identifier on CONNECT, PINGREQ or the sleep DISCONNECT, no authentication and
 * no session expiry; its will travels in the WILLTOPICREQ / WILLMSGREQ dance of CONNECT (§4.3).
 */
import { decode, DecodeError, encode, PROTOCOL_ID, ReturnCode, type Packet, type PublishPacket, type PublishTopic, type SubQoS } from '../../src/codec/index.js';
import { SimError, SimErrorCode } from '../errors.js';
import type { Will } from '../node-types.js';
import { ACK_OF, answerTo } from './answer.js';
import type { Event, Intent, Result, Wire } from './types.js';

const RESULT_NAMES: Record<number, { meaning: Result['meaning']; name: string }> = {
  [ReturnCode.ACCEPTED]: { meaning: 'accepted', name: 'accepted' },
  [ReturnCode.CONGESTION]: { meaning: 'congestion', name: 'congestion' },
  [ReturnCode.INVALID_TOPIC_ID]: { meaning: 'invalid-topic', name: 'invalid topic id' },
  [ReturnCode.NOT_SUPPORTED]: { meaning: 'not-supported', name: 'not supported' },
};

/** A 1.2 Return Code (§1.4) as a result; values past 0x03 are reserved and read as a refusal. */
export function result12(code: number): Result {
  return { code, ...(RESULT_NAMES[code] ?? { meaning: 'rejected', name: 'rejected' }) };
}

/** The will topic fields of WILLTOPIC and WILLTOPICUPD; no will is the empty topic (§2.2, §4.3). */
function willTopic(will: Will | undefined): { qos: SubQoS; retain: boolean; willTopic: string | null } {
  return will ? { qos: will.qos ?? 0, retain: will.retain ?? false, willTopic: will.topic } : { qos: 0, retain: false, willTopic: null };
}

const payloadOf = (p: Buffer | string | undefined): Buffer => (p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p) : p);

function packetOf(i: Intent): Packet {
  switch (i.type) {
    case 'SEARCHGW':
      return { type: 'SEARCHGW', radius: i.radius };
    case 'CONNECT':
      if (i.auth) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'MQTT-SN 1.2 has no authentication: user name and password need protocol 2');
      return { type: 'CONNECT', will: i.will !== undefined, cleanSession: i.cleanStart, protocolId: PROTOCOL_ID, duration: i.keepAlive, clientId: i.clientId };
    case 'REGISTER':
      return { type: 'REGISTER', topicId: 0, msgId: i.msgId, topicName: i.topicName };
    case 'REGACK':
      return { type: 'REGACK', topicId: i.topicId, msgId: i.msgId, returnCode: ReturnCode.ACCEPTED };
    case 'PUBLISH':
      if (i.topic.topicIdType === 'inline' && i.qos !== -1) throw new SimError(SimErrorCode.BAD_ARGUMENT, `MQTT-SN 1.2 carries a topic name in PUBLISH only at QoS -1: register "${i.topic.topicName}" (§4.6) or use protocol 2`);
      return { type: 'PUBLISH', dup: i.dup, qos: i.qos, retain: i.retain, msgId: i.msgId, payload: i.payload, ...i.topic };
    case 'PUBACK':
      return { type: 'PUBACK', topicId: i.topicId, msgId: i.msgId, returnCode: i.invalidTopic ? ReturnCode.INVALID_TOPIC_ID : ReturnCode.ACCEPTED };
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
      return { type: i.type, msgId: i.msgId };
    case 'SUBSCRIBE':
      return { type: 'SUBSCRIBE', dup: i.dup, qos: i.qos, msgId: i.msgId, ...i.topic };
    case 'UNSUBSCRIBE':
      return { type: 'UNSUBSCRIBE', msgId: i.msgId, ...i.topic };
    case 'PINGREQ':
      return { type: 'PINGREQ' };
    case 'PINGRESP':
      return { type: 'PINGRESP' };
    case 'WAKE':
      // §4.12: the client id names the sleeper whose messages are wanted.
      return i.clientId ? { type: 'PINGREQ', clientId: i.clientId } : { type: 'PINGREQ' };
    case 'SLEEP':
      return { type: 'DISCONNECT', duration: i.duration };
    case 'DISCONNECT':
      if (i.withWill) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'a 1.2 DISCONNECT never publishes the will (§4.12); a will on leaving needs protocol 2');
      return { type: 'DISCONNECT' };
    case 'WILLTOPICUPD':
      return { type: 'WILLTOPICUPD', ...willTopic(i.will) };
    case 'WILLMSGUPD':
      return { type: 'WILLMSGUPD', willMsg: i.payload };
  }
}

function eventOf(p: Packet): Event {
  switch (p.type) {
    case 'CONNACK':
      return { type: 'CONNACK', result: result12(p.returnCode), sessionPresent: false };
    case 'REGISTER':
      return { type: 'REGISTER', msgId: p.msgId, topicId: p.topicId, topicName: p.topicName };
    case 'REGACK':
      return { type: 'REGACK', msgId: p.msgId, topicId: p.topicId, predefined: false, result: result12(p.returnCode) };
    case 'PUBLISH':
      return { type: 'PUBLISH', dup: p.dup, qos: p.qos, retain: p.retain, msgId: p.msgId, payload: p.payload, topic: topicOf(p) };
    case 'PUBACK':
      return { type: 'PUBACK', msgId: p.msgId, result: result12(p.returnCode) };
    case 'PUBREC':
      return { type: 'PUBREC', msgId: p.msgId, result: result12(ReturnCode.ACCEPTED) };
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return { type: p.type, msgId: p.msgId };
    case 'SUBACK':
      return { type: 'SUBACK', msgId: p.msgId, topicId: p.topicId, predefined: false, grantedQos: p.qos, result: result12(p.returnCode) };
    case 'PINGREQ':
      return { type: 'PINGREQ' };
    case 'PINGRESP':
      return { type: 'PINGRESP' };
    case 'DISCONNECT':
      return p.duration === undefined ? { type: 'DISCONNECT' } : { type: 'DISCONNECT', duration: p.duration };
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'SEARCHGW':
      return { type: p.type };
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      return { type: p.type, result: result12(p.returnCode) };
    case 'GWINFO':
    case 'ADVERTISE':
      return { type: p.type, gwId: p.gwId };
    case 'CONNECT':
    case 'ENCAPSULATED':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'WILLMSG':
    case 'WILLMSGUPD':
    case 'WILLTOPIC':
    case 'WILLTOPICUPD':
      return { type: 'OTHER', name: p.type };
  }
}

/** The topic reference of a decoded PUBLISH without the codec's wire-form hints. */
function topicOf(t: PublishPacket): PublishTopic {
  switch (t.topicIdType) {
    case 'normal':
    case 'predefined':
      return { topicIdType: t.topicIdType, topicId: t.topicId };
    case 'short':
    case 'inline':
      return { topicIdType: t.topicIdType, topicName: t.topicName };
  }
}

export const wire12: Wire = {
  version: '1.2',
  encode: (i) => encode(packetOf(i)),
  decode(frame) {
    const p = decode(frame);
    return p instanceof DecodeError ? p : eventOf(p);
  },
  numbered: () => false,
  answer(i) {
    switch (i.type) {
      case 'SEARCHGW':
        return (e) => e.type === 'GWINFO' || e.type === 'ADVERTISE';
      case 'CONNECT': {
        const will = i.will;
        // §4.3: CONNACK ends it; the will requests move it on (an empty WILLTOPIC says "none").
        return (e) => {
          if (e.type === 'CONNACK') return true;
          if (e.type === 'WILLTOPICREQ') return { next: encode({ type: 'WILLTOPIC', ...willTopic(will) }) };
          if (e.type === 'WILLMSGREQ') return { next: encode({ type: 'WILLMSG', willMsg: payloadOf(will?.payload) }) };
          return false;
        };
      }
      case 'REGISTER':
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE':
        return answerTo(ACK_OF[i.type], i.msgId);
      case 'PINGREQ':
      case 'WAKE':
        return answerTo('PINGRESP');
      case 'SLEEP':
      case 'DISCONNECT':
        // §4.12: the gateway answers both with a DISCONNECT.
        return answerTo('DISCONNECT');
      case 'WILLTOPICUPD':
        return answerTo('WILLTOPICRESP');
      case 'WILLMSGUPD':
        return answerTo('WILLMSGRESP');
    }
  },
  maxRetries: () => undefined,
  reservedTypes: [0x03, 0x11, 0x19, 0x1e, 0xff],
};
