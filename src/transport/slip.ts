/**
 * SLIP (RFC 1055) framing, FRAMING.md §1.
 *
 * Our own encoder and decoder rather than `@serialport/parser-slip-encoder`: its `SlipDecoder`
 * has no cap on the frame size (a line of noise grows its buffer without bound), concatenates a
 * new Buffer per byte, turns an invalid escape into a frame boundary and so delivers the broken
 * halves as two frames (FRAMING.md §1.5), and flushes a partial frame when the stream ends. The
 * rules here are the strict ones of §1.3. The encoder is a plain function so that a send is one
 * exact allocation and one port write whose completion we can observe; the tests check it
 * byte for byte against `SlipEncoder` and check the decoder against `SlipEncoder`'s output.
 */
import type { FrameDropReason } from './types.js';

export const END = 0xc0;
export const ESC = 0xdb;
export const ESC_END = 0xdc;
export const ESC_ESC = 0xdd;

/**
 * One SLIP frame for one message (§1.2). `leadingEnd` adds the RFC's optional END in front,
 * which makes the receiver throw away any noise that piled up on the line instead of gluing it
 * onto this frame; both forms are valid for any conforming receiver (§1.5).
 */
export function slipEncode(message: Buffer, leadingEnd: boolean): Buffer {
  let escapes = 0;
  for (let i = 0; i < message.length; i++) {
    const b = message[i];
    if (b === END || b === ESC) escapes++;
  }
  const out = Buffer.allocUnsafe(message.length + escapes + (leadingEnd ? 2 : 1));
  let j = 0;
  if (leadingEnd) out[j++] = END;
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (b === END) {
      out[j++] = ESC;
      out[j++] = ESC_END;
    } else if (b === ESC) {
      out[j++] = ESC;
      out[j++] = ESC_ESC;
    } else {
      out[j++] = b;
    }
  }
  out[j] = END;
  return out;
}

/** Where a decoder puts what it finds. */
export interface FrameSink {
  /** a complete frame in a Buffer of its own */
  frame(frame: Buffer): void;
  drop(reason: FrameDropReason, detail: object, msg: string): void;
}

/** A byte-stream de-framer: SLIP here, XBee API in `xbee-api.ts`. */
export interface StreamDecoder {
  push(chunk: Buffer): void;
  /** true while bytes of an unfinished frame are held */
  readonly pending: boolean;
  /** The line went quiet mid-frame: give up on the unfinished frame so it cannot swallow the next one. */
  idle(): void;
  /** Forget everything (the device was lost and reopened). */
  reset(): void;
}

/**
 * Strict SLIP receiver (§1.3): frames with or without a leading END, empty frames ignored, a
 * frame over `maxFrameSize` or with an invalid escape discarded up to the next END.
 */
export class SlipDecoder implements StreamDecoder {
  private readonly buf: Buffer;
  private len = 0;
  private esc = false;
  /** discarding up to the next END after an oversize frame or a bad escape */
  private skipping = false;

  constructor(
    private readonly maxFrameSize: number,
    private readonly sink: FrameSink,
  ) {
    this.buf = Buffer.allocUnsafe(maxFrameSize);
  }

  get pending(): boolean {
    return this.len > 0 || this.esc || this.skipping;
  }

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i]!;
      if (b === END) {
        if (this.esc) {
          // ESC END: the sender's frame is broken; END still delimits, so resync right here.
          this.sink.drop('malformed', { len: this.len }, 'SLIP: ESC followed by END; frame discarded');
        } else if (this.len > 0 && !this.skipping) {
          const frame = Buffer.allocUnsafe(this.len);
          this.buf.copy(frame, 0, 0, this.len);
          this.len = 0;
          this.sink.frame(frame);
        }
        // Empty frames (END END, leading END) are the normal RFC idiom: ignored silently.
        this.len = 0;
        this.esc = false;
        this.skipping = false;
        continue;
      }
      if (this.skipping) continue;
      if (this.esc) {
        this.esc = false;
        if (b === ESC_END) b = END;
        else if (b === ESC_ESC) b = ESC;
        else {
          // §1.3: a strict receiver discards the frame rather than guessing.
          this.sink.drop('malformed', { byte: b }, 'SLIP: invalid escape; frame discarded');
          this.len = 0;
          this.skipping = true;
          continue;
        }
      } else if (b === ESC) {
        this.esc = true;
        continue;
      }
      if (this.len === this.maxFrameSize) {
        // §1.3: cap the buffer; never deliver a truncated frame.
        this.sink.drop(
          'oversize',
          { limit: this.maxFrameSize },
          `SLIP: frame longer than ${this.maxFrameSize} bytes; discarded up to the next END`,
        );
        this.len = 0;
        this.skipping = true;
        continue;
      }
      this.buf[this.len++] = b;
    }
  }

  idle(): void {
    if (this.len > 0 || this.esc) {
      this.sink.drop('truncated', { len: this.len }, 'SLIP: line idle mid-frame; partial frame discarded');
    }
    this.reset();
  }

  reset(): void {
    this.len = 0;
    this.esc = false;
    this.skipping = false;
  }
}
