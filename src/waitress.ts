/**
 * Requests waiting for their answers, retransmitted on a clock (MQTT-SN.md §4.13): a request is
 * sent, and sent again every T_RETRY until an answer it accepts arrives; after N_RETRY
 * retransmissions it fails. The waitress knows neither packets nor sockets: the owner says how a
 * frame goes out, what a request accepts, and what a time-out is. It is a leaf module (only the
 * clock interface is imported), so a client (firmware-sim's requests) and the gateway's outbound
 * side (gateway/outbox.ts: REGISTER, PUBLISH and PUBREL toward a client) wait this one way. The
 * transparent bridge does not: see bridge/client-link.ts for why.
 *
 * ```
 *  wait(r) ─► send(frame) ─► T_RETRY ─► send(retransmit()) ─► ... N_RETRY ... ─► T_RETRY ─► timeout
 *                 └──────── offer(answer): r.match says true ─► resolved with the answer
 * ```
 */
import type { Clock, TimerHandle } from './clock.js';

/** What a request says about an answer offered to it. */
export type Verdict<F> =
  /** not mine */
  | false
  /** my answer: the request completes with it */
  | true
  /** the peer moved the exchange on (e.g. asked for the next step): send `next` now, and from now on (`retransmit` no longer applies); retries and T_RETRY restart */
  | { next: F }
  /** the peer repeated its last step: send the current frame again and restart T_RETRY, no retry counted */
  | 'resend';

export interface WaitRequest<F, A, T> {
  /** the owner's label for the request (its kind, message id, destination, ...) */
  tag: T;
  frame: F;
  match(answer: A): Verdict<F>;
  /** what a retransmission of the first frame sends, e.g. it with DUP=1; default the current frame */
  retransmit?: () => F;
  /** the wait before retransmission number `retries + 1` (and before the time-out); default T_RETRY */
  delay?: (retries: number) => number;
  /** default N_RETRY */
  maxRetries?: number;
  /** the first frame is already on its way (e.g. someone else's identical broadcast): only wait */
  skipFirstSend?: boolean;
}

/** A request in the waitress, as its owner's hooks see it. */
export interface Pending<T> {
  readonly tag: T;
  /** clock time of `wait` */
  readonly startedAt: number;
  /** retransmissions so far */
  readonly retries: number;
}

export type Outcome<A> = { answer: A } | { error: Error };

export interface WaitressOptions<F, A, T> {
  clock: Clock;
  /** T_RETRY in ms */
  retryMs: number;
  /** N_RETRY: retransmissions before a request times out */
  maxRetries: number;
  /** puts a frame of `request` on the wire; a throw is the owner's bug, not a lost frame */
  send(frame: F, request: Pending<T>): void;
  /** the error a request fails with when its retransmissions are used up */
  timeoutError(request: Pending<T>): Error;
  /** called just before a retransmission is built and sent */
  retransmitting?(request: Pending<T>): void;
  /** called synchronously as a request completes, before its promise settles */
  settled?(request: Pending<T>, outcome: Outcome<A>): void;
  /** called after a timed-out request has been rejected (e.g. to declare the peer lost) */
  expired?(request: Pending<T>, error: Error): void;
}

