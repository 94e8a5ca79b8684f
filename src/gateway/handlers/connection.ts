/**
 * Connection handlers: CONNECT and the will dance, PINGREQ (keep-alive and wake-up),
 * DISCONNECT (leave or sleep), will updates, SEARCHGW (MQTT-SN.md §4.2-4.4, §4.11-4.12).
 */
import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_ID,
  ReturnCode,
  type ConnectPacket,
  type DisconnectPacket,
  type PingreqPacket,
  type WillMsgPacket,
  type WillMsgUpdPacket,
  type WillTopicPacket,
  type WillTopicUpdPacket,
} from '../../codec/index.js';
import { ReasonCode as V2Reason } from '../../codec/v2/constants.js';
import type { Will } from '../../message.js';
import { validateTopicName } from '../../topics/topic-names.js';
import { whenAnswered } from '../answer.js';
import { RESERVED } from './publish.js';
import type { GatewayCore } from '../core.js';
import { abandonInFlight } from '../outbox.js';
import { transition } from '../shell.js';
import type { Session } from '../session.js';
import { bump } from '../stats.js';
import { tooLong } from '../topic-budget.js';
import type { Link } from '../types.js';
import { isRefusal, type ClientConnectRequest, type ConnectOutcome, type Credentials } from '../../uplink/port.js';

/** Longest client id accepted; v1.2 says 1-23 characters, real devices send longer (MAC-based ids). */
const MAX_CLIENT_ID_BYTES = 128;

/**
 * A CONNECT in the gateway's own words, whichever version sent it: 1.2's CONNECT (and will
 * exchange) and 2.0's CONNECT (will inside) both become one (wire-v2.ts makes the 2.0 one).
 */
export interface ConnectRequest {
  clientId: string;
  keepAliveSec: number;
  /** discard a kept session first (1.2 CleanSession, 2.0 Clean Start) */
  cleanStart: boolean;
  /** the session ends with its connection (1.2 CleanSession, 2.0 Session Expiry Interval 0) */
  cleanSession: boolean;
  /** 2.0 Session Expiry Interval in seconds; undefined for 1.2 */
  sessionExpirySec?: number | undefined;
  /** 2.0 Default Awake Messages; undefined: every buffered message on each wake */
  awakeLimit?: number | undefined;
  /** 2.0 Maximum Packet Size; 0 or undefined: the medium's limit only */
  maxPacketSize?: number | undefined;
  /** 2.0 Net Addr [3.1.2.6]: the client may move by Connection Encapsulation */
  allowAddressChange?: boolean | undefined;
  /**
   * `exchange`: 1.2's WILLTOPICREQ / WILLMSGREQ exchange follows; `unchanged`: a 1.2 CONNECT
   * without the Will flag keeps what the session has; else the will itself (2.0 [3.1.3]), or none.
   */
  will: 'exchange' | 'unchanged' | Will | undefined;
  /**
   * MQTT-SN 1.2 §6.14 reading: a CONNECT without will from a sleeper makes it active again with
   * its session and buffer, whatever its CleanSession. 2.0 has Clean Start for that [4.14].
   */
  resumesSleeper: boolean;
  /** 2.0 MQTT-BASIC user name and password [4.11], checked or not (wire-v2.ts), for the uplink */
  credentials?: Credentials | undefined;
}

