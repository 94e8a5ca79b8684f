/**
 * Gateway -> client delivery: the one component that owns the send queue, the single request in
 * flight toward a client and REGISTER-before-PUBLISH (MQTT-SN.md §4.6, §4.7 concurrency, §4.10).
 * T_RETRY / N_RETRY and matching answers to the request (§4.13) are the session's waitress
 * (src/waitress.ts, the engine firmware-sim's requests run on too).
 */
import type { Packet, PublishTopic } from '../codec/index.js';
import { Waitress, type Pending, type Verdict } from '../waitress.js';
import type { GatewayCore } from './core.js';
import { deliveryBytes } from './delivery-queue.js';
import { letGo } from './persistence.js';
import type { InFlight, OutboxAnswer, Session } from './session.js';
import { transition } from './shell.js';
import { bump, type RefusingMessage } from './stats.js';
import type { Delivery } from './types.js';

/**
 * Queues a message for a client. A client that cannot take it now (asleep, away with a kept
 * session) gets it buffered, bounded, oldest dropped first; QoS 0 is not kept for a client that
 * is not coming back to a wake-up (disconnected or lost), as an MQTT broker would not keep it.
 */
export function enqueue(gw: GatewayCore, s: Session, d: Delivery): void {
  if (s.refusedTopics.has(d.topic)) {
    letGo(d);
    gw.refused('registerRefused', 'message dropped: the client refused (or never answered) the REGISTER of its topic', { clientId: s.clientId, topic: d.topic });
    return;
  }
  if (!s.reachable) {
    if (d.qos === 0 && (s.state === 'disconnected' || s.state === 'lost')) return letGo(d);
    if (s.queue.length >= gw.options.limits.sleepBufferMessages) {
      gw.persistence.done(s, s.queue.shift()!);
      gw.refused('sleepBufferFull', 'sleep buffer full (limits.sleepBufferMessages): oldest message dropped', { clientId: s.clientId, limit: gw.options.limits.sleepBufferMessages });
    }
    const limit = gw.options.limits.maxBufferedBytesTotal;
    if (gw.buffered.bytes + deliveryBytes(d) > limit && !fairShareRoom(gw, s, deliveryBytes(d), limit)) {
      letGo(d);
      gw.refused('bufferedBytesFull', 'message not buffered: limits.maxBufferedBytesTotal reached and the client holds its fair share', { clientId: s.clientId, topic: d.topic, limit });
      return;
    }
    gw.persistence.queued(s, d);
    s.queue.push(d);
    return;
  }
  if (s.queue.length >= gw.options.limits.maxInflightQueue) {
    gw.persistence.done(s, s.queue.shift()!);
    gw.refused('queueFull', 'send queue full (limits.maxInflightQueue): oldest message dropped', { clientId: s.clientId, limit: gw.options.limits.maxInflightQueue });
  }
  gw.persistence.queued(s, d);
  s.queue.push(d);
  if (s.inFlight === undefined) pump(gw, s);
}

/**
 * The global cap is shared fairly: each session holding a buffer may fill `limit / holders`. A
 * client under its share when the cap is reached gets room from the oldest messages of clients
 * that are away (asleep or absent) and over theirs, so sessions that subscribed to a busy topic
 * and never came back cannot keep an honest sleeper's command out. A client at its share has its
 * new message dropped instead: what the others hold was accepted first.
 */
function fairShareRoom(gw: GatewayCore, s: Session, cost: number, limit: number): boolean {
  const holders = gw.buffered.holders;
  if (holders === undefined) return false;
  const share = limit / (holders.size + (holders.has(s) ? 0 : 1));
  if (s.queue.bytes + cost > share) return false;
  for (const other of holders) {
    if (other === s || other.reachable) continue;
    while (other.queue.bytes > share && gw.buffered.bytes + cost > limit) {
      gw.persistence.done(other, other.queue.shift()!);
      gw.refused('bufferedBytesFull', 'oldest buffered message of a client over its fair share of limits.maxBufferedBytesTotal dropped', { clientId: other.clientId, for: s.clientId });
    }
    if (gw.buffered.bytes + cost <= limit) return true;
  }
  return false;
}

