/**
 * MQTT-SN 2.0 at the edge of the gateway core (OASIS CSD01; section numbers are the draft's).
 * The session machine, the handlers and the outbox speak one vocabulary, the 1.2 packets they
 * were written for; this module is the one place that maps a 2.0 client's packets onto it and
 * what the core answers back to 2.0:
 *
 * ```
 * 2.0 frame ─► v2.decode ─► onV2Packet ─► 1.2-shaped packet ─► dispatch (guard, handlers)
 *                                      └► 2.0-only: CONNECT checks, DISCONNECT, SLEEPREQ, ...
 * GatewayCore.send(link with v2, 1.2-shaped packet, reason?) ─► toV2 (wire-v2-out.ts) ─► v2.encode
 * ```
 *
 * What the 1.2 shapes lack travels beside them: Packet Identifiers a CONNACK or PINGRESP echoes
 * and the assigned Client Identifier in the link's {@link V2Link}; a precise Reason Code as the
 * optional third argument of `send` (else the reference's 1.2 -> 2.0 mapping, MQTT-SN-2.0.md §4).
 */
import { randomUUID } from 'node:crypto';
import { DecodeError, ReturnCode, type PacketOf } from '../codec/index.js';
import * as v2 from '../codec/v2/index.js';
import type { Will } from '../message.js';
import { hasWildcards, validateTopicName } from '../topics/topic-names.js';
import type { GatewayCore } from './core.js';
import { dispatch, guarded } from './dispatch.js';
import { onSubscribe } from './handlers/subscribe.js';
import { clientIdFits, connect, connectAllowedNow, mayComeFrom, type ConnectRequest } from './handlers/connection.js';
import { basicCredentials } from './password-gate.js';
import { RESERVED } from './handlers/publish.js';
import { onPubrec } from './outbox.js';
import type { Session } from './session.js';
import { transition } from './shell.js';
import { bump } from './stats.js';
import { tooLong } from './topic-budget.js';
import type { AskedTopic, Link, V2Link } from './types.js';
import { answered, hasVc } from './wire-v2-out.js';

const RC = v2.ReasonCode;

/**
 * Requests of a client whose answers are still owed, kept for their answers' Topic Type. A 2.0
 * client has one in flight [4.9]; a few more cover retries with new ids and refused requests.
 */
const MAX_ASKED = 8;

/** Reason Codes a client's DISCONNECT may carry [Fig 2-7, 3.13.4]. */
const CLIENT_DISCONNECT_REASONS = new Set<number>([0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x8c, 0x93, 0x95, 0x96, 0x97, 0x98, 0xe6, 0xe7, 0xe8, 0xf2, 0xf3, 0xf4]);

/**
 * Decodes a 2.0 frame. AMBIG-7: a DISCONNECT with both Session Expiry Interval and Reason Code is
 * read in the order of the draft's Fig 3-23 (interval first; the draft wins over the reference's
 * note that Paho and Maps-Messaging put the Reason Code first), unless that reading gives a Reason
 * Code no client sends and the other order gives one it does: then the peer is one of those.
 */
export function decodeV2(frame: Buffer): v2.Decoded | DecodeError {
  const p = v2.decode(frame);
  if (p instanceof DecodeError || p.type !== 'DISCONNECT' || p.sessionExpiryInterval === undefined || p.reasonCode === undefined) return p;
  if (CLIENT_DISCONNECT_REASONS.has(p.reasonCode)) return p;
  const rcFirst = v2.decode(frame, { disconnectReasonCodeFirst: true });
  return !(rcFirst instanceof DecodeError) && rcFirst.type === 'DISCONNECT' && CLIENT_DISCONNECT_REASONS.has(rcFirst.reasonCode ?? 0) ? rcFirst : p;
}

export function newV2Link(): V2Link {
  return { connectId: 0, pingId: 0, asked: new Map() };
}

function ask(link: V2Link, packetId: number, what: AskedTopic): void {
  if (link.asked.size >= MAX_ASKED) link.asked.delete(link.asked.keys().next().value!);
  link.asked.set(packetId, what);
}