/** A CONNECT of MQTT-SN 1.2 (the ProtocolId and client id checks are 1.2's). */
export function onConnect(gw: GatewayCore, link: Link, received: ConnectPacket): void {
  let p = received;
  if (!connectAllowedNow(gw, link, p.clientId)) return;
  if (p.clientId.length === 0 && p.cleanSession && p.protocolId === PROTOCOL_ID) {
    // v1.2 wants 1-23 characters, but `mqtt-sn-12` connects with none by default. As an MQTT
    // 3.1.1 broker does for a clean session (§3.1.3.1), the gateway makes one up: nothing of the
    // session outlives the connection, so nobody needs to know the id again.
    p = { ...p, clientId: `auto-${randomUUID()}` };
    gw.clientLog.info({ peer: link.peer.key, clientId: p.clientId }, 'CONNECT with an empty client id and clean session: client id assigned');
  }
  // §4.3: an unknown ProtocolId or an unsupported feature is answered 0x03; an empty client id
  // without clean session names a session nobody could find again.
  if (p.protocolId !== PROTOCOL_ID || p.clientId.length === 0 || !clientIdFits(p.clientId)) {
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.NOT_SUPPORTED });
    gw.clientLog.info({ peer: link.peer.key, clientId: p.clientId, protocolId: p.protocolId }, 'CONNECT refused: protocol id or client id not supported');
    return;
  }
  connect(gw, link, {
    clientId: p.clientId,
    keepAliveSec: p.duration,
    cleanStart: p.cleanSession,
    cleanSession: p.cleanSession,
    will: p.will ? 'exchange' : 'unchanged',
    resumesSleeper: !p.will,
  });
}

/** Whether a client id is short enough to be kept (both versions allow more than 23 characters). */
export function clientIdFits(clientId: string): boolean {
  return Buffer.byteLength(clientId) <= MAX_CLIENT_ID_BYTES;
}

/**
 * First, before any work: a CONNECT flood from one address must stay cheap. Congestion tells an
 * honest client to try later (§4.3). The address bucket goes first so that a host cycling
 * through source ports is refused before it costs a per-peer bucket each.
 */
export function connectAllowedNow(gw: GatewayCore, link: Link, clientId: string): boolean {
  const address = link.peer.address ?? link.peer.key;
  if (!gw.rates.connectByAddress.take(address)) {
    gw.refused('rateLimited', 'CONNECT over the per-address rate limit', { peer: link.peer.key, address, clientId });
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.CONGESTION });
    return false;
  }
  if (!gw.rates.connect.take(link.peer.key)) {
    gw.refused('rateLimited', 'CONNECT over the per-peer rate limit', { peer: link.peer.key, clientId });
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.CONGESTION });
    return false;
  }
  return true;
}

