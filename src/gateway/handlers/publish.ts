/**
 * Client -> gateway publishing: PUBLISH at QoS -1..2, PUBREL, and REGISTER from the client
 * (MQTT-SN.md §4.5-4.8).
 */
import { ReturnCode, type Packet, type PublishPacket, type RegisterPacket } from '../../codec/index.js';
import { ReasonCode as V2Reason } from '../../codec/v2/constants.js';
import { validateTopicName } from '../../topics/topic-names.js';
import { PublishRefusedError } from '../../uplink/port.js';
import type { GatewayCore } from '../core.js';
import type { Session } from '../session.js';
import { bump } from '../stats.js';
import { tooLong } from '../topic-budget.js';
import type { Link } from '../types.js';

/** Why a `$` topic is refused, for the log line. */
export const RESERVED = 'topics starting with $ are the broker\'s ($SYS never; others only where an auth.acl rule names them)';

/** The TopicId field as the PUBLISH carried it, for the PUBACK that echoes it. */
function topicField(p: PublishPacket): number {
  switch (p.topicIdType) {
    case 'normal':
    case 'predefined':
      return p.topicId;
    case 'short': {
      const b = Buffer.from(p.topicName, 'utf8');
      return (b[0]! << 8) | b[1]!;
    }
    case 'inline':
      return 0;
  }
}

/**
 * The topic name a PUBLISH means, checked: every form ends up as an MQTT topic name, and a short
 * name (two bytes straight off the radio, `+/`, `a#`, U+0000), a registered name restored from an
 * older store or a predefined one must not carry wildcards into the broker core, its retained
 * store or the upstream, which closes the connection over one (MQTT 3.1.1 §4.7.1).
 */
function publishTopic(gw: GatewayCore, s: Session | undefined, p: PublishPacket): { topic: string } | { unknown: true } | { invalid: string; topic: string } {
  const topic = topicOf(gw, s, p);
  if (topic === undefined) return { unknown: true };
  const invalid = validateTopicName(topic);
  return invalid === undefined ? { topic } : { invalid, topic };
}

/** The full topic name a PUBLISH means for this client, or undefined when the id is unknown. */
function topicOf(gw: GatewayCore, s: Session | undefined, p: PublishPacket): string | undefined {
  switch (p.topicIdType) {
    case 'normal':
      return s?.registry.nameOf(p.topicId);
    case 'predefined':
      return gw.predefined.nameOf(p.topicId);
    case 'short':
      return p.topicName;
    case 'inline':
      // A full Topic Name in a QoS 0-2 PUBLISH is 2.0's [3.6.2.4] (wire-v2.ts); without a session
      // (2.0 PUBWOS, Paho's QoS -1 extension) anyone may name any topic: only where configured.
      return p.qos !== -1 || gw.options.qosMinusOne.inlineTopicNames ? p.topicName : undefined;
  }
}