/** Sends queued messages while nothing is in flight; a wake ends with PINGRESP once all is out (§4.12.2). */
export function pump(gw: GatewayCore, s: Session): void {
  // Held while the client waits for the PUBACK / PUBREC of its own PUBLISH (see Session.acksOwed).
  if (s.acksOwed > 0) return;
  while (s.reachable && s.inFlight === undefined && s.queue.length > 0 && !awakeLimitReached(s)) {
    if (s.state === 'awake') s.awakeSent++;
    start(gw, s, s.queue.shift()!);
  }
  if (s.state === 'awake' && s.inFlight === undefined && (s.queue.length === 0 || awakeLimitReached(s))) transition(gw, s, { type: 'flushed' });
}

/** 2.0 [4.14.2]: a wake delivers at most Default Awake Messages; PINGRESP then says how many wait. */
function awakeLimitReached(s: Session): boolean {
  return s.state === 'awake' && s.awakeLimit !== undefined && s.awakeSent >= s.awakeLimit;
}

type Resolved = { topic: PublishTopic } | { register: number } | 'full';

/**
 * The topic form a client can read (§4.10): an id it confirmed in this connection, a predefined
 * id, a short name, or else a normal id it must first be told with REGISTER.
 */
function resolveTopic(gw: GatewayCore, s: Session, name: string): Resolved {
  const id = s.registry.lookup(name);
  if (id !== undefined && s.confirmedIds.has(id)) return { topic: { topicIdType: 'normal', topicId: id } };
  const predefinedId = gw.predefined.idOf(name);
  if (predefinedId !== undefined) return { topic: { topicIdType: 'predefined', topicId: predefinedId } };
  if (name.length <= 2 && Buffer.byteLength(name) === 2) return { topic: { topicIdType: 'short', topicName: name } };
  if (id !== undefined) return { register: id };
  const assigned = s.registry.idFor(name);
  return assigned === 'full' ? 'full' : { register: assigned };
}