/** A checked CONNECT of either version: takes over, resumes or creates the session and answers CONNACK. */
export function connect(gw: GatewayCore, link: Link, p: ConnectRequest): void {
  const existing = gw.sessions.get(p.clientId);
  // v1.2 has no "not authorised" code; 0x03 is the refusal that makes a client stop retrying.
  if (!mayComeFrom(gw, 'CONNECT', p.clientId, existing, link)) {
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.NOT_SUPPORTED }, V2Reason.NOT_AUTHORIZED);
    return;
  }
  // Half-open sessions cost a session and a timer each for up to connectTimeoutMs: capped, so that
  // a flood of CONNECTs with a will (from many addresses) cannot park them by the thousand. A
  // repeated CONNECT of a session already half-open only replaces its own.
  if (p.will === 'exchange' && existing?.pendingConnect === undefined && gw.pendingConnects.count >= gw.options.limits.maxPendingConnects) {
    bump(gw.stats.dropped, 'congestion');
    gw.logger.debug({ peer: link.peer.key, clientId: p.clientId, limit: gw.options.limits.maxPendingConnects }, 'CONNECT with a will refused: limits.maxPendingConnects reached');
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.CONGESTION });
    return;
  }
  // A peer that was another client (a device rebooted with a new id) has ended that session.
  const previous = gw.byPeer.get(link.peer.key);
  if (previous !== undefined && previous.clientId !== p.clientId && previous.reachable) gw.lose(previous, 'its address connected as another client');

  let s = gw.sessions.get(p.clientId);
  if (s === undefined) {
    // A full table makes room before it refuses a newcomer: first the session absent longest
    // (expiry.ts), so ids parked once cannot hold the gateway for good, then a session that did
    // nothing since its CONNACK (what a flood leaves behind; admission.ts). Absent first, so a
    // client that has just connected is not pushed out by the next one before it could publish.
    if (gw.sessions.size >= gw.options.limits.maxSessions && !gw.evictOldestAbsent()) {
      const victim = gw.admission.victimFor(link.peer);
      if (victim !== undefined) evict(gw, victim);
    }
    if (gw.sessions.size >= gw.options.limits.maxSessions) {
      bump(gw.stats.dropped, 'congestion');
      gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.CONGESTION }, V2Reason.SERVER_BUSY);
      return;
    }
    s = gw.createSession(p.clientId);
    gw.admission.created(s, link.peer);
  } else {
    // Takeover from another address: the old connection is closed, as an MQTT broker would.
    const old = takenOver(s, link);
    if (old !== undefined) gw.send(old, { type: 'DISCONNECT' }, V2Reason.SESSION_TAKEN_OVER);
  }
  const version = link.v2 === undefined ? '1.2' : '2.0';

  // §4.12.3 (ambiguous in v1.2): CONNECT without will from a sleeper is a signal to become
  // active again; the session, its buffer and its flags stay (Paho's and Bisquitt's reading).
  if ((s.state === 'asleep' || s.state === 'awake') && p.resumesSleeper && s.version === version) {
    // MQTT-SN 1.2 §6.10: a client that CONNECTs instead of waking with PINGREQ (mqtt-sn-tools, a
    // device that rebooted while asleep) may have lost its topic table. As on every reconnect,
    // ids are told again by REGISTER before use, and what was in flight goes again after it.
    abandonInFlight(gw, s, true);
    s.confirmedIds.clear();
    s.refusedTopics.clear();
    gw.bind(s, link);
    s.keepAliveSec = p.keepAliveSec;
    s.sessionPresent = true;
    accept(gw, s, true);
    return;
  }

  // A session kept by the other version starts clean: what one version's client was told (its
  // topic ids, its will exchange) means nothing to the other's.
  const cleanStart = p.cleanStart || s.version !== version;
  // 2.0 [3.2.2.1]: Session Present says whether the client finds what it left; a session that only
  // now came to be, or that nothing kept (an ended clean one is gone from the table), is not present.
  s.sessionPresent = existing !== undefined && !cleanStart;
  s.pendingConnect?.timer.cancel();
  s.pendingConnect = undefined;
  abandonInFlight(gw, s, !cleanStart);
  gw.bind(s, link);
  if (cleanStart) clearSession(gw, s);
  // The client may have lost its topic table (§4.3): ids are told again before use.
  s.confirmedIds.clear();
  s.refusedTopics.clear();
  s.version = version;
  s.cleanSession = p.cleanSession;
  s.sessionExpirySec = p.sessionExpirySec;
  s.awakeLimit = p.awakeLimit;
  s.maxPacketSize = p.maxPacketSize ?? 0;
  s.allowAddressChange = p.allowAddressChange ?? false;
  s.keepAliveSec = p.keepAliveSec;
  s.credentials = p.credentials;

  if (p.will !== 'exchange') {
    if (p.will !== 'unchanged') s.will = p.will;
    accept(gw, s, false, cleanStart);
    return;
  }
  const session = s;
  s.pendingConnect = {
    cleanSession: p.cleanSession,
    keepAliveSec: p.keepAliveSec,
    timer: gw.clock.setTimeout(() => abandonConnect(gw, session), gw.options.timers.connectTimeoutMs),
  };
  transition(gw, s, { type: 'willRequested', link });
}

/**
 * The one rule for a CONNECT and a sleeper's PINGREQ, which both name a client id and would hand
 * its session (a sleeper's buffered messages) to the sender: the id must be allowed from the
 * sender's peer (`auth.clients`), and a session in use (connected, in its will exchange, asleep or
 * awake) moves to another peer only under `auth.takeover: "allow"`. A previous peer the gateway
 * does not know (restored from a store whose transport was renamed) counts as another peer.
 * Refusals are counted and logged here; the caller answers.
 */
