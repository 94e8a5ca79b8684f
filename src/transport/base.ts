import { TransportError, TransportErrorCode } from '../errors.js';
import { noopLogger, RateLimitedWarn, type Logger } from './log.js';
import type {
  FrameDropReason,
  Peer,
  StatusEvent,
  Transport,
  TransportEvents,
  TransportState,
  TransportStats,
} from './types.js';

export interface BaseOptions {
  /** pino-compatible; default: no logging */
  logger?: Logger;
}

type Listeners<P extends Peer> = { [E in keyof TransportEvents<P>]: TransportEvents<P>[E][] };

/**
 * What every adapter shares: listeners, counters, state and logging. A hand-rolled emitter rather
 * than `EventEmitter` because an `'error'` emitted with no listener must not throw (a lost USB
 * dongle would otherwise kill the process), listeners must not be able to break the read loop,
 * and the per-frame path should not allocate an arguments array.
 */
export abstract class TransportBase<P extends Peer> implements Transport<P> {
  abstract readonly name: string;
  abstract readonly maxFrameSize: number;
  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract send(peer: P, frame: Buffer): Promise<void>;
  abstract broadcast(frame: Buffer, radius?: number): Promise<void>;
  abstract peerFromKey(key: string): P | undefined;

  protected readonly log: Logger;
  protected readonly limited: RateLimitedWarn;
  protected readonly counters: TransportStats = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dropped: { oversize: 0, garbage: 0, badChecksum: 0, truncated: 0, malformed: 0, unsupported: 0 },
    sendErrors: 0,
    deliveryFailures: 0,
    disconnects: 0,
    shed: 0,
  };
  private currentState: TransportState = 'closed';
  // Arrays are replaced, never mutated, so an emit in progress is not disturbed by on()/off().
  private readonly listeners: Listeners<P> = { frame: [], status: [], delivery: [], error: [] };

  constructor(options: BaseOptions) {
    this.log = options.logger ?? noopLogger;
    this.limited = new RateLimitedWarn(this.log);
  }

  get state(): TransportState {
    return this.currentState;
  }

  on<E extends keyof TransportEvents<P>>(event: E, listener: TransportEvents<P>[E]): () => void {
    const list: TransportEvents<P>[E][] = this.listeners[event];
    this.listeners[event] = [...list, listener] as Listeners<P>[E];
    return () => {
      const now: TransportEvents<P>[E][] = this.listeners[event];
      this.listeners[event] = now.filter((l) => l !== listener) as Listeners<P>[E];
    };
  }

  stats(): TransportStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /** Counts and delivers one frame; the hot path of every adapter. `wireBytes`: its size as received, wrapping included. */
  protected deliver(peer: P, frame: Buffer, broadcast: boolean, wireBytes = frame.length): void {
    this.counters.framesIn++;
    this.counters.bytesIn += wireBytes;
    const list = this.listeners.frame;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(peer, frame, broadcast);
      } catch (err) {
        this.listenerThrew('frame', err);
      }
    }
  }

  protected setState(state: TransportState, extra?: Omit<StatusEvent, 'state'>): void {
    this.currentState = state;
    const event: StatusEvent = { state, ...extra };
    for (const l of this.listeners.status) {
      try {
        l(event);
      } catch (err) {
        this.listenerThrew('status', err);
      }
    }
  }

  protected emitDelivery(...args: Parameters<TransportEvents<P>['delivery']>): void {
    for (const l of this.listeners.delivery) {
      try {
        l(...args);
      } catch (err) {
        this.listenerThrew('delivery', err);
      }
    }
  }

  protected emitError(error: TransportError): void {
    for (const l of this.listeners.error) {
      try {
        l(error);
      } catch (err) {
        this.listenerThrew('error', err);
      }
    }
  }

  /** Counts a drop and logs it, rate-limited per reason: a warning, or `info` for a drop the config asked for. */
  protected drop(reason: FrameDropReason, detail: object, msg: string, level: 'warn' | 'info' = 'warn'): void {
    this.counters.dropped[reason]++;
    this.limited[level](reason, { transport: this.name, reason, ...detail }, msg);
  }

  /** A rejected send: counted, logged (rate-limited per code) and returned for `Promise.reject`. */
  protected sendError(code: TransportErrorCode, msg: string, detail: object = {}, cause?: unknown): TransportError {
    this.counters.sendErrors++;
    if (code === TransportErrorCode.WRITE_BUFFER_FULL) this.counters.shed++;
    this.limited.warn(`send:${code}`, { transport: this.name, code, ...detail }, msg);
    return new TransportError(code, `${this.name}: ${msg}`, cause === undefined ? undefined : { cause });
  }

  /** The size rule shared by every adapter: refuse, never truncate (issue 3, FRAMING.md §2.7). */
  protected checkSize(frame: Buffer, limit = this.maxFrameSize): TransportError | undefined {
    if (frame.length > limit) {
      return this.sendError(
        TransportErrorCode.FRAME_TOO_LARGE,
        `frame of ${frame.length} bytes exceeds the medium limit of ${limit} bytes; not sent`,
        { size: frame.length, limit },
      );
    }
    if (frame.length === 0) {
      return this.sendError(TransportErrorCode.BAD_FRAME, 'empty frame; not sent');
    }
    return undefined;
  }

  protected sent(frame: Buffer): void {
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
  }

  private listenerThrew(event: string, err: unknown): void {
    this.limited.warn(`listener:${event}`, { transport: this.name, event, err }, 'a transport listener threw');
  }
}
