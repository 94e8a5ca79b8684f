/**
 * The node's requests on the wire (MQTT-SN.md §4.13): each is encoded once, sent, matched to its
 * answer and retransmitted every T_RETRY by the shared {@link Waitress}; after N_RETRY it fails
 * with TIMEOUT and, for a connected node's requests, the gateway is lost. Message ids are
 * allocated here because only the requests in flight say which ids are taken.
 */
import type { Clock } from '../src/clock.js';
import { Waitress, type Verdict } from '../src/waitress.js';
import { SimError, SimErrorCode } from './errors.js';
import type { NodeObserver, RequestKind } from './node-types.js';
import type { Answered, Event, Intent, Wire } from './wire/index.js';

/** A decoded frame, as the node's wire read it, and the address it came from (for discovery). */
export interface Incoming {
  packet: Event;
  from: string | undefined;
}

export type { Verdict };

interface RequestTag {
  kind: RequestKind;
  msgId: number;
  broadcast: number | undefined;
  losesGateway: boolean;
  report: boolean;
}

export interface ExchangeOptions<I extends Intent = Intent> {
  kind: RequestKind;
  /** what is said; a version that numbers it (2.0's CONNECT, PINGREQ, SLEEPREQ) gets an id here */
  packet: I;
  /** what retransmissions send: the frame with DUP=1 where the message has DUP */
  retransmit?: () => Buffer;
  /** default: the answer the wire module expects for the intent */
  accept?: (answer: Incoming) => Verdict<Buffer>;
  /** send as a broadcast with this radius (SEARCHGW) */
  broadcast?: number;
  delay?: (retries: number) => number;
  maxRetries?: number;
  /** losing the gateway is what N_RETRY exhaustion means, except for search, connect and disconnect; default true */
  losesGateway?: boolean;
  skipFirstSend?: boolean;
  /** report sent, done and failed to the observer; default true (publishes report themselves) */
  report?: boolean;
}

export interface RequestsOptions {
  wire: Wire;
  clock: Clock;
  retryMs: number;
  maxRetries: number;
  observer: NodeObserver | undefined;
  sendFrame(frame: Buffer, broadcast: number | undefined): void;
  /** a request that loses the gateway timed out */
  lost(err: SimError): void;
}

export class Requests {
  readonly #waitress: Waitress<Buffer, Incoming, RequestTag>;
  readonly #observer: NodeObserver | undefined;
  readonly #wire: Wire;
  #nextMsgId = 1;

  constructor(o: RequestsOptions) {
    this.#wire = o.wire;
    const observer = o.observer;
    this.#observer = observer;
    this.#waitress = new Waitress<Buffer, Incoming, RequestTag>({
      clock: o.clock,
      retryMs: o.retryMs,
      maxRetries: o.maxRetries,
      send: (frame, r) => o.sendFrame(frame, r.tag.broadcast),
      timeoutError: (r) => new SimError(SimErrorCode.TIMEOUT, `no answer to ${r.tag.kind} after ${r.retries} retransmissions`),
      retransmitting: (r) => observer?.retransmitted(r.tag.kind),
      settled: (r, outcome) => {
        if (!r.tag.report) return;
        if ('answer' in outcome) observer?.done(r.tag.kind, o.clock.now() - r.startedAt);
        else observer?.failed(r.tag.kind, outcome.error instanceof SimError ? outcome.error.code : 'ERROR');
      },
      expired: (r, err) => {
        if (r.tag.losesGateway && err instanceof SimError) o.lost(err);
      },
    });
  }

  /**
   * Sends `packet` and resolves with the answer `accept` (or the wire's expected answer) takes
   * (see {@link Waitress.wait}). An intent the node's version cannot carry rejects with BAD_ARGUMENT
   * before anything is sent.
   */
  exchange<I extends Intent>(o: ExchangeOptions<I>): Promise<Incoming> {
    const wire = this.#wire;
    let intent: Intent = o.packet;
    let frame: Buffer;
    let accept = o.accept;
    try {
      if (wire.numbered(intent.type) && !('msgId' in intent && intent.msgId !== undefined)) intent = { ...intent, msgId: this.allocMsgId() } as Intent;
      frame = wire.encode(intent);
      accept ??= this.#expected(intent);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const match = accept;
    const report = o.report ?? true;
    const msgId = 'msgId' in intent ? (intent.msgId ?? 0) : 0;
    const tag: RequestTag = { kind: o.kind, msgId, broadcast: o.broadcast, losesGateway: o.losesGateway ?? true, report };
    if (report) this.#observer?.sent(o.kind);
    return this.#waitress.wait({
      tag,
      frame,
      match: (a) => match(a),
      retransmit: o.retransmit,
      delay: o.delay,
      maxRetries: o.maxRetries ?? wire.maxRetries(intent.type),
      skipFirstSend: o.skipFirstSend,
    });
  }

  /** Whether the node's version answers `intent` at all (a 2.0 DISCONNECT is never answered). */
  answered(intent: Answered): boolean {
    return this.#wire.answer(intent) !== undefined;
  }

  #expected(intent: Intent): (a: Incoming) => Verdict<Buffer> {
    const answer = isAnswered(intent) ? this.#wire.answer(intent) : undefined;
    if (!answer) throw new SimError(SimErrorCode.BAD_ARGUMENT, `MQTT-SN ${this.#wire.version} has no answer to ${intent.type} to wait for`);
    return (a) => answer(a.packet);
  }

  /** Gives a received packet to the request waiting for it; says which request took it and how. */
  offer(answer: Incoming): { kind: RequestKind; completed: boolean } | undefined {
    const r = this.#waitress.offer(answer);
    return r && { kind: r.request.tag.kind, completed: r.verdict === true };
  }

  /** 1..65535, never 0 (§7), skipping ids still in flight. */
  allocMsgId(): number {
    for (;;) {
      const id = this.#nextMsgId;
      this.#nextMsgId = id === 0xffff ? 1 : id + 1;
      if (!this.#waitress.some((t) => t.msgId === id)) return id;
    }
  }

  /** §4.12: while awake, T_RETRY of the wake restarts at every message received. */
  restartTimers(kind: RequestKind): void {
    this.#waitress.restartTimers((t) => t.kind === kind);
  }

  failAll(err: SimError): void {
    this.#waitress.failAll(err);
  }
}

const ANSWERED: ReadonlySet<Intent['type']> = new Set(['SEARCHGW', 'CONNECT', 'REGISTER', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PINGREQ', 'WAKE', 'SLEEP', 'DISCONNECT', 'WILLTOPICUPD', 'WILLMSGUPD']);
const isAnswered = (i: Intent): i is Answered => ANSWERED.has(i.type);