/** One decoded 2.0 packet from `link` (whose `v2` is set), `s` the session at its address. */
export function onV2Packet(gw: GatewayCore, link: Link & { v2: V2Link }, s: Session | undefined, p: v2.Packet): void {
  const request = requestIdOf(p);
  if (request !== undefined && !oneInFlight(gw, link.v2, s, request)) return;
  switch (p.type) {
    case 'CONNECT':
      return onConnectV2(gw, link, p);
    case 'PUBLISH':
      return dispatch(gw, link, s, { type: 'PUBLISH', dup: p.dup, qos: p.qos, retain: p.retain, msgId: p.packetId ?? 0, payload: p.payload, ...v2.fromTopicRef(p) });
    case 'PUBWOS':
      // [3.6.1]: QoS 0 semantics without a session; held to the rules of 1.2's QoS -1, its twin
      // (auth.qosMinusOne, and qosMinusOne.inlineTopicNames for a full Topic Name from anyone).
      return dispatch(gw, link, s, { type: 'PUBLISH', dup: false, qos: -1, retain: p.retain, msgId: 0, payload: p.payload, ...v2.fromTopicRef(p) });
    case 'PUBACK':
      return dispatch(gw, link, s, { type: 'PUBACK', topicId: inFlightAlias(s, p.packetId), msgId: p.packetId, returnCode: returnCodeOf(p.reasonCode) });
    case 'PUBREC':
      // [3.6.4]: a PUBREC of 0x80 or more ends the QoS 2 exchange; 1.2's PUBREC cannot say so.
      if (p.reasonCode !== undefined && v2.isFailure(p.reasonCode) && s !== undefined) return onPubrec(gw, s, p.packetId, returnCodeOf(p.reasonCode));
      return dispatch(gw, link, s, { type: 'PUBREC', msgId: p.packetId });
    case 'PUBREL':
      return dispatch(gw, link, s, { type: 'PUBREL', msgId: p.packetId });
    case 'PUBCOMP':
      return dispatch(gw, link, s, { type: 'PUBCOMP', msgId: p.packetId });
    case 'REGISTER':
      return onRegisterV2(gw, link, s, p);
    case 'REGACK':
      return dispatch(gw, link, s, { type: 'REGACK', topicId: s?.inFlight?.kind === 'register' ? s.inFlight.topicId : 0, msgId: p.packetId, returnCode: returnCodeOf(p.reasonCode) });
    case 'SUBSCRIBE':
      return onSubscribeV2(gw, link, s, p);
    case 'UNSUBSCRIBE':
      return onUnsubscribeV2(gw, link, s, p);
    case 'PINGREQ':
      // [3.11]: no Client Identifier; a sleeper is found by its address (Connection
      // Encapsulation for a new address is not served yet).
      link.v2.pingId = p.packetId;
      return dispatch(gw, link, s, { type: 'PINGREQ' });
    case 'DISCONNECT':
      return onDisconnectV2(gw, link, s, p);
    case 'SLEEPREQ':
      return onSleepreq(gw, link, s, p);
    case 'SEARCHGW':
      return dispatch(gw, link, s, { type: 'SEARCHGW', radius: 0 });
    case 'AUTH':
      // No method is served (a CONNECT with one gets 0x8C), so no AUTH exchange can be under way [4.11].
      if (hasVc(s)) return protocolError(gw, s, 'AUTH without an authentication method agreed in CONNECT');
      return noVc(gw, link, p.type);
    case 'FORWARDER_ENCAPSULATION':
      // [3.19]: a 2.0 forwarder; 1.2's (0xFE) are served by the transport. Answered as the reference says (§3.16).
      gw.refused('unsupported', '2.0 Forwarder Encapsulation (0xFC) not supported: answered DISCONNECT 0xF3', { peer: link.peer.key });
      return gw.sendV2(link, { type: 'DISCONNECT', reasonCode: RC.FORWARDER_ENCAPSULATION_NOT_SUPPORTED });
    case 'PROTECTION_ENCAPSULATION':
      gw.refused('unsupported', 'Protection Encapsulation (0xFF) not supported: answered DISCONNECT 0xF2', { peer: link.peer.key });
      return gw.sendV2(link, { type: 'DISCONNECT', reasonCode: RC.PROTECTION_NOT_SUPPORTED });
    case 'CONNECTION_ENCAPSULATION':
      return onConnectionEncapsulation(gw, link, p);
    case 'CONNACK':
    case 'SUBACK':
    case 'UNSUBACK':
    case 'PINGRESP':
    case 'SLEEPRESP':
    case 'WAKEUP':
    case 'ADVERTISE':
    case 'GWINFO':
      return gw.refused('badState', 'message a gateway sends, not receives, dropped', { clientId: s?.clientId, type: p.type, version: '2.0' });
  }
}

