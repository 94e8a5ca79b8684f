/**
 * What the gateway core sends, said in MQTT-SN 2.0 (the outbound half of wire-v2.ts): the 1.2-shaped
 * packets of the handlers and the outbox become 2.0 packets, their 2.0-only fields taken from the
 * link's {@link V2Link} and the session, a precise Reason Code from the sender where it gave one.
 */
import { ReturnCode, type Packet } from '../codec/index.js';
import * as v2 from '../codec/v2/index.js';
import type { Session } from './session.js';
import type { V2Link } from './types.js';

const RC = v2.ReasonCode;

/** Has a Virtual Connection [4.2]: a session in a state that has one. */
export const hasVc = (s: Session | undefined): s is Session => s !== undefined && s.state !== 'disconnected' && s.state !== 'lost';

/** The gateway answered the client's request `packetId`: the next one may come. */
export function answered(link: V2Link, packetId: number): number {
  if (link.pending === packetId) link.pending = undefined;
  return packetId;
}

/** The reference's 1.2 -> 2.0 return code mapping (MQTT-SN-2.0.md §4), for answers without a precise reason. */
function reasonOf(returnCode: number): number {
  switch (returnCode) {
    case ReturnCode.ACCEPTED:
      return RC.SUCCESS;
    case ReturnCode.CONGESTION:
      return RC.CONGESTION;
    case ReturnCode.INVALID_TOPIC_ID:
      return RC.UNKNOWN_TOPIC_ALIAS;
    default:
      return RC.UNSPECIFIED_ERROR;
  }
}

/**
 * What the core sends, as 2.0 says it; undefined for what has no 2.0 form (the will exchange is
 * 1.2's, as is an error PUBACK to a QoS 0 PUBLISH, which 2.0 answers with nothing [4.3.2]).
 * `s`: the session at the link's address; `reason`: a precise Reason Code from the sender.
 */
