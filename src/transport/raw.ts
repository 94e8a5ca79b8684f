/**
 * Bare MQTT-SN frames on a byte stream, with no framing around them: what mqtt-sn-tools'
 * `mqtt-sn-serial-bridge` expects on its serial side, and what MCU firmware that "just writes
 * the packet" sends. The MQTT-SN Length field (MQTT-SN.md §1.1) is the only delimiter, so:
 *
 * - a Length that no message can have (0, or a 3-byte Length under 4) is noise: one byte is
 *   skipped and the next one tried as a start, so a frame behind the noise is still found;
 * - a Length over `maxFrameSize` is a well-formed frame too large for this line: its declared
 *   bytes are discarded as one `oversize` drop (skipping a byte instead would turn its body
 *   into bogus frames);
 * - a Length that is plausible but wrong (noise that looks like a start) can only be told by
 *   time: when the line goes quiet mid-frame, `idle()` drops the partial frame and the next
 *   byte starts afresh. Devices pause between frames, so this resynchronises within one gap.
 *
 * A forwarder encapsulation (MsgType 0xFE at offset 1) is delimited by its header Length plus
 * the Length of the message it wraps (MQTT-SN.md §2.7).
 */
import { declaredFrameLength, NEED_MORE, NOT_A_LENGTH } from './frame-length.js';
import type { FrameSink, StreamDecoder } from './slip.js';

/** Longest prefix needed to read a frame's length: a 255-byte encapsulation header and a 3-byte inner Length. */
const LONGEST_HEADER = 255 + 3;

export class RawDecoder implements StreamDecoder {
  private readonly buf: Buffer;
  private len = 0;
  /** total size of the frame being collected; 0 while its length is not known yet */
  private need = 0;
  /** bytes of an oversize frame still to throw away */
  private discard = 0;
  /** noise bytes skipped since the last frame start, reported as one `garbage` drop per run */
  private skipped = 0;

  constructor(
    private readonly maxFrameSize: number,
    private readonly sink: FrameSink,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(maxFrameSize, LONGEST_HEADER));
  }

  get pending(): boolean {
    return this.len > 0 || this.discard > 0;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.discard > 0) {
        const n = Math.min(this.discard, chunk.length - i);
        this.discard -= n;
        i += n;
      } else if (this.need === 0) {
        // Byte by byte until the length is known, so that nothing past the header is buffered twice.
        this.buf[this.len++] = chunk[i++]!;
        this.settle();
      } else {
        const n = Math.min(this.need - this.len, chunk.length - i);
        chunk.copy(this.buf, this.len, i, i + n);
        this.len += n;
        i += n;
        if (this.len === this.need) this.emit();
      }
    }
  }

  idle(): void {
    if (this.len > 0) {
      this.sink.drop('truncated', { len: this.len, expected: this.need || undefined }, 'raw: line idle mid-frame; partial frame discarded');
    }
    this.flushSkipped();
    this.reset();
  }

  reset(): void {
    this.len = 0;
    this.need = 0;
    this.discard = 0;
    this.skipped = 0;
  }

  /** Decides what the buffered bytes start with, as far as they tell. */
  private settle(): void {
    while (this.len > 0 && this.need === 0) {
      const total = declaredFrameLength(this.buf, this.len);
      if (total === NEED_MORE) return;
      if (total === NOT_A_LENGTH) {
        this.skipped++;
        this.buf.copyWithin(0, 1, this.len);
        this.len--;
        continue;
      }
      this.flushSkipped();
      if (total > this.maxFrameSize) {
        this.sink.drop(
          'oversize',
          { size: total, limit: this.maxFrameSize },
          `raw: frame of ${total} bytes longer than ${this.maxFrameSize} bytes; discarded`,
        );
        if (total >= this.len) {
          this.discard = total - this.len;
          this.len = 0;
        } else {
          this.shift(total);
        }
        continue;
      }
      this.need = total;
      if (this.len >= total) this.emit();
    }
  }

  private emit(): void {
    const frame = Buffer.allocUnsafe(this.need);
    this.buf.copy(frame, 0, 0, this.need);
    // Bytes past the frame's end stay buffered (only after noise skipped inside a header); settle() goes on with them.
    this.shift(this.need);
    this.need = 0;
    this.sink.frame(frame);
  }

  private shift(n: number): void {
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
  }

  private flushSkipped(): void {
    if (this.skipped === 0) return;
    this.sink.drop('garbage', { bytes: this.skipped }, `raw: ${this.skipped} byte(s) that start no MQTT-SN frame skipped`);
    this.skipped = 0;
  }
}