/** The Packet Identifier of a request the gateway must answer before the client may send another [4.9]. */
function requestIdOf(p: v2.Packet): number | undefined {
  if (p.type === 'PUBLISH') return p.packetId; // QoS 0 has none: not counted
  return REQUESTS.has(p.type) && 'packetId' in p ? p.packetId : undefined;
}

/** Requests a client sends with a Packet Identifier and waits on [4.9], beside PUBLISH QoS 1/2. */
const REQUESTS = new Set<v2.PacketName>(['PUBREL', 'REGISTER', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PINGREQ', 'SLEEPREQ']);

/**
 * MQTT-SN-4.9-1: a second request with another Packet Identifier while one is unanswered is a
 * Receive Maximum violation: DISCONNECT 0x93 and the Virtual Connection ends. A repeat of the
 * pending one (a retransmission) is fine. AUTH is never a request here (no method is served).
 */
function oneInFlight(gw: GatewayCore, link: V2Link, s: Session | undefined, packetId: number): boolean {
  if (!hasVc(s)) return true; // refused as without a session anyway
  if (link.pending !== undefined && link.pending !== packetId) {
    gw.refused('protocolError', '2.0 client sent a second request before its first was answered (one in flight, [4.9]); DISCONNECT 0x93', { clientId: s.clientId, pending: link.pending, packetId });
    if (s.link !== undefined) gw.sendV2(s.link, { type: 'DISCONNECT', reasonCode: RC.RECEIVE_MAXIMUM_EXCEEDED });
    gw.lose(s, 'one-in-flight violated');
    return false;
  }
  link.pending = packetId;
  return true;
}

/** [3.1.19]: validate, then the same CONNECT as 1.2's, with the will inside and Session Expiry. */
function onConnectV2(gw: GatewayCore, link: Link & { v2: V2Link }, p: v2.PacketOf<'CONNECT'>): void {
  link.v2.connectId = p.packetId;
  link.v2.assignedClientId = undefined;
  link.v2.pending = undefined;
  link.v2.authMethod = undefined;
  if (!connectAllowedNow(gw, link, p.clientId)) return;
  const refuse = (reason: number, why: string, counted: 'unsupported' | 'protocolError' | 'notAuthorized' | 'invalidTopic' | 'congestion'): void => {
    gw.refused(counted, `2.0 CONNECT refused: ${why}`, { peer: link.peer.key, clientId: p.clientId, reasonCode: `0x${reason.toString(16)}` });
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.NOT_SUPPORTED }, reason);
  };
  // MQTT-SN-3.1.5-2: another version in the 2.0 layout gets 0x84 and no session (`06 02 00 pid 84`).
  if (p.protocolVersion !== v2.PROTOCOL_VERSION) return refuse(RC.UNSUPPORTED_PROTOCOL_VERSION, `protocol version ${p.protocolVersion}`, 'unsupported');
  // MQTT-SN-3.1.6-4: Keep Alive cannot be switched off in 2.0.
  if (p.keepAlive === 0) return refuse(RC.PROTOCOL_ERROR, 'Keep Alive 0', 'protocolError');
  // [4.11]: MQTT-BASIC is the one method served (one step, no AUTH exchange); another gets 0x8C.
  const credentials = p.auth === undefined || p.auth.method !== MQTT_BASIC ? undefined : basicCredentials(p.auth.data);
  if (p.auth !== undefined && p.auth.method !== MQTT_BASIC) return refuse(RC.BAD_AUTHENTICATION_METHOD, `authentication method ${JSON.stringify(p.auth.method)} not supported`, 'unsupported');
  if (p.auth !== undefined && credentials === undefined) return refuse(RC.MALFORMED_PACKET, 'MQTT-BASIC data is not a user name and a password', 'protocolError');
  let clientId = p.clientId;
  if (clientId === '') {
    // MQTT-SN-3.2.11-2: an empty Client Identifier gets one, carried back in CONNACK.
    clientId = `auto-${randomUUID()}`;
    link.v2.assignedClientId = clientId;
  }
  if (!clientIdFits(clientId)) return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'client id too long', 'protocolError');
  const sessionExpirySec = p.sessionExpiryInterval ?? 0;
  let will: Will | undefined;
  if (p.will !== undefined) {
    const topic = willTopic(gw, clientId, p.will, p.cleanStart);
    if (topic === undefined) return refuse(RC.PROTOCOL_ERROR, 'will topic alias unknown', 'protocolError');
    if (validateTopicName(topic) !== undefined || tooLong(topic, gw.options.limits.maxTopicBytes)) return refuse(RC.TOPIC_NAME_INVALID, 'will topic name invalid', 'invalidTopic');
    // A will is a publish by the client: the ACL holds for it too, or it would be a way around it.
    if (!gw.auth.mayPublish(clientId, topic)) return refuse(RC.NOT_AUTHORIZED, gw.auth.reserved(topic) ? `will topic not allowed: ${RESERVED}` : 'will topic not allowed by the ACL', 'notAuthorized');
    will = { topic, qos: p.will.qos, retain: p.will.retain, payload: p.will.payload };
  }
  if (link.v2.assignedClientId !== undefined) gw.clientLog.info({ peer: link.peer.key, clientId }, 'CONNECT with an empty client id: client id assigned');
  const request: ConnectRequest = {
    clientId,
    keepAliveSec: p.keepAlive,
    cleanStart: p.cleanStart,
    // [3.1.9]: absent or 0, the session ends with the Virtual Connection.
    cleanSession: sessionExpirySec === 0,
    sessionExpirySec,
    // [3.1.8]: 0 or absent leaves it to the server, which sends everything.
    awakeLimit: p.defaultAwakeMessages === 0 ? undefined : p.defaultAwakeMessages,
    // AMBIG-3: 0 is "no limit" (PR #166), whatever MQTT-SN-3.1.7-1's wording.
    maxPacketSize: p.maxPacketSize,
    allowAddressChange: p.allowNetworkAddressChanges,
    will,
    resumesSleeper: false,
    // Transparent mode: the device's own upstream connection logs in with them (item 12 of §11).
    credentials,
  };
  const users = gw.passwords();
  if (credentials === undefined) return connect(gw, link, request);
  link.v2.authMethod = MQTT_BASIC;
  // Without a password file (broker.auth) the gateway checks nothing: in transparent mode the
  // upstream broker judges the credentials (its refusal is CONNACK 0x86 / 0x87, see accept() in
  // handlers/connection.ts); otherwise they are taken as an MQTT broker without authentication
  // takes them. With one, they are checked here first, so a wrong password costs no upstream
  // connection, and the upstream broker then judges them too.
  if (users === undefined) return connect(gw, link, request);
  const checked = gw.passwordGate.check(users, credentials.username, credentials.password);
  if (checked === undefined) return refuse(RC.SERVER_BUSY, 'too many password checks under way', 'congestion');
  void checked.then((ok) => {
    // A newer CONNECT from this address (its own check pending, or done) has the last word.
    if (link.v2.connectId !== p.packetId) return;
    if (ok) connect(gw, link, request);
    // MQTT 5's code for it, which the draft's table carries for CONNACK (Fig 2-7).
    else refuse(RC.BAD_USER_NAME_OR_PASSWORD, `bad user name or password for ${JSON.stringify(credentials.username)}`, 'notAuthorized');
  });
}