interface Entry<F, A, T> extends Pending<T> {
  retries: number;
  frame: F;
  /** the request's `retransmit` until a `{ next }` step replaces the frame */
  retransmit: (() => F) | undefined;
  timer: TimerHandle | undefined;
  done: boolean;
  request: WaitRequest<F, A, T>;
  /** the promise of `wait`; none for `start` */
  resolve: ((answer: A) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

/** The requests of one client (or one peer), in the order they were made. */
export class Waitress<F, A, T> {
  readonly #o: WaitressOptions<F, A, T>;
  #entries: Entry<F, A, T>[] = [];

  constructor(options: WaitressOptions<F, A, T>) {
    this.#o = options;
  }

  /** requests still waiting */
  get size(): number {
    return this.#entries.length;
  }

  /** Sends `request.frame` and resolves with the answer `match` takes; rejects with `timeoutError` after N_RETRY. */
  wait(request: WaitRequest<F, A, T>): Promise<A> {
    return new Promise<A>((resolve, reject) => this.#start(request, resolve, reject));
  }

  /**
   * `wait` without the promise, for an owner that acts on the answer where `offer` returns it
   * and on the time-out in `expired` (the gateway's outbox, once per message: a promise there
   * was most of the waitress's cost).
   */
  start(request: WaitRequest<F, A, T>): void {
    this.#start(request, undefined, undefined);
  }

  #start(request: WaitRequest<F, A, T>, resolve: Entry<F, A, T>['resolve'], reject: Entry<F, A, T>['reject']): void {
    const entry: Entry<F, A, T> = {
      tag: request.tag,
      startedAt: this.#o.clock.now(),
      retries: 0,
      frame: request.frame,
      retransmit: request.retransmit,
      timer: undefined,
      done: false,
      request,
      resolve,
      reject,
    };
    this.#entries.push(entry);
    if (!request.skipFirstSend) this.#o.send(entry.frame, entry);
    this.#arm(entry);
  }

  /**
   * Offers an incoming answer to the requests in order; the first that does not say `false`
   * takes it. Returns that request and what it said, or undefined when no request wanted it.
   */
  offer(answer: A): { request: Pending<T>; verdict: Exclude<Verdict<F>, false> } | undefined {
    for (const e of this.#entries) {
      const verdict = e.request.match(answer);
      if (verdict === false) continue;
      if (verdict === true) {
        this.#settle(e, { answer });
      } else {
        if (verdict !== 'resend') {
          e.frame = verdict.next;
          e.retransmit = undefined;
          e.retries = 0;
        }
        this.#o.send(e.frame, e);
        this.#arm(e);
      }
      return { request: e, verdict };
    }
    return undefined;
  }

  /** whether a waiting request's tag satisfies `test` (e.g. a message id still in flight) */
  some(test: (tag: T) => boolean): boolean {
    return this.find(test) !== undefined;
  }

  /** the first waiting request whose tag satisfies `test` (its retransmissions so far, say) */
  find(test: (tag: T) => boolean): Pending<T> | undefined {
    return this.#entries.find((e) => test(e.tag));
  }

  /** Restarts T_RETRY of the requests whose tag satisfies `test`, retries kept (MQTT-SN.md §4.12: an awake client's wait). */
  restartTimers(test: (tag: T) => boolean): void {
    for (const e of this.#entries) if (test(e.tag)) this.#arm(e);
  }

  /**
   * Stops T_RETRY of the requests whose tag satisfies `test`: nothing more is sent for them and
   * they do not time out, but they still take their answers (a gateway stopping gracefully). An
   * answer that moves one on (`{ next }`, 'resend') starts its T_RETRY again.
   */
  stopTimers(test: (tag: T) => boolean): void {
    for (const e of this.#entries) {
      if (!test(e.tag)) continue;
      e.timer?.cancel();
      e.timer = undefined;
    }
  }

  /** Fails every waiting request with `error`, in order, and stops their timers. */
  failAll(error: Error): void {
    for (const e of [...this.#entries]) this.#settle(e, { error });
  }

  #arm(e: Entry<F, A, T>): void {
    e.timer?.cancel();
    // An answer may come back synchronously while the frame is being sent (an in-memory link).
    if (e.done) return;
    const delay = e.request.delay ? e.request.delay(e.retries) : this.#o.retryMs;
    e.timer = this.#o.clock.setTimeout(() => this.#fired(e), delay);
  }

  #fired(e: Entry<F, A, T>): void {
    e.timer = undefined;
    if (e.done) return;
    if (e.retries >= (e.request.maxRetries ?? this.#o.maxRetries)) {
      const error = this.#o.timeoutError(e);
      this.#settle(e, { error });
      this.#o.expired?.(e, error);
      return;
    }
    e.retries++;
    this.#o.retransmitting?.(e);
    if (e.retransmit) e.frame = e.retransmit();
    this.#o.send(e.frame, e);
    this.#arm(e);
  }

  #settle(e: Entry<F, A, T>, outcome: Outcome<A>): void {
    e.done = true;
    e.timer?.cancel();
    e.timer = undefined;
    const i = this.#entries.indexOf(e);
    if (i >= 0) this.#entries.splice(i, 1);
    this.#o.settled?.(e, outcome);
    if ('answer' in outcome) e.resolve?.(outcome.answer);
    else e.reject?.(outcome.error);
  }
}
