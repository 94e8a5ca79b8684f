/**
 * The dispatcher: the guard table (guard.ts) says whether the client's state allows the packet;
 * if so its one handler runs, else the refusal the table names is carried out here.
 *
 * ```
 * (link, session?, packet) ─► verdict(state, type) ─► handle ─► HANDLERS[type]
 *                                                  └► refusal ─► refuse()
 * ```
 */
import type { Packet, PacketOf, PacketType } from '../codec/index.js';
import { ReasonCode as V2Reason } from '../codec/v2/constants.js';
import type { GatewayCore } from './core.js';
import { verdict, type Verdict } from './guard.js';
import { onConnect, onDisconnect, onPingreq, onSearchGw, onWillMsg, onWillMsgUpd, onWillTopic, onWillTopicUpd } from './handlers/connection.js';
import { onPublish, onPubrel, onRegister } from './handlers/publish.js';
import { onSubscribe, onUnsubscribe } from './handlers/subscribe.js';
import { onPubcomp, onPuback, onPubrec, onRegack } from './outbox.js';
import type { Session } from './session.js';
import { bump } from './stats.js';
import type { Link } from './types.js';

type Handler<T extends PacketType> = (gw: GatewayCore, link: Link, s: Session | undefined, p: PacketOf<T>) => void;

/** A handler of a packet the guard lets in only with a session at the address. */
function withSession<T extends PacketType>(h: (gw: GatewayCore, s: Session, p: PacketOf<T>, link: Link) => void): Handler<T> {
  return (gw, link, s, p) => {
    if (s !== undefined) h(gw, s, p, link);
  };
}

/** One handler per packet type; `null` where every state refuses it (the guard's rows say so). */
const HANDLERS: { readonly [T in PacketType]: Handler<T> | null } = {
  CONNECT: (gw, link, _s, p) => onConnect(gw, link, p),
  PUBLISH: onPublish,
  PINGREQ: onPingreq,
  DISCONNECT: onDisconnect,
  SEARCHGW: (gw, link) => onSearchGw(gw, link),
  PUBREL: (gw, link, s, p) => onPubrel(gw, link, s, p.msgId),
  WILLTOPIC: withSession(onWillTopic),
  WILLMSG: withSession(onWillMsg),
  REGISTER: withSession(onRegister),
  REGACK: withSession((gw, s, p) => onRegack(gw, s, p.msgId, p.topicId, p.returnCode)),
  PUBACK: withSession((gw, s, p) => onPuback(gw, s, p.msgId, p.topicId, p.returnCode)),
  PUBREC: withSession((gw, s, p) => onPubrec(gw, s, p.msgId)),
  PUBCOMP: withSession((gw, s, p) => onPubcomp(gw, s, p.msgId)),
  SUBSCRIBE: withSession(onSubscribe),
  UNSUBSCRIBE: withSession(onUnsubscribe),
  WILLTOPICUPD: withSession(onWillTopicUpd),
  WILLMSGUPD: withSession(onWillMsgUpd),
  ENCAPSULATED: null,
  ADVERTISE: null,
  GWINFO: null,
  CONNACK: null,
  WILLTOPICREQ: null,
  WILLMSGREQ: null,
  SUBACK: null,
  UNSUBACK: null,
  PINGRESP: null,
  WILLTOPICRESP: null,
  WILLMSGRESP: null,
};

export function dispatch(gw: GatewayCore, link: Link, s: Session | undefined, p: Packet): void {
  const v = verdict(s?.state ?? 'none', p.type);
  if (v !== 'handle') return refuse(gw, v, link, s, p);
  // TypeScript cannot correlate the record's entry with `p`'s type; the mapped type above does.
  const handler = HANDLERS[p.type] as Handler<PacketType> | null;
  handler?.(gw, link, s, p);
}

/**
 * Runs `handle` where the guard lets `p` in, else refuses it as `dispatch` would: for a version
 * adapter (wire-v2.ts) whose request says more than its 1.2 form (SUBSCRIBE's options).
 */
export function guarded(gw: GatewayCore, link: Link, s: Session | undefined, p: Packet, handle: (s: Session) => void): void {
  const v = verdict(s?.state ?? 'none', p.type);
  if (v !== 'handle') return refuse(gw, v, link, s, p);
  if (s !== undefined) handle(s);
}

function refuse(gw: GatewayCore, v: Exclude<Verdict, 'handle'>, link: Link, s: Session | undefined, p: Packet): void {
  switch (v) {
    case 'ignore':
      return;
    case 'unknownClient':
      bump(gw.stats.dropped, 'unknownClient');
      return gw.send(link, { type: 'DISCONNECT' }, V2Reason.NO_VIRTUAL_CONNECTION);
    case 'notForwarder':
      return gw.refused('badState', 'forwarder-encapsulated frame dropped: its transport does not have "forwarder": true', { peer: link.peer.key, transport: link.transport.name });
    case 'badState':
    case 'notYet':
      gw.refused('badState', 'message not allowed in the client state dropped', { clientId: s?.clientId, state: s?.state, type: p.type });
      if (v === 'badState' && s?.link !== undefined) gw.send(s.link, { type: 'DISCONNECT' });
      return;
    case 'outOfDance':
      return gw.refused('badState', `${p.type} outside a CONNECT with will dropped`, { clientId: s?.clientId, state: s?.state });
    case 'gatewaySends':
      return gw.refused('badState', 'message a gateway sends, not receives, dropped', { clientId: s?.clientId, type: p.type });
  }
}