export function toV2(packet: Packet, link: V2Link, s: Session | undefined, reason: number | undefined): v2.Packet | undefined {
  switch (packet.type) {
    case 'CONNACK': {
      const reasonCode = reason ?? reasonOf(packet.returnCode);
      const ok = reasonCode === RC.SUCCESS;
      // MQTT-SN-3.2.2.1: Session Present is 0 on a refusal.
      const connack: v2.PacketOf<'CONNACK'> = { type: 'CONNACK', sessionPresent: ok && (s?.sessionPresent ?? false), packetId: link.connectId, reasonCode };
      if (ok && link.assignedClientId !== undefined) connack.assignedClientId = link.assignedClientId;
      // MQTT-SN-4.11.1-5: the method of the CONNECT, here one step with no data back.
      if (ok && link.authMethod !== undefined) connack.auth = { method: link.authMethod, data: Buffer.alloc(0) };
      return connack;
    }
    case 'PINGRESP':
      // [3.12.3]: a wake cut short by Default Awake Messages says how many wait (255: more than 254).
      answered(link, link.pingId);
      if (s?.state === 'asleep' && s.queue.length > 0) return { type: 'PINGRESP', packetId: link.pingId, appMessagesRemaining: Math.min(s.queue.length, 255) };
      return { type: 'PINGRESP', packetId: link.pingId };
    case 'DISCONNECT':
      // Without a reason from the sender: an address the gateway cannot place, or a packet its state does not allow.
      return { type: 'DISCONNECT', reasonCode: reason ?? (hasVc(s) ? RC.PROTOCOL_ERROR : RC.NO_VIRTUAL_CONNECTION) };
    case 'REGISTER':
      return { type: 'REGISTER', packetId: packet.msgId, topicAlias: packet.topicId, topicName: packet.topicName };
    case 'REGACK': {
      const asked = link.asked.get(packet.msgId);
      link.asked.delete(packet.msgId);
      // REGACK has no 0x80 [Fig 2-7]: 1.2's "not supported" is 0x83 there.
      const reasonCode = reason ?? (packet.returnCode === ReturnCode.NOT_SUPPORTED ? RC.IMPLEMENTATION_SPECIFIC_ERROR : reasonOf(packet.returnCode));
      const regack: v2.PacketOf<'REGACK'> = { type: 'REGACK', topicType: asked === 'predefinedName' ? 'predefined' : 'session', packetId: answered(link, packet.msgId), reasonCode };
      if (packet.returnCode === ReturnCode.ACCEPTED) regack.topicAlias = packet.topicId;
      return regack;
    }
    case 'PUBLISH': {
      if (packet.qos === -1) return undefined;
      const publish: v2.PacketOf<'PUBLISH'> = {
        type: 'PUBLISH',
        // MQTT-SN-3.6.2.2.3-1: DUP only on a QoS 2 resend; a QoS 1 resend is identical.
        dup: packet.qos === 2 && packet.dup,
        qos: packet.qos,
        retain: packet.retain,
        payload: packet.payload,
        // A short name (a 1.2 publisher's) has no 2.0 form: it goes as the full Topic Name it is [3.6.2.4].
        ...v2.toTopicRef(packet, 'as-name'),
      };
      if (packet.qos > 0) publish.packetId = packet.msgId;
      return publish;
    }
    case 'PUBACK':
      return packet.msgId === 0 ? undefined : { type: 'PUBACK', packetId: answered(link, packet.msgId), reasonCode: reason ?? reasonOf(packet.returnCode) };
    case 'PUBREC':
      return { type: 'PUBREC', packetId: answered(link, packet.msgId), reasonCode: reason ?? RC.SUCCESS };
    case 'PUBREL':
      return { type: 'PUBREL', packetId: packet.msgId, reasonCode: reason ?? RC.SUCCESS };
    case 'PUBCOMP':
      return { type: 'PUBCOMP', packetId: answered(link, packet.msgId), reasonCode: reason ?? RC.SUCCESS };
    case 'SUBACK':
      return suback(packet, link, reason);
    case 'UNSUBACK':
      return { type: 'UNSUBACK', packetId: answered(link, packet.msgId), reasonCode: reason ?? RC.SUCCESS };
    case 'GWINFO':
      return { type: 'GWINFO', gatewayId: packet.gwId };
    case 'ADVERTISE':
      return { type: 'ADVERTISE', gatewayId: packet.gwId, duration: packet.duration };
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
    case 'CONNECT':
    case 'SEARCHGW':
    case 'WILLTOPIC':
    case 'WILLMSG':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'PINGREQ':
    case 'WILLTOPICUPD':
    case 'WILLMSGUPD':
    case 'ENCAPSULATED':
      return undefined;
  }
}

/**
 * [3.8]: the Reason Code always (AMBIG-4: MQTT-SN-3.7.6-5 wins over "optional"); a session or
 * predefined alias for a topic name (MQTT-SN-4.7.2.2-2), none for a wildcard (Topic Type 01,
 * MQTT-SN-3.8.2.1-2) nor for a subscription by predefined alias (MQTT-SN-3.8.4-3).
 */
function suback(packet: Extract<Packet, { type: 'SUBACK' }>, link: V2Link, reason: number | undefined): v2.PacketOf<'SUBACK'> {
  const asked = link.asked.get(packet.msgId);
  link.asked.delete(packet.msgId);
  answered(link, packet.msgId);
  const ok = packet.returnCode === ReturnCode.ACCEPTED;
  const reasonCode = reason ?? (ok ? packet.qos : reasonOf(packet.returnCode));
  if (!ok || asked === 'wildcard' || asked === 'predefinedAlias' || packet.topicId === 0) return { type: 'SUBACK', topicType: 'predefined', packetId: packet.msgId, reasonCode };
  return { type: 'SUBACK', topicType: asked === 'predefinedName' ? 'predefined' : 'session', packetId: packet.msgId, topicAlias: packet.topicId, reasonCode };
}