export function mayComeFrom(gw: GatewayCore, what: 'CONNECT' | 'wake-up' | 'address change', clientId: string, s: Session | undefined, link: Link): boolean {
  const verdict = gw.auth.connect(clientId, link.peer.key);
  if (verdict !== 'ok') {
    gw.refused('notAuthorized', verdict === 'unknownClient' ? `${what} refused: client id not allowed` : `${what} refused: client id not allowed from this peer`, { peer: link.peer.key, clientId });
    return false;
  }
  if (s === undefined || !inUse(s)) return true;
  const from = s.link?.peer.key;
  if (from === link.peer.key) return true;
  const fields = { clientId, from: from ?? '(unknown)', to: link.peer.key, state: s.state };
  if (gw.auth.takeover === 'deny') {
    gw.refused('takeoverRefused', `${what} refused: client id in use from another address (auth.takeover "deny")`, fields);
    return false;
  }
  gw.clientLog.info(fields, what === 'CONNECT' ? 'client id taken over by a new address' : 'sleeper woke from a new address');
  return true;
}

/** A session some peer holds: a CONNECT or wake-up from elsewhere takes it over. */
function inUse(s: Session): boolean {
  return s.reachable || s.state === 'asleep' || s.state === 'await-willtopic' || s.state === 'await-willmsg';
}

/** The link at another address where the session is in use, which a CONNECT on `link` would take it from. */
function takenOver(s: Session, link: Link): Link | undefined {
  const old = s.link;
  return old !== undefined && old.peer.key !== link.peer.key && (s.reachable || s.state === 'await-willtopic' || s.state === 'await-willmsg') ? old : undefined;
}

/** §4.3 table: clean session deletes subscriptions, topic ids, buffered messages and the will. */
function clearSession(gw: GatewayCore, s: Session): void {
  for (const filter of s.subscriptions.keys()) gw.subscriptions.remove(filter, s);
  s.subscriptions.clear();
  s.registry.clear();
  s.queue.clear();
  s.qos2Received.clear();
  s.will = undefined;
  gw.persistence.forget(s);
}

/** What the uplink opens the session's connection with (`cleanStart` undefined: as its clean-session flag). */
export function uplinkRequest(s: Session, extra: Partial<Pick<ClientConnectRequest, 'resume' | 'will' | 'cleanStart'>> = {}): ClientConnectRequest {
  return { clientId: s.clientId, cleanSession: s.cleanSession, keepAliveSec: s.keepAliveSec, credentials: s.credentials, ...extra, will: 'will' in extra ? extra.will : s.will };
}

/**
 * The CONNECT (and will) is complete. The uplink opens the client's connection first and CONNACK
 * carries its outcome (MQTT-SN.md §4.3): a refusal is 0x03, an upstream that cannot be reached
 * 0x01 (try later); the broker core accepts at once. A 2.0 client hears why it was refused:
 * the upstream's "bad user name or password" is 0x86, its "not authorized" 0x87 [Fig 2-7].
 */
function accept(gw: GatewayCore, s: Session, resume = false, cleanStart?: boolean): void {
  s.pendingConnect?.timer.cancel();
  s.pendingConnect = undefined;
  const attempt = ++s.connectAttempt;
  const req = uplinkRequest(s, { resume, cleanStart });
  whenAnswered(
    gw.uplink.connect(req, gw.uplinkSink(s)),
    (outcome) => {
      // A newer CONNECT (a retry, another address) or the session's end made this answer stale.
      if (s.connectAttempt !== attempt || gw.sessions.get(s.clientId) !== s || s.link === undefined) return;
      if (outcome === 'accepted') return activate(gw, s);
      const refusal = REFUSALS[outcome];
      gw.clientLog.info(
        { clientId: s.clientId, peer: s.link.peer.key, outcome, username: s.credentials?.username, connack: s.version === '2.0' ? `0x${refusal.v2Reason.toString(16)}` : `0x0${refusal.returnCode}` },
        `CONNECT refused: ${refusal.why}`,
      );
      transition(gw, s, { type: 'refused', returnCode: refusal.returnCode, v2Reason: refusal.v2Reason });
      // A refused CONNECT leaves no session [3.1.19] unless it found one kept from before (the
      // owner's, which a refused attempt must not take away); one it made, or started clean, holds nothing.
      if (s.cleanSession || !s.sessionPresent) gw.dropSession(s);
    },
    (err: unknown) => gw.logger.error({ clientId: s.clientId, err }, 'upstream connect failed'),
  );
}