/** The authentication method of MQTT user names and passwords [4.11]. */
const MQTT_BASIC = 'MQTT-BASIC';

/** What a client may wrap in a Connection Encapsulation (MQTT-SN-3.18-3). */
const MOVABLE = new Set<v2.PacketName>(['PUBLISH', 'SUBSCRIBE', 'UNSUBSCRIBE', 'REGISTER', 'DISCONNECT', 'SLEEPREQ', 'PINGREQ']);

/**
 * [3.18]: a client whose address changed (a NAT rebinding, a sleeper waking elsewhere) names its
 * Client Identifier around a packet; its Virtual Connection moves to the new address and the packet
 * is handled there. Only for a CONNECT with Net Addr 1 (MQTT-SN-3.1.2.6-1: else a protocol error
 * that ends the VC), and only where a CONNECT from there would be let in (auth.clients,
 * auth.takeover): the draft warns that anyone who knows the id could otherwise take the session.
 */
function onConnectionEncapsulation(gw: GatewayCore, link: Link, p: v2.PacketOf<'CONNECTION_ENCAPSULATION'>): void {
  const s = gw.sessions.get(p.clientId);
  if (!hasVc(s) || s.version !== '2.0') return noVc(gw, link, p.type);
  if (!s.allowAddressChange) return protocolError(gw, s, 'Connection Encapsulation without Net Addr in CONNECT');
  const inner = decodeV2(p.packet);
  if (inner instanceof DecodeError) {
    bump(gw.stats.decodeErrors, inner.code);
    return gw.refused('decode', 'malformed packet inside a Connection Encapsulation dropped', { clientId: s.clientId, peer: link.peer.key, code: inner.code });
  }
  if (!MOVABLE.has(inner.type)) return protocolError(gw, s, `${inner.type} inside a Connection Encapsulation`);
  if (!mayComeFrom(gw, 'address change', s.clientId, s, link)) return noVc(gw, link, p.type);
  // Heard from, wherever it is now (handleFrame only touched a session at this address).
  s.lastSeen = gw.clock.now();
  const moved = { transport: link.transport, peer: link.peer, v2: s.link?.v2 ?? newV2Link() };
  if (s.link?.peer.key !== link.peer.key) gw.bind(s, moved);
  bump(gw.stats.packetsIn, inner.type);
  onV2Packet(gw, moved, s, inner);
}