function start(gw: GatewayCore, s: Session, d: Delivery): void {
  // Called while reachable (a request is in flight only then): active and awake carry their link.
  const phase = s.phase;
  if (phase.state !== 'active' && phase.state !== 'awake') {
    s.queue.unshift(d);
    return;
  }
  const link = phase.link;
  if (d.sent?.stage === 'pubcomp') {
    // The client has this message (it sent PUBREC): only the release is left, no topic needed
    // (retries in this stage send PUBREL, so the topic below is never put on the wire).
    const f: InFlight = { kind: 'publish', msgId: d.sent.msgId, topic: { topicIdType: 'normal', topicId: 1 }, delivery: d, stage: 'pubcomp', timer: retryTimer(s) };
    s.inFlight = f;
    wait(gw, s, f, { type: 'PUBREL', msgId: f.msgId });
    return;
  }
  if (s.refusedTopics.has(d.topic)) {
    gw.persistence.done(s, d);
    gw.refused('registerRefused', 'message dropped: the client refused (or never answered) the REGISTER of its topic', { clientId: s.clientId, topic: d.topic });
    return;
  }
  const r = resolveTopic(gw, s, d.topic);
  if (r === 'full') {
    gw.persistence.done(s, d);
    gw.refused('congestion', 'no topic id left for this client (limits.maxRegistrationsPerClient or maxTopicBytesTotal): message dropped', { clientId: s.clientId, topic: d.topic });
    return;
  }
  if ('register' in r) {
    // §4.6: REGISTER and wait for REGACK 0x00 before the PUBLISH on a topic the client does not know.
    const msgId = s.nextMsgId();
    const f: InFlight = { kind: 'register', msgId, topicId: r.register, delivery: d, timer: retryTimer(s) };
    s.inFlight = f;
    gw.persistence.session(s); // a new id in the registry
    wait(gw, s, f, { type: 'REGISTER', topicId: r.register, msgId, topicName: d.topic });
    return;
  }
  // §4.10: a message that does not fit the medium is not delivered; the client is not told, the operator is.
  if (publishSize(d) > link.transport.maxFrameSize) {
    gw.persistence.done(s, d);
    gw.refused('tooLarge', "message larger than the client's transport maxFrameSize: not delivered", { clientId: s.clientId, topic: d.topic, size: publishSize(d), limit: link.transport.maxFrameSize });
    return;
  }
  // 2.0 MQTT-SN-3.1.7-2/-3: nor one over the Maximum Packet Size the client asked for; it counts as delivered.
  if (s.maxPacketSize > 0 && publishSize(d) > s.maxPacketSize) {
    gw.persistence.done(s, d);
    gw.refused('tooLarge', "message larger than the client's Maximum Packet Size: not delivered", { clientId: s.clientId, topic: d.topic, size: publishSize(d), limit: s.maxPacketSize });
    return;
  }
  bump(gw.stats.publishOut, String(d.qos) as '0' | '1' | '2');
  if (d.qos === 0) {
    gw.send(link, { type: 'PUBLISH', dup: false, qos: 0, retain: d.retain, msgId: 0, payload: d.payload, ...r.topic });
    gw.persistence.done(s, d);
    return;
  }
  // A message sent before (then the client slept, or the gateway restarted) keeps its MsgId and
  // goes again with DUP; one that had its PUBREC continues with PUBREL (§4.7).
  const resumed = d.sent;
  const msgId = resumed?.msgId ?? s.nextMsgId();
  const stage = resumed?.stage ?? (d.qos === 1 ? 'puback' : 'pubrec');
  const f: InFlight = { kind: 'publish', msgId, topic: r.topic, delivery: d, stage, timer: retryTimer(s) };
  s.inFlight = f;
  if (resumed === undefined) gw.persistence.sent(s, d, msgId, stage);
  const publish = { type: 'PUBLISH', dup: resumed !== undefined, qos: d.qos, retain: d.retain, msgId, payload: d.payload, ...r.topic } as const;
  wait(gw, s, f, publish, () => ({ ...publish, dup: true }));
}

/** Bytes of the PUBLISH carrying `d` (the gateway never sends inline names). */
function publishSize(d: Delivery): number {
  const total = 7 + d.payload.length;
  return total <= 255 ? total : total + 2;
}

/** The session's waitress: T_RETRY and N_RETRY of its requests, and their answers matched. */
function requests(gw: GatewayCore, s: Session): Waitress<Packet, OutboxAnswer, InFlight> {
  s.requests ??= new Waitress<Packet, OutboxAnswer, InFlight>({
    clock: gw.clock,
    retryMs: gw.options.timers.retryMs,
    maxRetries: gw.options.timers.maxRetries,
    send: (frame) => {
      // A request is in flight only while the client is reachable: leaving abandons it.
      const link = s.link;
      if (link !== undefined) gw.send(link, frame);
    },
    retransmitting: () => {
      gw.stats.retransmissions++;
    },
    timeoutError: (r) => new Error(`no answer to ${r.tag.kind === 'register' ? 'REGISTER' : 'PUBLISH'} after ${r.retries + 1} tries`),
    expired: (r, err) => unanswered(gw, s, r, err),
  });
  return s.requests;
}

/**
 * Sends the request's frame and waits for its answer: §4.13, the frame again after T_RETRY
 * (`retransmit`: a PUBLISH with DUP), N_RETRY times. Answers reach the waitress through the on*
 * handlers below, which act on what it matched; a time-out is `unanswered`.
 */
function wait(gw: GatewayCore, s: Session, f: InFlight, frame: Packet, retransmit?: () => Packet): void {
  requests(gw, s).start({ tag: f, frame, match: (a) => answers(gw, s, f, a), retransmit });
}