/** The CONNACK of each uplink refusal: 1.2 has 0x03 and 0x01 only; 2.0 tells the cause [Fig 2-7]. */
const REFUSALS: Record<Exclude<ConnectOutcome, 'accepted'>, { returnCode: number; v2Reason: number; why: string }> = {
  refused: { returnCode: ReturnCode.NOT_SUPPORTED, v2Reason: V2Reason.UNSPECIFIED_ERROR, why: 'the upstream broker did not accept the client' },
  badCredentials: { returnCode: ReturnCode.NOT_SUPPORTED, v2Reason: V2Reason.BAD_USER_NAME_OR_PASSWORD, why: "the upstream broker refused the client's user name or password (MQTT CONNACK 4)" },
  notAuthorized: { returnCode: ReturnCode.NOT_SUPPORTED, v2Reason: V2Reason.NOT_AUTHORIZED, why: 'the upstream broker did not authorize the client (MQTT CONNACK 5: its credentials, or its rules for this client)' },
  unavailable: { returnCode: ReturnCode.CONGESTION, v2Reason: V2Reason.CONGESTION, why: 'the upstream broker cannot be reached or is unavailable; the client may try later' },
};

/** CONNACK 0x00: the client is active and gets what was kept for it. */
function activate(gw: GatewayCore, s: Session): void {
  transition(gw, s, { type: 'accepted' });
  gw.clientLog.info({ clientId: s.clientId, peer: s.link?.peer.key, cleanSession: s.cleanSession, keepAlive: s.keepAliveSec }, 'client connected');
}

/**
 * Ends a session that did nothing since its CONNACK to make room in a full table. It is told
 * DISCONNECT, so an honest client CONNECTs again (§4.12.6 has no "evicted" code); nothing of it
 * is kept and no will is published: it held nothing, and the gateway ended it, not a failure.
 */
function evict(gw: GatewayCore, s: Session): void {
  bump(gw.stats.dropped, 'evictedIdle');
  gw.logger.debug({ clientId: s.clientId, peer: s.link?.peer.key }, 'session that did nothing since CONNACK evicted: the session table is full');
  if (s.link !== undefined) gw.send(s.link, { type: 'DISCONNECT' }, V2Reason.SERVER_BUSY);
  gw.dropSession(s);
}

function abandonConnect(gw: GatewayCore, s: Session): void {
  if (s.pendingConnect === undefined) return;
  s.pendingConnect = undefined;
  transition(gw, s, { type: 'abandoned' });
}

export function onWillTopic(gw: GatewayCore, s: Session, p: WillTopicPacket, link: Link): void {
  if (s.state === 'await-willmsg') {
    gw.send(link, { type: 'WILLMSGREQ' }); // a repeated WILLTOPIC: our WILLMSGREQ was lost
    return;
  }
  if (s.state !== 'await-willtopic' || s.pendingConnect === undefined) {
    gw.refused('badState', 'WILLTOPIC outside a CONNECT with will dropped', { clientId: s.clientId, state: s.state });
    return;
  }
  // An empty WILLTOPIC means "no will" (§4.3); the next step is ambiguous, CONNACK is the sane one.
  if (p.willTopic === null || p.willTopic === '') {
    s.will = undefined;
    accept(gw, s);
    return;
  }
  // A will is a publish by the client: the ACL holds for it too, or it would be a way around it.
  const denied = validateTopicName(p.willTopic) === undefined && !gw.auth.mayPublish(s.clientId, p.willTopic);
  if (denied) willRefused(gw, s, p.willTopic);
  if (denied || validateTopicName(p.willTopic) !== undefined || tooLong(p.willTopic, gw.options.limits.maxTopicBytes)) {
    s.pendingConnect.timer.cancel();
    s.pendingConnect = undefined;
    transition(gw, s, { type: 'refused', returnCode: ReturnCode.NOT_SUPPORTED });
    return;
  }
  s.pendingConnect.willTopic = { topic: p.willTopic, qos: p.qos, retain: p.retain };
  transition(gw, s, { type: 'willTopicTaken' });
}

