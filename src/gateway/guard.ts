/**
 * What a client may send in each state: one table, state x packet type -> verdict, consulted by
 * the dispatcher before any handler runs (as aedes' dispatcher checks protocol state before
 * routing). A handler runs only where the table says `handle`; everything else is refused here.
 * Adding a packet type fails to compile until it has a row.
 */
import type { Packet, PacketType } from '../codec/index.js';
import type { Session, SessionState } from './session.js';

/** The client's state as the guard sees it: `none` is an address with no session (§4.1). */
export type GuardState = SessionState | 'none';

/**
 * - `handle`: the packet's handler runs
 * - `unknownClient`: the gateway cannot place the client; DISCONNECT tells it to CONNECT (§4.1)
 * - `ignore`: dropped unanswered (answers and discovery from an address with no session)
 * - `notForwarder`: an encapsulated frame on a transport that does not unwrap them (§5.5)
 * - `badState`: not allowed in this state; the client is told DISCONNECT so it CONNECTs again
 * - `notYet`: not allowed during the will exchange: dropped, as a DISCONNECT would end the exchange
 * - `outOfDance`: a will message outside the will exchange: dropped, the exchange is not disturbed
 * - `gatewaySends`: a message a gateway sends, not receives
 */
export type Verdict = 'handle' | 'unknownClient' | 'ignore' | 'notForwarder' | 'badState' | 'notYet' | 'outOfDance' | 'gatewaySends';

type Row = Readonly<Record<GuardState, Verdict>>;

const row = (none: Verdict, session: Verdict, cells: Partial<Record<SessionState, Verdict>> = {}): Row => ({
  none,
  'await-willtopic': session,
  'await-willmsg': session,
  active: session,
  asleep: session,
  awake: session,
  disconnected: session,
  lost: session,
  ...cells,
});
/** From anyone: the handler places the sender itself (CONNECT, QoS -1 PUBLISH, a sleeper's PINGREQ...). */
const ANYONE = row('handle', 'handle');
/** Needs a session at this address, in any state (answers to the gateway's own requests). */
const SESSION = row('unknownClient', 'handle');
/** Needs a connected client (active, or awake to take its buffer). */
const CONNECTED = row('unknownClient', 'badState', { active: 'handle', awake: 'handle', 'await-willtopic': 'notYet', 'await-willmsg': 'notYet' });
/** Only a gateway sends it (or another gateway's discovery). */
const GATEWAY_ONLY = row('ignore', 'gatewaySends');

export const GUARD: { readonly [T in PacketType]: Row } = {
  CONNECT: ANYONE,
  PUBLISH: ANYONE, // QoS -1 from anyone (§4.8); the handler holds others to their session
  PINGREQ: ANYONE, // a sleeper's wake-up names its client id, from any address (§4.12.2)
  DISCONNECT: ANYONE,
  SEARCHGW: ANYONE,
  PUBREL: ANYONE, // PUBCOMP even for an unknown id (§4.7)
  // §4.3: WILLTOPIC while await-willmsg is a repeat (our WILLMSGREQ was lost); WILLMSG once active, a repeat (CONNACK lost).
  WILLTOPIC: row('unknownClient', 'outOfDance', { 'await-willtopic': 'handle', 'await-willmsg': 'handle' }),
  WILLMSG: row('unknownClient', 'outOfDance', { 'await-willmsg': 'handle', active: 'handle' }),
  REGACK: SESSION,
  PUBACK: SESSION,
  PUBREC: SESSION,
  PUBCOMP: SESSION,
  REGISTER: CONNECTED,
  SUBSCRIBE: CONNECTED,
  UNSUBSCRIBE: CONNECTED,
  WILLTOPICUPD: CONNECTED,
  WILLMSGUPD: CONNECTED,
  ENCAPSULATED: row('notForwarder', 'gatewaySends'),
  ADVERTISE: GATEWAY_ONLY,
  GWINFO: GATEWAY_ONLY,
  CONNACK: GATEWAY_ONLY,
  WILLTOPICREQ: GATEWAY_ONLY,
  WILLMSGREQ: GATEWAY_ONLY,
  SUBACK: GATEWAY_ONLY,
  UNSUBACK: GATEWAY_ONLY,
  PINGRESP: GATEWAY_ONLY,
  WILLTOPICRESP: GATEWAY_ONLY,
  WILLMSGRESP: GATEWAY_ONLY,
};

export function verdict(state: GuardState, type: PacketType): Verdict {
  return GUARD[type][state];
}

/**
 * While the gateway drains (a graceful stop), only what completes work already accepted gets in:
 * answers to its requests, PUBREL, DISCONNECT, a keep-alive, and a repeated QoS 2 PUBLISH it
 * already holds. Every new request is dropped unanswered: the client keeps it and retries after
 * T_RETRY (§4.13), by then against the restarted gateway; 0x01 would keep it away for T_WAIT.
 */
export function admittedWhileDraining(p: Packet, s: Session | undefined): boolean {
  switch (p.type) {
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBCOMP':
    case 'REGACK':
    case 'PUBREL':
    case 'DISCONNECT':
      return true;
    case 'PINGREQ':
      // A keep-alive is answered; a sleeper waking up (with its client id) would start a flush.
      return p.clientId === undefined && s !== undefined && s.state === 'active';
    case 'PUBLISH':
      // A repeat of a QoS 2 message already published: the gateway only answers PUBREC again.
      return p.qos === 2 && s !== undefined && s.qos2Received.has(p.msgId);
    case 'CONNECT':
    case 'REGISTER':
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
    case 'WILLTOPIC':
    case 'WILLMSG':
    case 'WILLTOPICUPD':
    case 'WILLMSGUPD':
    case 'SEARCHGW':
    case 'ENCAPSULATED':
    case 'ADVERTISE':
    case 'GWINFO':
    case 'CONNACK':
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'SUBACK':
    case 'UNSUBACK':
    case 'PINGRESP':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      return false;
  }
}
