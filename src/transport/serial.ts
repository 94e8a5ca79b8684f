import { TransportError, TransportErrorCode } from '../errors.js';
import { TransportBase, type BaseOptions } from './base.js';
import { lengthMatches } from './frame-length.js';
import { SerialLink, type SerialLinkOptions } from './serial-link.js';
import { SlipDecoder, slipEncode, type FrameSink, type StreamDecoder } from './slip.js';
import type { DropReason, Peer } from './types.js';

export interface SerialCommonOptions extends BaseOptions, SerialLinkOptions {
  /**
   * A frame still unfinished after the line has been quiet this long is discarded, so that
   * noise or a half-sent frame (a node reset mid-frame) cannot swallow the next frame; default
   * 500 ms, well above the gap between bytes of one frame even at 9600 baud over USB.
   */
  partialFrameTimeoutMs?: number;
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
  private idleTimer: NodeJS.Timeout | undefined;
  /** what decoders report to: frames go to the adapter, drops to the counters and the log */
  protected readonly sink: FrameSink = {
    frame: (frame) => this.onDecoded(frame),
    drop: (reason: DropReason, detail: object, msg: string) => this.drop(reason, detail, msg),
  };

  constructor(options: SerialCommonOptions) {
    super(options);
    this.name = `serial:${options.path}`;
    this.idleMs = options.partialFrameTimeoutMs ?? 500;
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

/** The serial line itself is the peer of a SLIP adapter (FRAMING.md §1.2: SLIP has no addressing). */
export interface SerialPeer extends Peer {
  readonly path: string;
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
export class SlipSerialTransport extends SerialTransportBase<SerialPeer> {
  readonly maxFrameSize: number;
  readonly peer: SerialPeer;
  protected readonly decoder: SlipDecoder;
  private readonly leadingEnd: boolean;
  private readonly checkLength: boolean;

  constructor(options: SlipSerialOptions) {
    super(options);
    this.maxFrameSize = options.maxFrameSize ?? 1024;
    this.leadingEnd = options.leadingEnd ?? true;
    this.checkLength = options.checkLength ?? true;
    this.peer = { key: this.name, path: options.path };
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
    this.deliver(this.peer, frame, false);
  }

  send(peer: SerialPeer, frame: Buffer): Promise<void> {
    if (peer.key !== this.peer.key) {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `peer ${peer.key} is not this line`));
    }
    return this.broadcast(frame);
  }

  broadcast(frame: Buffer): Promise<void> {
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    return this.write(slipEncode(frame, this.leadingEnd), frame);
  }

  peerFromKey(key: string): SerialPeer | undefined {
    return key === this.peer.key ? this.peer : undefined;
  }
}