/** The name a Will's topic means [3.1.10]: a session alias only of a session the CONNECT keeps. */
function willTopic(gw: GatewayCore, clientId: string, w: v2.Will, cleanStart: boolean): string | undefined {
  switch (w.topicType) {
    case 'name':
      return w.topicName;
    case 'predefined':
      return gw.predefined.nameOf(w.topicAlias);
    case 'session':
      return cleanStart ? undefined : gw.sessions.get(clientId)?.registry.nameOf(w.topicAlias);
  }
}

/** The alias of the PUBLISH in flight with this id, for a PUBACK 0xF0 that says the client does not know it. */
function inFlightAlias(s: Session | undefined, packetId: number): number {
  const f = s?.inFlight;
  return f?.kind === 'publish' && f.msgId === packetId && f.topic.topicIdType === 'normal' ? f.topic.topicId : 0;
}

/** A client's Reason Code in 1.2's return codes, for the outbox: 0xF0 is 1.2's 0x02, 0xF1 its 0x01. */
function returnCodeOf(reasonCode: number | undefined): number {
  if (reasonCode === undefined || !v2.isFailure(reasonCode)) return ReturnCode.ACCEPTED;
  if (reasonCode === RC.UNKNOWN_TOPIC_ALIAS) return ReturnCode.INVALID_TOPIC_ID;
  if (reasonCode === RC.CONGESTION) return ReturnCode.CONGESTION;
  return ReturnCode.NOT_SUPPORTED;
}

/**
 * [3.4]: a client REGISTER asks for a session alias; a name with a predefined alias gets that
 * one, Topic Type 01, and 0x1A Topic Alias Exists instead (MQTT-SN-4.7.2.2-5).
 */