/** Whether `a` answers `f` (§4.7): REGACK a REGISTER; PUBACK, or PUBREC then PUBCOMP, a PUBLISH. */
function answers(gw: GatewayCore, s: Session, f: InFlight, a: OutboxAnswer): Verdict<Packet> {
  if (a.msgId !== f.msgId) return false;
  if (f.kind === 'register') return a.type === 'REGACK';
  switch (f.stage) {
    case 'puback':
      return a.type === 'PUBACK';
    case 'pubcomp':
      return a.type === 'PUBCOMP';
    case 'pubrec':
      if (a.type !== 'PUBREC') return false;
      // The client has the message: stored as such before the PUBREL leaves, which from now on
      // is the frame retransmitted, with the retries counted afresh.
      f.stage = 'pubcomp';
      gw.persistence.sent(s, f.delivery, f.msgId, 'pubcomp');
      // MQTT 3.1.1 §4.3.3: from its PUBREC the client owns the message; the uplink may let go.
      letGo(f.delivery);
      return { next: { type: 'PUBREL', msgId: f.msgId } };
  }
}

/** The handle `InFlight.timer`: stops the request's T_RETRY (a graceful stop), see Waitress.stopTimers. */
function retryTimer(s: Session): InFlight['timer'] {
  return { cancel: () => s.requests?.stopTimers((f) => f === s.inFlight) };
}

/** Retransmissions of the request in flight so far (the sessions API shows them). */
export function inFlightRetries(s: Session): number {
  const f = s.inFlight;
  return f === undefined ? 0 : (s.requests?.find((t) => t === f)?.retries ?? 0);
}

/**
 * §4.13: N_RETRY ran out. An unanswered PUBLISH means the client is lost; an unanswered REGISTER
 * does not (RIOT emcute never answers one, a client whose topic table is full may not): it stands
 * for a refusal, and the session carries on.
 */
function unanswered(gw: GatewayCore, s: Session, r: Pending<InFlight>, err: Error): void {
  const f = r.tag;
  if (f.kind === 'register') {
    s.inFlight = undefined;
    s.refusedTopics.add(f.delivery.topic);
    gw.persistence.done(s, f.delivery);
    gw.refused('registerUnanswered', 'REGISTER never answered: message dropped, topic treated as refused by the client until it subscribes again', {
      clientId: s.clientId,
      topic: f.delivery.topic,
      tries: r.retries + 1,
    });
    pump(gw, s);
    return;
  }
  bump(gw.stats.dropped, 'retriesExhausted');
  gw.lose(s, err.message); // abandons the request; a kept session keeps the message
}

/** Ends the request in flight (its message delivered) and sends what is next. */
function settle(gw: GatewayCore, s: Session, f: InFlight): void {
  gw.persistence.done(s, f.delivery);
  s.inFlight = undefined;
  pump(gw, s);
}

/** The client's REGACK to a gateway REGISTER. */
export function onRegack(gw: GatewayCore, s: Session, msgId: number, topicId: number, returnCode: number): void {
  const f = s.requests?.offer({ type: 'REGACK', msgId })?.request.tag;
  if (f?.kind !== 'register') return; // late duplicate: already settled
  s.inFlight = undefined;
  if (returnCode === 0) {
    s.confirmedIds.add(f.topicId);
    // Its PUBLISH waits, like anything else, while the client is owed a PUBACK (Session.acksOwed).
    if (s.acksOwed > 0) s.queue.unshift(f.delivery);
    else start(gw, s, f.delivery);
  } else {
    // §4.6: a refused REGISTER drops the message and stands for an unsubscribe from that
    // concrete topic (a wildcard subscription stays until UNSUBSCRIBE). Congestion only drops.
    if (returnCode !== 0x01) s.refusedTopics.add(f.delivery.topic);
    gw.persistence.done(s, f.delivery);
    countRefusal(gw, 'REGACK', returnCode);
    gw.refused('registerRefused', 'client refused a REGISTER: message dropped', { clientId: s.clientId, topic: f.delivery.topic, topicId, returnCode });
  }
  pump(gw, s);
}

