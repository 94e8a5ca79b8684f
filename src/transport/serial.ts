import { TransportError, TransportErrorCode } from '../errors.js';
import { TransportBase, type BaseOptions } from './base.js';
import { isEncapsulated } from './forwarder.js';
import { lengthMatches } from './frame-length.js';
import { RawDecoder } from './raw.js';
import { SerialLink, type SerialLinkOptions } from './serial-link.js';
import { SlipDecoder, slipEncode, type FrameSink, type StreamDecoder } from './slip.js';
import type { FrameDropReason, Peer } from './types.js';

export interface SerialCommonOptions extends BaseOptions, SerialLinkOptions {
  /**
   * A frame still unfinished after the line has been quiet this long is discarded, so that
   * noise or a half-sent frame (a node reset mid-frame) cannot swallow the next frame; default
   * 500 ms, well above the gap between bytes of one frame even at 9600 baud over USB. Raw
   * framing defaults to {@link RAW_IDLE_GAP_MS}: there the gap is the only way back in step.
   */
  partialFrameTimeoutMs?: number;
  /**
   * Several nodes share this line in forwarder encapsulation (MQTT-SN.md §2.7): the factory then
   * unwraps on top. Default false: a wrapped frame is refused here, counted as `unsupported` and
   * logged at info (rate-limited), so that the cure is named instead of a silent drop.
   */
  forwarder?: boolean;
}

/**
 * What the SLIP and XBee adapters share: a {@link SerialLink} that comes and goes, a stream
 * decoder fed by it, and the idle timer that ends stale partial frames.
 */
export abstract class SerialTransportBase<P extends Peer> extends TransportBase<P> {
  readonly name: string;
  protected readonly link: SerialLink;
  protected abstract readonly decoder: StreamDecoder;
  private readonly idleMs: number;
  private readonly refuseForwarded: boolean;
  private idleTimer: NodeJS.Timeout | undefined;
  /** what decoders report to: frames go to the adapter, drops to the counters and the log */
  protected readonly sink: FrameSink = {
    frame: (frame) => this.onDecoded(frame),
    drop: (reason: FrameDropReason, detail: object, msg: string) => this.drop(reason, detail, msg),
  };

  constructor(options: SerialCommonOptions, defaultIdleMs = 500) {
    super(options);
    this.name = `serial:${options.path}`;
    this.idleMs = options.partialFrameTimeoutMs ?? defaultIdleMs;
    this.refuseForwarded = options.forwarder !== true;
    this.link = new SerialLink(options, {
      data: (chunk) => this.onData(chunk),
      status: (state, extra) => this.setState(state, extra),
      // Reported through the `reopening` status that follows, which carries the error.
      lost: () => {
        this.counters.disconnects++;
        this.decoder.idle();
      },
      error: (error) => {
        this.limited.warn('port-error', { transport: this.name, err: error.message }, 'serial port error');
        this.emitError(new TransportError(TransportErrorCode.SEND_FAILED, `${this.name}: ${error.message}`, { cause: error }));
      },
      log: this.log,
    });
  }

  open(): Promise<void> {
    return this.link.open();
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    await this.link.close();
    this.decoder.reset();
  }

  /** One whole frame from the decoder. */
  protected abstract onDecoded(frame: Buffer): void;

  /** True (and the frame dropped) when `frame` is forwarder-wrapped on a line without `"forwarder": true`. */
  protected refused(frame: Buffer, from: string): boolean {
    if (!this.refuseForwarded || !isEncapsulated(frame)) return false;
    this.drop(
      'unsupported',
      { from, head: frame.subarray(0, 8).toString('hex') },
      'forwarder-encapsulated frame refused: set "forwarder": true on this transport if a forwarder is on the line',
      'info',
    );
    return true;
  }

  /** Writes and counts; failures are counted, logged and rejected as `TransportError`s. */
  protected async write(bytes: Buffer, frame: Buffer): Promise<void> {
    try {
      await this.link.write(bytes);
    } catch (err) {
      const te = err instanceof TransportError ? err : undefined;
      throw this.sendError(te?.code ?? TransportErrorCode.SEND_FAILED, te?.message ?? String(err), {}, te?.cause ?? err);
    }
    this.sent(frame);
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    if (this.decoder.pending) {
      if (this.idleTimer === undefined) {
        this.idleTimer = setTimeout(() => this.decoder.idle(), this.idleMs);
        this.idleTimer.unref();
      } else {
        this.idleTimer.refresh();
      }
    }
  }
}

/** The serial line itself is the peer of a SLIP or raw adapter (neither has addressing, FRAMING.md §1.2). */
export interface SerialPeer extends Peer {
  readonly path: string;
}