function onRegisterV2(gw: GatewayCore, link: Link & { v2: V2Link }, s: Session | undefined, p: v2.PacketOf<'REGISTER'>): void {
  const predefined = gw.predefined.idOf(p.topicName);
  if (predefined !== undefined && hasVc(s) && s.reachable) {
    ask(link.v2, p.packetId, 'predefinedName');
    return gw.send(link, { type: 'REGACK', topicId: predefined, msgId: p.packetId, returnCode: ReturnCode.ACCEPTED }, RC.TOPIC_ALIAS_EXISTS);
  }
  ask(link.v2, p.packetId, 'name');
  dispatch(gw, link, s, { type: 'REGISTER', topicId: 0, msgId: p.packetId, topicName: p.topicName });
}

/**
 * [3.7]: a filter with a predefined alias is subscribed by it (SUBACK then returns it,
 * MQTT-SN-4.7.2.2-2); a session alias is translated to its name before anything else [4.7.2].
 */
function onSubscribeV2(gw: GatewayCore, link: Link & { v2: V2Link }, s: Session | undefined, p: v2.PacketOf<'SUBSCRIBE'>): void {
  const base = { type: 'SUBSCRIBE' as const, dup: false, qos: p.qos, msgId: p.packetId };
  const options = { noLocal: p.noLocal, retainAsPublished: p.retainAsPublished, retainHandling: p.retainHandling };
  const subscribe = (q: PacketOf<'SUBSCRIBE'>): void => guarded(gw, link, s, q, (session) => onSubscribe(gw, session, q, link, options));
  switch (p.topicType) {
    case 'predefined':
      ask(link.v2, p.packetId, 'predefinedAlias');
      return subscribe({ ...base, topicIdType: 'predefined', topicId: p.topicAlias });
    case 'session': {
      const name = s?.registry.nameOf(p.topicAlias);
      ask(link.v2, p.packetId, 'name');
      if (name === undefined && hasVc(s) && s.reachable) {
        bump(gw.stats.dropped, 'invalidTopic');
        return gw.send(link, { type: 'SUBACK', qos: 0, topicId: 0, msgId: p.packetId, returnCode: ReturnCode.INVALID_TOPIC_ID });
      }
      return subscribe({ ...base, topicIdType: 'normal', topicName: name ?? '' });
    }
    case 'filter': {
      const predefined = hasWildcards(p.topicFilter) ? undefined : gw.predefined.idOf(p.topicFilter);
      if (predefined !== undefined) {
        ask(link.v2, p.packetId, 'predefinedName');
        return subscribe({ ...base, topicIdType: 'predefined', topicId: predefined });
      }
      ask(link.v2, p.packetId, hasWildcards(p.topicFilter) ? 'wildcard' : 'name');
      return subscribe({ ...base, topicIdType: 'normal', topicName: p.topicFilter });
    }
  }
}

function onUnsubscribeV2(gw: GatewayCore, link: Link, s: Session | undefined, p: v2.PacketOf<'UNSUBSCRIBE'>): void {
  const base = { type: 'UNSUBSCRIBE' as const, msgId: p.packetId };
  switch (p.topicType) {
    case 'predefined':
      return dispatch(gw, link, s, { ...base, topicIdType: 'predefined', topicId: p.topicAlias });
    case 'session':
      // MQTT-SN-3.9.6-1: the alias is translated to its name, then compared as a filter.
      return dispatch(gw, link, s, { ...base, topicIdType: 'normal', topicName: s?.registry.nameOf(p.topicAlias) ?? '' });
    case 'filter':
      return dispatch(gw, link, s, { ...base, topicIdType: 'normal', topicName: p.topicFilter });
  }
}

/**
 * [3.13]: never answered. 0x04 asks for the will to be published, anything else discards it
 * (MQTT-SN-3.13.7-1..-4); a Session Expiry Interval replaces the CONNECT's, but not 0 by another
 * value (MQTT-SN-3.13.5-2: Protocol Error 0x82).
 */