export function onPublish(gw: GatewayCore, link: Link, s: Session | undefined, p: PublishPacket): void {
  bump(gw.stats.publishIn, String(p.qos) as '-1' | '0' | '1' | '2');
  if (!gw.rates.publish.take(link.peer.key)) {
    gw.refused('rateLimited', 'PUBLISH over the per-peer rate limit', { peer: link.peer.key, qos: p.qos });
    // §4.7: 0x01 (congestion) asks a QoS 1/2 sender to slow down; QoS 0/-1 get no answer at all.
    if (p.qos === 1 || p.qos === 2) gw.send(link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
    return;
  }
  if (p.qos === -1) {
    // §4.8: from any address, connected or not; forwarded at QoS 0; nothing is ever sent back,
    // not even for an unknown id. A connected sender's session is not disturbed.
    const resolved = publishTopic(gw, undefined, p);
    if ('invalid' in resolved) {
      gw.refused('invalidTopic', `QoS -1 PUBLISH on an invalid topic name dropped: ${resolved.invalid}`, { peer: link.peer.key, topic: JSON.stringify(resolved.topic) });
      return;
    }
    if ('unknown' in resolved) {
      const why =
        p.topicIdType === 'inline'
          ? 'QoS -1 PUBLISH with an inline topic name dropped: qosMinusOne.inlineTopicNames is off'
          : 'QoS -1 PUBLISH on an unknown predefined topic id dropped';
      gw.refused('qosMinusOneRejected', why, { peer: link.peer.key, clientId: s?.clientId });
      return;
    }
    const topic = resolved.topic;
    // Anyone may forge a QoS -1 datagram: `auth.qosMinusOne` says from where and to what; a
    // sender with a session is held to its ACL as well.
    const kind = p.topicIdType === 'predefined' ? { type: 'predefined' as const, id: p.topicId } : { type: p.topicIdType === 'short' ? ('short' as const) : ('inline' as const) };
    if (gw.auth.reserved(topic) || !gw.auth.qosMinusOne(link.peer.key, kind, s !== undefined) || (s !== undefined && !gw.auth.mayPublish(s.clientId, topic))) {
      gw.refused('notAuthorized', gw.auth.reserved(topic) ? `QoS -1 PUBLISH not allowed: ${RESERVED}` : 'QoS -1 PUBLISH not allowed', { peer: link.peer.key, topic });
      return;
    }
    // A retained message outlives the datagram: only where auth.qosMinusOne.retain allows it.
    const retain = p.retain && gw.auth.qosMinusOneRetain;
    if (p.retain && !retain) gw.logger.debug({ peer: link.peer.key, topic }, 'QoS -1 PUBLISH: retain flag ignored (auth.qosMinusOne.retain is off)');
    void gw.publish({ topic, payload: p.payload, qos: 0, retain }, s).catch(() => undefined);
    return;
  }
  if (s === undefined || !(s.reachable || s.state === 'asleep')) {
    bump(gw.stats.dropped, 'unknownClient');
    gw.send(link, { type: 'DISCONNECT' }, V2Reason.NO_VIRTUAL_CONNECTION);
    return;
  }
  const resolved = publishTopic(gw, s, p);
  if (!('topic' in resolved) || 'invalid' in resolved) {
    // §4.7: PUBACK 0x02 for an unknown id, whatever the QoS (Paho skips QoS 0; the spec does not);
    // a short name that is no topic name is as unusable as an unknown id.
    if ('invalid' in resolved) gw.refused('invalidTopic', `PUBLISH on an invalid topic name refused: ${resolved.invalid}`, { clientId: s.clientId, topic: JSON.stringify(resolved.topic) });
    else bump(gw.stats.dropped, 'invalidTopic');
    gw.send(link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: ReturnCode.INVALID_TOPIC_ID }, 'invalid' in resolved ? V2Reason.TOPIC_NAME_INVALID : undefined);
    return;
  }
  const topic = resolved.topic;
  if (!gw.auth.mayPublish(s.clientId, topic)) {
    gw.refused('notAuthorized', gw.auth.reserved(topic) ? `PUBLISH refused: ${RESERVED}` : 'PUBLISH refused by the ACL', { clientId: s.clientId, topic });
    gw.send(link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: ReturnCode.NOT_SUPPORTED }, V2Reason.NOT_AUTHORIZED);
    return;
  }
  const delivery = { topic, payload: p.payload, qos: p.qos, retain: p.retain };
  switch (p.qos) {
    case 0:
      void gw.publish(delivery, s).catch(() => undefined);
      return;
    case 1: {
      // PUBACK only once what the message caused is durable (queued for sleepers, bound upstream),
      // and no store batch was lost since it began: its writes may have been in it.
      s.acksOwed++;
      const mark = gw.persistence.mark();
      gw.publish(delivery, s).then(() => gw.persistence.durable(mark)).then(
        () => acknowledge(gw, s, link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: ReturnCode.ACCEPTED }),
        (err: unknown) => acknowledge(gw, s, link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: notTaken(err) }),
      );
      return;
    }
    case 2: {
      // §4.7 exactly once: the message is published on its first arrival and its id kept until
      // PUBREL; a repeat before PUBREL gets PUBREC again and no second delivery.
      if (s.qos2Received.has(p.msgId)) {
        gw.send(link, { type: 'PUBREC', msgId: p.msgId });
        return;
      }
      // Each id is kept until PUBREL, which a client may never send: capped, and 0x01 asks it to
      // finish what it started before it sends more (MQTT-SN 1.2 §6.7: one at a time anyway).
      if (s.qos2Received.size >= gw.options.limits.maxQos2AwaitingPubrel) {
        gw.refused('congestion', 'QoS 2 PUBLISH refused: limits.maxQos2AwaitingPubrel ids await PUBREL', { clientId: s.clientId, awaiting: s.qos2Received.size });
        gw.send(link, { type: 'PUBACK', topicId: topicField(p), msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
        return;
      }
      const mark = gw.persistence.mark();
      s.qos2Received.add(p.msgId);
      gw.persistence.qos2Added(s, p.msgId);
      const msgId = p.msgId;
      s.acksOwed++;
      gw.publish(delivery, s).then(() => gw.persistence.durable(mark)).then(
        () => acknowledge(gw, s, link, { type: 'PUBREC', msgId }),
        (err: unknown) => {
          // Not accepted: forget the id so the client's retry is published, not swallowed.
          s.qos2Received.delete(msgId);
          gw.persistence.qos2Released(s, msgId);
          acknowledge(gw, s, link, { type: 'PUBACK', topicId: topicField(p), msgId, returnCode: notTaken(err) });
        },
      );
      return;
    }
  }
}