/** What the SLIP and raw adapters share: one line, one peer, one frame per write. */
abstract class OneLineTransport extends SerialTransportBase<SerialPeer> {
  readonly maxFrameSize: number;
  readonly peer: SerialPeer;

  constructor(options: SerialCommonOptions & { maxFrameSize?: number }, defaultIdleMs?: number) {
    super(options, defaultIdleMs);
    this.maxFrameSize = options.maxFrameSize ?? 1024;
    this.peer = { key: this.name, path: options.path };
  }

  /** The bytes that carry one message on the line. */
  protected abstract wire(frame: Buffer): Buffer;

  send(peer: SerialPeer, frame: Buffer): Promise<void> {
    if (peer.key !== this.peer.key) {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `peer ${peer.key} is not this line`));
    }
    return this.broadcast(frame);
  }

  broadcast(frame: Buffer): Promise<void> {
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    return this.write(this.wire(frame), frame);
  }

  peerFromKey(key: string): SerialPeer | undefined {
    return key === this.peer.key ? this.peer : undefined;
  }
}

export interface SlipSerialOptions extends SerialCommonOptions {
  /**
   * Largest MQTT-SN message on this line, both ways; default 1024. Larger incoming frames are
   * dropped up to the next END (FRAMING.md §1.3), larger outgoing ones rejected.
   */
  maxFrameSize?: number;
  /**
   * Send an END before each frame as well as after (RFC 1055's sample sender), so noise at the
   * device is flushed as an empty frame instead of corrupting ours; default true. Devices using
   * serialport's default `SlipDecoder` accept both forms (FRAMING.md §1.5).
   */
  leadingEnd?: boolean;
  /**
   * Drop frames whose MQTT-SN Length disagrees with their size (FRAMING.md §1.3), counted as
   * `garbage`: the only integrity check SLIP has. Default true.
   */
  checkLength?: boolean;
}

/**
 * MQTT-SN over SLIP on a serial line (a USB dongle or a UART). Several nodes behind one dongle
 * need forwarder encapsulation on top (`ForwarderTransport`); without it the line is one peer.
 * `broadcast` writes the frame on the line, like any other: what the device does with it is
 * the device's business.
 */
export class SlipSerialTransport extends OneLineTransport {
  protected readonly decoder: SlipDecoder;
  private readonly leadingEnd: boolean;
  private readonly checkLength: boolean;

  constructor(options: SlipSerialOptions) {
    super(options);
    this.leadingEnd = options.leadingEnd ?? true;
    this.checkLength = options.checkLength ?? true;
    this.decoder = new SlipDecoder(this.maxFrameSize, this.sink);
  }

  protected onDecoded(frame: Buffer): void {
    if (this.checkLength && !lengthMatches(frame)) {
      this.drop(
        'garbage',
        { size: frame.length, head: frame.subarray(0, 8).toString('hex') },
        'SLIP: frame whose MQTT-SN Length disagrees with its size dropped (noise or a broken frame)',
      );
      return;
    }
    if (this.refused(frame, this.peer.key)) return;
    this.deliver(this.peer, frame, false);
  }

  protected wire(frame: Buffer): Buffer {
    return slipEncode(frame, this.leadingEnd);
  }
}

/**
 * The idle gap that ends a partial raw frame by default. A frame's bytes come back to back (about
 * 1 ms apart at 9600 baud; a USB serial adapter hands them over in batches at most ~16 ms apart),
 * and devices pause between frames, so 100 ms splits no real frame yet resynchronises after
 * noise within one pause; it is also the gap `mqtt-sn-serial-bridge` reads up to (VTIME 1).
 */
export const RAW_IDLE_GAP_MS = 100;

export interface RawSerialOptions extends SerialCommonOptions {
  /**
   * Largest MQTT-SN message on this line, both ways; default 1024. A frame declaring more is
   * discarded whole (its declared bytes), a larger outgoing one rejected.
   */
  maxFrameSize?: number;
}

/**
 * Bare MQTT-SN frames on a serial line, delimited by their own Length field (see `raw.ts`):
 * what mqtt-sn-tools' serial bridge speaks and what firmware that writes frames without SLIP
 * sends. Frames go out as they are.
 */
export class RawSerialTransport extends OneLineTransport {
  protected readonly decoder: RawDecoder;

  constructor(options: RawSerialOptions) {
    super(options, RAW_IDLE_GAP_MS);
    this.decoder = new RawDecoder(this.maxFrameSize, this.sink);
  }

  protected onDecoded(frame: Buffer): void {
    if (this.refused(frame, this.peer.key)) return;
    this.deliver(this.peer, frame, false);
  }

  protected wire(frame: Buffer): Buffer {
    return frame;
  }
}
