/**
 * The node's requests on the wire (MQTT-SN.md §4.13): each is encoded once, sent, matched to its
 * answer and retransmitted every T_RETRY by the shared {@link Waitress}; after N_RETRY it fails
 * with TIMEOUT and, for a connected node's requests, the gateway is lost. Message ids are
 * allocated here because only the requests in flight say which ids are taken.
 */
import type { Clock } from '../src/clock.js';
import { encode, type Packet } from '../src/codec/index.js';
import { Waitress, type Verdict } from '../src/waitress.js';
import { SimError, SimErrorCode } from './errors.js';
import type { NodeObserver, RequestKind } from './node-types.js';

/** A decoded frame and the address it came from (for discovery). */
export interface Incoming {
  packet: Packet;
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

export interface ExchangeOptions {
  kind: RequestKind;
  packet: Packet;
  /** the id the request holds while in flight (0: none) */
  msgId?: number;
  /** what retransmissions send: the frame with DUP=1 where the message has DUP */
  retransmit?: () => Buffer;
  accept: (answer: Incoming) => Verdict<Buffer>;
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
  clock: Clock;
  retryMs: number;
  maxRetries: number;
  observer: NodeObserver | undefined;
  sendFrame(frame: Buffer, broadcast: number | undefined): void;
  /** a request that loses the gateway timed out */
  lost(err: SimError): void;
}

/** The answer to `type`, with `msgId` when given: the usual match of a request. */
export function answerTo(type: Packet['type'], msgId?: number): (a: Incoming) => boolean {
  return ({ packet: p }) => p.type === type && (msgId === undefined || ('msgId' in p && p.msgId === msgId));
}

export class Requests {
  readonly #waitress: Waitress<Buffer, Incoming, RequestTag>;
  readonly #observer: NodeObserver | undefined;
  #nextMsgId = 1;

  constructor(o: RequestsOptions) {
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

  /** Sends `packet` and resolves with the answer `accept` takes (see {@link Waitress.wait}). */
  exchange(o: ExchangeOptions): Promise<Incoming> {
    const report = o.report ?? true;
    const tag: RequestTag = { kind: o.kind, msgId: o.msgId ?? 0, broadcast: o.broadcast, losesGateway: o.losesGateway ?? true, report };
    if (report) this.#observer?.sent(o.kind);
    return this.#waitress.wait({
      tag,
      frame: encode(o.packet),
      match: o.accept,
      retransmit: o.retransmit,
      delay: o.delay,
      maxRetries: o.maxRetries,
      skipFirstSend: o.skipFirstSend,
    });
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
