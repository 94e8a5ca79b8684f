/**
 * The client session's life as a pure function (MQTT-SN.md §4.3, §4.11-4.12, figure of client
 * states): `step(phase, event) -> (next phase, effects)`. No timers, sockets or store here: the
 * gateway's `transition()` runs the effects. The link the client is reached at lives inside the
 * phase, so a state that needs one (connected, in the will exchange, awake) always has one.
 */
import type { Packet } from '../codec/index.js';
import type { Link } from './types.js';

export type Phase =
  | { state: 'await-willtopic'; link: Link }
  | { state: 'await-willmsg'; link: Link }
  | { state: 'active'; link: Link }
  | { state: 'awake'; link: Link }
  | { state: 'asleep'; link: Link | undefined }
  | { state: 'disconnected'; link: Link | undefined }
  | { state: 'lost'; link: Link | undefined };

export type SessionEvent =
  /** the client is reached at a new address; nothing else changes */
  | { type: 'moved'; link: Link }
  /** CONNECT with Will=1 (§4.3): the will exchange begins */
  | { type: 'willRequested'; link: Link }
  /** WILLTOPIC taken: WILLMSG next */
  | { type: 'willTopicTaken' }
  /** the connection is accepted (CONNACK 0x00) */
  | { type: 'accepted' }
  /** the CONNECT is refused (a will topic not allowed, the uplink said no) */
  | { type: 'refused'; returnCode: number; v2Reason?: number | undefined }
  /** the will exchange did not finish in time */
  | { type: 'abandoned' }
  /** DISCONNECT with a duration (§4.12.1) */
  | { type: 'sleep' }
  /** PINGREQ with the client id while asleep (§4.12.2) */
  | { type: 'wake'; link: Link }
  /** everything buffered went out: PINGRESP ends the wake */
  | { type: 'flushed' }
  /** DISCONNECT without duration (§4.12.6-7) */
  | { type: 'disconnect' }
  /** keep-alive, sleep timer or N_RETRY ran out: the will is published (§4.11) */
  | { type: 'lose'; reason: string };

export type Effect =
  /** to the link of the next phase; `v2Reason`: the precise Reason Code a 2.0 client is told */
  | { type: 'send'; packet: Packet; v2Reason?: number | undefined }
  /** the client was heard from now */
  | { type: 'touch' }
  /** (re)arm supervision for the next state: keep-alive while active, the sleep duration asleep */
  | { type: 'supervise' }
  | { type: 'unsupervise' }
  /** the request in flight goes back to the queue (`keep`: always; `ifKept`: when the session outlives the connection) or is dropped */
  | { type: 'abandonInFlight'; keep: 'always' | 'ifKept' }
  /** write the session (and its buffer) to the store */
  | { type: 'store'; queue: boolean }
  /** send what is queued */
  | { type: 'pump' }
  /** the connection is over: a clean session is dropped, a kept one stored; a lost client's will is published */
  | { type: 'end'; how: 'disconnected' | 'abandoned' }
  | { type: 'end'; how: 'lost'; reason: string };

export interface Step {
  phase: Phase;
  effects: Effect[];
}

/** An event the phase does not take changes nothing (the guard keeps such events away). */
export function step(phase: Phase, event: SessionEvent): Step {
  const link = phase.link;
  switch (event.type) {
    case 'moved':
      return { phase: { ...phase, link: event.link }, effects: [] };
    case 'willRequested':
      return { phase: { state: 'await-willtopic', link: event.link }, effects: [{ type: 'send', packet: { type: 'WILLTOPICREQ' } }] };
    case 'willTopicTaken':
      if (phase.state !== 'await-willtopic') return { phase, effects: [] };
      return { phase: { state: 'await-willmsg', link: phase.link }, effects: [{ type: 'send', packet: { type: 'WILLMSGREQ' } }] };
    case 'accepted':
      if (link === undefined) return { phase, effects: [] };
      // Stored before CONNACK leaves: a restart right after must not forget an accepted session.
      return { phase: { state: 'active', link }, effects: [{ type: 'touch' }, { type: 'store', queue: false }, { type: 'send', packet: { type: 'CONNACK', returnCode: 0 } }, { type: 'supervise' }, { type: 'pump' }] };
    case 'refused':
      return { phase: { state: 'disconnected', link }, effects: [{ type: 'send', packet: { type: 'CONNACK', returnCode: event.returnCode }, ...(event.v2Reason === undefined ? {} : { v2Reason: event.v2Reason }) }] };
    case 'abandoned':
      return { phase: { state: 'disconnected', link }, effects: [{ type: 'end', how: 'abandoned' }] };
    case 'sleep':
      // A sleeper is kept whatever its clean-session flag: its buffer must survive a restart.
      return { phase: { state: 'asleep', link }, effects: [{ type: 'abandonInFlight', keep: 'always' }, { type: 'touch' }, { type: 'supervise' }, { type: 'store', queue: true }] };
    case 'wake':
      return { phase: { state: 'awake', link: event.link }, effects: [{ type: 'touch' }, { type: 'unsupervise' }, { type: 'pump' }] };
    case 'flushed':
      if (phase.state !== 'awake') return { phase, effects: [] };
      return { phase: { state: 'asleep', link }, effects: [{ type: 'send', packet: { type: 'PINGRESP' } }, { type: 'supervise' }] };
    case 'disconnect':
      return { phase: { state: 'disconnected', link }, effects: [{ type: 'abandonInFlight', keep: 'ifKept' }, { type: 'unsupervise' }, { type: 'end', how: 'disconnected' }] };
    case 'lose':
      return { phase: { state: 'lost', link }, effects: [{ type: 'unsupervise' }, { type: 'abandonInFlight', keep: 'ifKept' }, { type: 'end', how: 'lost', reason: event.reason }] };
  }
}