/**
 * Sends the publisher its PUBACK / PUBREC, then what was held back for it meanwhile: its own
 * message, when it subscribes to what it publishes, comes after the answer it waits for.
 */
function acknowledge(gw: GatewayCore, s: Session, link: Link, answer: Packet): void {
  gw.send(link, answer);
  s.acksOwed--;
  if (s.acksOwed === 0 && gw.sessions.get(s.clientId) === s) gw.pump(s);
}

/** The PUBACK code for a message that was not taken: 0x03 for what will never be, else 0x01 (try later). */
function notTaken(err: unknown): number {
  return err instanceof PublishRefusedError ? ReturnCode.NOT_SUPPORTED : ReturnCode.CONGESTION;
}

/** PUBREL: release the id; PUBCOMP even for an unknown id (§4.7). */
export function onPubrel(gw: GatewayCore, link: Link, s: Session | undefined, msgId: number): void {
  if (s?.qos2Received.delete(msgId) === true) gw.persistence.qos2Released(s, msgId);
  gw.send(link, { type: 'PUBCOMP', msgId });
}

/** REGISTER from the client: the same name always gets the same id for that client (§4.6). */
export function onRegister(gw: GatewayCore, s: Session, p: RegisterPacket, link: Link): void {
  if (!gw.rates.register.take(link.peer.key)) {
    gw.refused('rateLimited', 'REGISTER over the per-peer rate limit', { peer: link.peer.key, clientId: s.clientId });
    gw.send(link, { type: 'REGACK', topicId: 0, msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
    return;
  }
  if (validateTopicName(p.topicName) !== undefined) {
    gw.send(link, { type: 'REGACK', topicId: 0, msgId: p.msgId, returnCode: ReturnCode.NOT_SUPPORTED });
    return;
  }
  if (tooLong(p.topicName, gw.options.limits.maxTopicBytes)) {
    gw.refused('tooLarge', 'REGISTER refused: topic name over limits.maxTopicBytes', { clientId: s.clientId, bytes: Buffer.byteLength(p.topicName) });
    gw.send(link, { type: 'REGACK', topicId: 0, msgId: p.msgId, returnCode: ReturnCode.NOT_SUPPORTED });
    return;
  }
  const known = s.registry.lookup(p.topicName);
  const id = known ?? s.registry.idFor(p.topicName);
  if (id === 'full') {
    bump(gw.stats.dropped, 'congestion');
    gw.send(link, { type: 'REGACK', topicId: 0, msgId: p.msgId, returnCode: ReturnCode.CONGESTION });
    return;
  }
  s.confirmedIds.add(id);
  if (known === undefined) gw.persistence.session(s);
  gw.send(link, { type: 'REGACK', topicId: id, msgId: p.msgId, returnCode: ReturnCode.ACCEPTED });
}