function willRefused(gw: GatewayCore, s: Session, topic: string): void {
  gw.refused('notAuthorized', gw.auth.reserved(topic) ? `will topic not allowed: ${RESERVED}` : 'will topic not allowed by the ACL', { clientId: s.clientId, topic });
}

export function onWillMsg(gw: GatewayCore, s: Session, p: WillMsgPacket, link: Link): void {
  if (s.state === 'active') {
    // A repeated WILLMSG after CONNACK: our CONNACK was lost.
    gw.send(link, { type: 'CONNACK', returnCode: ReturnCode.ACCEPTED });
    return;
  }
  const willTopic = s.pendingConnect?.willTopic;
  if (s.state !== 'await-willmsg' || willTopic === undefined) {
    gw.refused('badState', 'WILLMSG outside a CONNECT with will dropped', { clientId: s.clientId, state: s.state });
    return;
  }
  s.will = { ...willTopic, payload: p.willMsg };
  accept(gw, s);
}

/** Over `limits.rate.willUpdatePerClient`: answered 0x01, the will unchanged. */
function willUpdateRefused(gw: GatewayCore, s: Session, link: Link, type: 'WILLTOPICRESP' | 'WILLMSGRESP'): boolean {
  if (gw.rates.willUpdate.take(s.clientId)) return false;
  gw.refused('rateLimited', 'will update over the per-client rate limit', { clientId: s.clientId, peer: link.peer.key });
  gw.send(link, { type, returnCode: ReturnCode.CONGESTION });
  return true;
}

export function onWillTopicUpd(gw: GatewayCore, s: Session, p: WillTopicUpdPacket, link: Link): void {
  if (willUpdateRefused(gw, s, link, 'WILLTOPICRESP')) return;
  // §4.4: an empty WILLTOPICUPD deletes both the will topic and the will message.
  if (p.willTopic === null || p.willTopic === '') {
    s.will = undefined;
  } else if (validateTopicName(p.willTopic) !== undefined || tooLong(p.willTopic, gw.options.limits.maxTopicBytes) || !gw.auth.mayPublish(s.clientId, p.willTopic)) {
    if (validateTopicName(p.willTopic) === undefined && !tooLong(p.willTopic, gw.options.limits.maxTopicBytes)) willRefused(gw, s, p.willTopic);
    gw.send(link, { type: 'WILLTOPICRESP', returnCode: ReturnCode.NOT_SUPPORTED });
    return;
  } else {
    s.will = { topic: p.willTopic, qos: p.qos, retain: p.retain, payload: s.will?.payload ?? Buffer.alloc(0) };
  }
  gw.persistence.session(s);
  answerWillUpdate(gw, s, link, 'WILLTOPICRESP');
}

export function onWillMsgUpd(gw: GatewayCore, s: Session, p: WillMsgUpdPacket, link: Link): void {
  if (willUpdateRefused(gw, s, link, 'WILLMSGRESP')) return;
  // Without a will topic the message is kept for a later WILLTOPICUPD; an empty topic is never published.
  s.will = s.will ? { ...s.will, payload: p.willMsg } : { topic: '', qos: 0, retain: false, payload: p.willMsg };
  gw.persistence.session(s);
  answerWillUpdate(gw, s, link, 'WILLMSGRESP');
}