/** PUBACK from the client: the end of a QoS 1 delivery, or news that it does not know an id. */
export function onPuback(gw: GatewayCore, s: Session, msgId: number, topicId: number, returnCode: number): void {
  if (returnCode === 0x02) {
    // §4.10: the client does not know that id; REGISTER it again before the next PUBLISH on it.
    s.confirmedIds.delete(topicId);
  }
  if (returnCode !== 0) countRefusal(gw, 'PUBACK', returnCode);
  const taken = s.requests?.offer({ type: 'PUBACK', msgId });
  if (taken !== undefined) {
    const f = taken.request.tag;
    const dup = taken.request.retries > 0;
    if (returnCode !== 0) {
      // The message is not sent again: the client has answered it. A client that refuses every
      // DUP copy (RIOT emcute answers 0x03) loses the message whose first copy was lost; this
      // log line is how an operator finds out.
      const fields = { clientId: s.clientId, topic: f.delivery.topic, msgId, returnCode, dup };
      if (dup) gw.refused('clientRefused', 'client refused a retransmitted PUBLISH (DUP): message lost to it', fields);
      else gw.refused('clientRefused', 'client refused a PUBLISH: message lost to it', fields);
    }
    settle(gw, s, f);
  }
}

/** One refusal by the client of a gateway request, by its answer and return code. */
function countRefusal(gw: GatewayCore, answer: RefusingMessage, returnCode: number): void {
  bump(gw.stats.clientRefusals[answer], `0x${returnCode.toString(16).padStart(2, '0')}`);
}

/**
 * PUBREC from the client: answer PUBREL and wait for PUBCOMP (a repeated PUBREC gets PUBREL
 * again). A refusal (2.0's PUBREC of 0x80 or more, [3.6.4]) ends the exchange as a PUBACK refusal does.
 */
export function onPubrec(gw: GatewayCore, s: Session, msgId: number, returnCode = 0): void {
  if (returnCode !== 0) {
    const f = s.inFlight;
    if (f?.kind !== 'publish' || f.msgId !== msgId || f.stage !== 'pubrec') return;
    countRefusal(gw, 'PUBACK', returnCode);
    gw.refused('clientRefused', 'client refused a PUBLISH: message lost to it', { clientId: s.clientId, topic: f.delivery.topic, msgId, returnCode });
    s.requests?.failAll(REFUSED);
    settle(gw, s, f);
    return;
  }
  if (s.requests?.offer({ type: 'PUBREC', msgId }) !== undefined) return; // PUBREL sent, see `answers`
  // A PUBREC again once the PUBREL went (the PUBREL lost, or crossing it): the PUBREL again, and
  // T_RETRY runs on, so a client that never sends PUBCOMP is still given up after N_RETRY.
  const f = s.inFlight;
  if (f?.kind === 'publish' && f.msgId === msgId && f.stage === 'pubcomp' && s.link) gw.send(s.link, { type: 'PUBREL', msgId });
}

export function onPubcomp(gw: GatewayCore, s: Session, msgId: number): void {
  const f = s.requests?.offer({ type: 'PUBCOMP', msgId })?.request.tag;
  if (f !== undefined) settle(gw, s, f);
}

/**
 * The client went away with a request in flight. A kept session (clean session false, or a
 * sleeper) gets the message back at the head of its queue so nothing acknowledged is lost.
 */
export function abandonInFlight(gw: GatewayCore, s: Session, keep: boolean): void {
  const f = s.inFlight;
  if (f === undefined) return;
  s.inFlight = undefined;
  s.requests?.failAll(ABANDONED);
  if (keep && f.delivery.qos > 0) s.queue.unshift(f.delivery);
  else gw.persistence.done(s, f.delivery);
}

/** What an abandoned request is failed with (one error: nothing reads it, and a stack costs). */
const ABANDONED = new Error('the client left with the request in flight');
const REFUSED = new Error('the client refused the request');