function onDisconnectV2(gw: GatewayCore, link: Link, s: Session | undefined, p: v2.PacketOf<'DISCONNECT'>): void {
  if (!hasVc(s)) {
    // A DISCONNECT is never answered, not even with 0xF4: there is nothing to end.
    bump(gw.stats.dropped, 'unknownClient');
    return;
  }
  const sei = p.sessionExpiryInterval;
  if (sei !== undefined && sei !== 0 && s.sessionExpirySec === 0) return protocolError(gw, s, 'DISCONNECT sets a Session Expiry Interval on a session that had 0');
  if (sei !== undefined) {
    s.sessionExpirySec = sei;
    s.cleanSession = sei === 0;
  }
  s.pendingConnect?.timer.cancel();
  s.pendingConnect = undefined;
  if (p.reasonCode === RC.DISCONNECT_WITH_WILL) {
    transition(gw, s, { type: 'lose', reason: 'DISCONNECT with Will Message (0x04)' });
    return;
  }
  gw.clientLog.info({ clientId: s.clientId, peer: link.peer.key, reasonCode: p.reasonCode ?? 0 }, '2.0 client disconnected');
  transition(gw, s, { type: 'disconnect' });
}

/**
 * [3.14, 4.14.2]: SLEEPREQ -> SLEEPRESP and Asleep, the same sleep as 1.2's DISCONNECT with a
 * duration: buffered, woken by PINGREQ, supervised for the sleep duration times 1.5.
 * A new SLEEPREQ while asleep restarts the sleep timer (MQTT-SN-3.15.5-7).
 */
function onSleepreq(gw: GatewayCore, link: Link & { v2: V2Link }, s: Session | undefined, p: v2.PacketOf<'SLEEPREQ'>): void {
  if (!hasVc(s)) return noVc(gw, link, p.type);
  if (p.sleepDuration === 0) return protocolError(gw, s, 'SLEEPREQ with Sleep Duration 0');
  s.sleepSec = p.sleepDuration;
  // Retain Topic Aliases 0 [3.15.2.1]: the session aliases are forgotten for the sleep and told
  // again by REGISTER before their next use, as after a reconnect (predefined ones stay).
  if (!p.retainTopicAliases) s.confirmedIds.clear();
  transition(gw, s, { type: 'sleep' });
  gw.sendV2(link, { type: 'SLEEPRESP', packetId: answered(link.v2, p.packetId), reasonCode: RC.SUCCESS });
  gw.clientLog.info({ clientId: s.clientId, duration: p.sleepDuration }, 'client asleep');
}

/** [4.12.1]: the server MAY send DISCONNECT and MUST delete the VC, its will then published. */
function protocolError(gw: GatewayCore, s: Session, why: string): void {
  gw.refused('protocolError', `2.0 protocol error: ${why}; DISCONNECT 0x82`, { clientId: s.clientId });
  if (s.link !== undefined) gw.sendV2(s.link, { type: 'DISCONNECT', reasonCode: RC.PROTOCOL_ERROR });
  gw.lose(s, `protocol error: ${why}`);
}

/** MQTT-SN-4.2.1-1, [3.13]: a packet that needs a VC from an address without one: DISCONNECT 0xF4. */
function noVc(gw: GatewayCore, link: Link, type: string): void {
  bump(gw.stats.dropped, 'unknownClient');
  gw.logger.debug({ peer: link.peer.key, type }, '2.0 packet without a Virtual Connection: DISCONNECT 0xF4');
  gw.sendV2(link, { type: 'DISCONNECT', reasonCode: RC.NO_VIRTUAL_CONNECTION });
}

/** Answers to the gateway's requests, PUBREL and DISCONNECT: what completes work already accepted. */
const COMPLETING = new Set<v2.PacketName>(['PUBACK', 'PUBREC', 'PUBCOMP', 'REGACK', 'PUBREL', 'DISCONNECT']);

/** While draining (guard.ts): only what completes accepted work, as for 1.2; every new request waits for the restarted gateway. */
export function admittedWhileDrainingV2(p: v2.Packet, s: Session | undefined): boolean {
  if (p.type === 'PINGREQ') return s !== undefined && s.state === 'active';
  // A repeat of a QoS 2 message already published: the gateway only answers PUBREC again.
  if (p.type === 'PUBLISH') return p.qos === 2 && p.packetId !== undefined && s !== undefined && s.qos2Received.has(p.packetId);
  return COMPLETING.has(p.type);
}