/**
 * MQTT 3.1.1 cannot change the will of a live connection (MQTT-SN.md §4.4): the uplink opens the
 * client's connection again with the new will before the answer (the broker core answers at once).
 */
function answerWillUpdate(gw: GatewayCore, s: Session, link: Link, type: 'WILLTOPICRESP' | 'WILLMSGRESP'): void {
  const req = uplinkRequest(s, { will: s.will?.topic === '' ? undefined : s.will, resume: true });
  whenAnswered(
    gw.uplink.connect(req, gw.uplinkSink(s)),
    (outcome) => gw.send(link, { type, returnCode: outcome === 'accepted' ? ReturnCode.ACCEPTED : isRefusal(outcome) ? ReturnCode.NOT_SUPPORTED : ReturnCode.CONGESTION }),
    (err: unknown) => gw.logger.error({ clientId: s.clientId, err }, 'upstream reconnect for a new will failed'),
  );
}

/**
 * PINGREQ: keep-alive from an active client, or (with a client id) a sleeper waking up to take
 * its buffered messages, which end with PINGRESP (§4.12.2).
 */
export function onPingreq(gw: GatewayCore, link: Link, s: Session | undefined, p: PingreqPacket): void {
  const sleeper = p.clientId !== undefined ? gw.sessions.get(p.clientId) : s;
  if (sleeper !== undefined && (sleeper.state === 'asleep' || sleeper.state === 'awake')) {
    // The client id lets a sleeper come back from a new address (§4.12.2); the address is
    // updated, but only where a CONNECT from there would be allowed, or a PINGREQ naming a
    // client would hand its buffered messages to anyone.
    if (!mayComeFrom(gw, 'wake-up', sleeper.clientId, sleeper, link)) {
      gw.send(link, { type: 'DISCONNECT' });
      return;
    }
    gw.bind(sleeper, link);
    sleeper.awakeSent = 0;
    gw.clientLog.info({ clientId: sleeper.clientId, queued: sleeper.queue.length }, 'client awake');
    // Ends with PINGRESP once nothing is left; while messages are in flight, T_RETRY / N_RETRY
    // supervise the client.
    transition(gw, sleeper, { type: 'wake', link });
    return;
  }
  if (s !== undefined && s.state === 'active' && (p.clientId === undefined || p.clientId === s.clientId)) {
    gw.send(link, { type: 'PINGRESP' });
    return;
  }
  // §4.1: the gateway cannot place this client; DISCONNECT tells it to CONNECT again.
  bump(gw.stats.dropped, 'unknownClient');
  gw.send(link, { type: 'DISCONNECT' }, V2Reason.NO_VIRTUAL_CONNECTION);
}

export function onDisconnect(gw: GatewayCore, link: Link, s: Session | undefined, p: DisconnectPacket): void {
  gw.send(link, { type: 'DISCONNECT' });
  if (s === undefined) return;
  s.pendingConnect?.timer.cancel();
  s.pendingConnect = undefined;
  if (p.duration !== undefined && p.duration > 0 && (s.reachable || s.state === 'asleep')) {
    // §4.12.1: asleep; messages are buffered until the client wakes. What was in flight goes
    // back to the buffer so it is delivered at the next wake.
    s.sleepSec = p.duration;
    transition(gw, s, { type: 'sleep' });
    gw.clientLog.info({ clientId: s.clientId, duration: p.duration }, 'client asleep');
    return;
  }
  // §4.12.6-7: a plain DISCONNECT (or duration 0) ends the connection without the will.
  transition(gw, s, { type: 'disconnect' });
}

/** §4.2: a gateway answers every SEARCHGW with GWINFO(GwId), without GwAdd. */
export function onSearchGw(gw: GatewayCore, link: Link): void {
  gw.send(link, { type: 'GWINFO', gwId: gw.options.gatewayId });
}
