/**
 * Digi XBee API frames, API mode 1 (AP=1, no escapes) and API mode 2 (AP=2, escaped):
 * FRAMING.md §2. Pure byte work; the radio logic (frame ids, peers, statuses) is in `xbee.ts`.
 *
 * ```
 * +------+---------+---------+--------------------------------+----------+
 * | 0x7E | Len MSB | Len LSB | frame data: type, fields, data | checksum |
 * +------+---------+---------+--------------------------------+----------+
 * ```
 * Length counts the frame data only; the checksum is 0xFF minus the low byte of the sum of the
 * frame data (§2.2). Both are computed on unescaped bytes, in AP=2 too (§2.3).
 */
import type { FrameSink, StreamDecoder } from './slip.js';

export type ApiMode = 1 | 2;

export const START = 0x7e;
export const ESCAPE = 0x7d;
const XON = 0x11;
const XOFF = 0x13;

export const FrameType = {
  TRANSMIT_REQUEST: 0x10,
  MODEM_STATUS: 0x8a,
  TRANSMIT_STATUS: 0x8b,
  RECEIVE_PACKET: 0x90,
  EXPLICIT_RX: 0x91,
} as const;

/** 0x10 Transmit Request header: type, frame id, 64-bit and 16-bit destination, radius, options (§2.4). */
export const TX_HEADER = 14;
/** 0x90 Receive Packet header: type, 64-bit and 16-bit source, receive options (§2.5). */
export const RX_HEADER = 12;
/** 0x90 receive option bit: the packet was a broadcast (§2.5). */
export const RX_OPT_BROADCAST = 0x02;
/** 64-bit broadcast address (§2.4, §2.7). */
export const BROADCAST_64 = Buffer.from('000000000000ffff', 'hex');
/** 16-bit "unknown, use the 64-bit address", also used for broadcast (§2.4). */
export const ADDR16_UNKNOWN = 0xfffe;

function needsEscape(b: number): boolean {
  return b === START || b === ESCAPE || b === XON || b === XOFF;
}

/** §2.2: 0xFF minus the low 8 bits of the sum of the frame data. */
export function checksum(frameData: Buffer, start = 0, end = frameData.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += frameData[i]!;
  return 0xff - (sum & 0xff);
}

/**
 * Wraps unescaped frame bytes `7E len data checksum` (already laid out in `raw`, checksum
 * included) for the wire. AP=2 escapes every byte after the start delimiter (§2.3).
 */
function toWire(raw: Buffer, mode: ApiMode): Buffer {
  if (mode === 1) return raw;
  let escapes = 0;
  for (let i = 1; i < raw.length; i++) if (needsEscape(raw[i]!)) escapes++;
  if (escapes === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + escapes);
  out[0] = START;
  let j = 1;
  for (let i = 1; i < raw.length; i++) {
    const b = raw[i]!;
    if (needsEscape(b)) {
      out[j++] = ESCAPE;
      out[j++] = b ^ 0x20;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

/** Any API frame from its frame data (type byte onwards). */
export function encodeApiFrame(frameData: Buffer, mode: ApiMode): Buffer {
  const raw = Buffer.allocUnsafe(frameData.length + 4);
  raw[0] = START;
  raw.writeUInt16BE(frameData.length, 1);
  frameData.copy(raw, 3);
  raw[raw.length - 1] = checksum(frameData);
  return toWire(raw, mode);
}

export interface TransmitRequest {
  /** 1..255 to get a 0x8B status back, 0 for none (§2.4) */
  frameId: number;
  /** 8 bytes */
  dest64: Buffer;
  dest16: number;
  /** 0 = maximum hops (NH) */
  radius: number;
  /** 0 = the module's TO defaults */
  options: number;
  data: Buffer;
}

/** A 0x10 Transmit Request (§2.4), written straight into the frame without an intermediate copy. */
export function encodeTransmitRequest(req: TransmitRequest, mode: ApiMode): Buffer {
  const len = TX_HEADER + req.data.length;
  const raw = Buffer.allocUnsafe(len + 4);
  raw[0] = START;
  raw.writeUInt16BE(len, 1);
  raw[3] = FrameType.TRANSMIT_REQUEST;
  raw[4] = req.frameId;
  req.dest64.copy(raw, 5, 0, 8);
  raw.writeUInt16BE(req.dest16, 13);
  raw[15] = req.radius;
  raw[16] = req.options;
  req.data.copy(raw, 17);
  raw[raw.length - 1] = checksum(raw, 3, 3 + len);
  return toWire(raw, mode);
}

/**
 * Turns a byte stream into frame data buffers (type byte onwards, unescaped, checksum verified
 * and removed), each in a Buffer of its own. Frames whose length is 0 or over `maxFrameData`,
 * or whose checksum fails, are reported to the sink and skipped.
 */
export function createApiDecoder(mode: ApiMode, maxFrameData: number, sink: FrameSink): ApiDecoder {
  return mode === 1 ? new Api1Decoder(maxFrameData, sink) : new Api2Decoder(maxFrameData, sink);
}

/** A decoder that counts its work: bytes summed, searched or moved (a byte machine: one each). */
export interface ApiDecoder extends StreamDecoder {
  readonly bytesExamined: number;
}

const enum S {
  Wait,
  LenHi,
  LenLo,
  Data,
  Sum,
  /** a bad length was announced: ignore everything up to the next raw 0x7E */
  Skip,
}

/**
 * AP=2: a raw 0x7E can only be a frame start (§2.3), so this is a plain byte state machine that
 * restarts on every 0x7E, even mid-frame ("the previous frame was truncated").
 */
class Api2Decoder implements ApiDecoder {
  private state = S.Wait;
  bytesExamined = 0;
  private esc = false;
  private len = 0;
  private pos = 0;
  private sum = 0;
  private frame: Buffer | undefined;
  private inGarbage = false;

  constructor(
    private readonly maxFrameData: number,
    private readonly sink: FrameSink,
  ) {}

  get pending(): boolean {
    return this.state !== S.Wait && this.state !== S.Skip;
  }

  push(chunk: Buffer): void {
    this.bytesExamined += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i]!;
      if (b === START) {
        if (this.pending) {
          this.sink.drop('truncated', { at: this.pos, of: this.len }, 'XBee: new frame started mid-frame; partial frame discarded');
        }
        this.state = S.LenHi;
        this.esc = false;
        this.inGarbage = false;
        continue;
      }
      if (this.state === S.Wait) {
        if (!this.inGarbage) {
          this.inGarbage = true;
          this.sink.drop('garbage', { byte: b }, 'XBee: bytes outside any frame skipped');
        }
        continue;
      }
      if (this.state === S.Skip) continue;
      if (b === ESCAPE) {
        this.esc = true;
        continue;
      }
      if (this.esc) {
        b ^= 0x20;
        this.esc = false;
      }
      switch (this.state) {
        case S.LenHi:
          this.len = b << 8;
          this.state = S.LenLo;
          break;
        case S.LenLo:
          this.len |= b;
          this.begin();
          break;
        case S.Data:
          this.frame![this.pos++] = b;
          this.sum += b;
          if (this.pos === this.len) this.state = S.Sum;
          break;
        case S.Sum: {
          const frame = this.frame!;
          this.frame = undefined;
          this.state = S.Wait;
          if (((this.sum + b) & 0xff) === 0xff) this.sink.frame(frame);
          else this.badChecksum(frame, b);
          // Whatever follows up to the next 0x7E belongs to nobody.
          this.inGarbage = false;
          break;
        }
      }
    }
  }

  private begin(): void {
    if (this.len === 0 || this.len > this.maxFrameData) {
      dropLength(this.sink, this.len, this.maxFrameData);
      this.state = S.Skip;
      return;
    }
    this.frame = Buffer.allocUnsafe(this.len);
    this.pos = 0;
    this.sum = 0;
    this.state = S.Data;
  }

  private badChecksum(frame: Buffer, got: number): void {
    this.sink.drop(
      'badChecksum',
      { frameType: frame[0], got, want: checksum(frame) },
      'XBee: frame checksum does not verify; frame dropped',
    );
  }

  idle(): void {
    if (this.pending) {
      this.sink.drop('truncated', { at: this.pos, of: this.len }, 'XBee: line idle mid-frame; partial frame discarded');
    }
    this.reset();
  }

  reset(): void {
    this.state = S.Wait;
    this.esc = false;
    this.frame = undefined;
    this.inGarbage = false;
  }
}

/**
 * AP=1: 0x7E may occur inside a frame, so the length field must be trusted (§2.3). Bytes are
 * kept until a candidate frame is complete; if its length is impossible or its checksum fails,
 * the scan restarts one byte after that 0x7E, so a real frame hidden behind a false start is
 * still found.
 *
 * Linear in the bytes received, whatever a sender puts on the line: a false start costs O(1),
 * not a checksum over its announced length (a running sum of the bytes gives any span's sum by
 * one subtraction), a scan never goes back over bytes it passed, and the buffer is compacted only
 * when it is half spent (twice the largest candidate), so each byte is moved a bounded number of
 * times. `bytesExamined` counts that work, for the test that holds it linear.
 */
class Api1Decoder implements ApiDecoder {
  private readonly buf: Buffer;
  /** sums[k] = low byte of the sum of buf[0, k): the sum of buf[a, b) is sums[b] - sums[a] */
  private readonly sums: Uint8Array;
  /** bytes held are buf[head, tail); scanning resumes at `head` */
  private head = 0;
  private tail = 0;
  private inGarbage = false;
  /** bytes summed, searched for a start, or moved, since the decoder was made */
  bytesExamined = 0;

  constructor(
    private readonly maxFrameData: number,
    private readonly sink: FrameSink,
  ) {
    // A complete candidate always fits in half, so every scan makes progress and a compaction
    // frees at least half the buffer.
    this.buf = Buffer.allocUnsafe(2 * (maxFrameData + 4));
    this.sums = new Uint8Array(this.buf.length + 1);
  }

  get pending(): boolean {
    return this.tail > this.head;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.tail === this.buf.length) this.compact();
      const n = Math.min(this.buf.length - this.tail, chunk.length - off);
      chunk.copy(this.buf, this.tail, off, off + n);
      const buf = this.buf;
      const sums = this.sums;
      for (let k = this.tail; k < this.tail + n; k++) sums[k + 1] = (sums[k]! + buf[k]!) & 0xff;
      this.bytesExamined += n;
      this.tail += n;
      off += n;
      this.head = this.scan(this.head);
    }
  }

  /**
   * Takes every complete frame out of `buf[from, tail)` and returns where the unconsumed part
   * starts: an incomplete candidate, or `tail` when nothing is left.
   */
  private scan(from: number): number {
    const buf = this.buf;
    const len = this.tail;
    let i = from;
    for (;;) {
      let s = buf.indexOf(START, i);
      if (s < 0 || s >= len) s = len;
      this.bytesExamined += s - i;
      if (s > i) this.garbage(buf[i]!);
      if (s === len || len - s < 3) return s;
      const flen = buf.readUInt16BE(s + 1);
      if (flen === 0 || flen > this.maxFrameData) {
        dropLength(this.sink, flen, this.maxFrameData);
        this.inGarbage = true;
        i = s + 1;
        continue;
      }
      const end = s + 3 + flen;
      if (end >= len) return s;
      const got = buf[end]!;
      const want = 0xff - ((this.sums[end]! - this.sums[s + 3]!) & 0xff);
      if (got !== want) {
        this.sink.drop('badChecksum', { frameType: buf[s + 3], got, want }, 'XBee: frame checksum does not verify; frame dropped');
        this.inGarbage = true;
        i = s + 1;
        continue;
      }
      const frame = Buffer.allocUnsafe(flen);
      buf.copy(frame, 0, s + 3, end);
      this.inGarbage = false;
      this.sink.frame(frame);
      i = end + 1;
    }
  }

  /** Moves the held bytes to the front; sums move with them (differences are what is read). */
  private compact(): void {
    const n = this.tail - this.head;
    this.buf.copy(this.buf, 0, this.head, this.tail);
    this.sums.copyWithin(0, this.head, this.tail + 1);
    this.bytesExamined += n;
    this.head = 0;
    this.tail = n;
  }

  private garbage(byte: number): void {
    if (this.inGarbage) return;
    this.inGarbage = true;
    this.sink.drop('garbage', { byte }, 'XBee: bytes outside any frame skipped');
  }

  /** Gives up on each incomplete candidate in turn; a later 0x7E may still start a whole frame. */
  idle(): void {
    while (this.tail > this.head) {
      const s = this.buf.indexOf(START, this.head);
      if (s < 0 || s >= this.tail) break;
      this.sink.drop('truncated', { have: this.tail - s }, 'XBee: line idle mid-frame; partial frame discarded');
      this.inGarbage = true;
      this.head = this.scan(s + 1);
    }
    this.head = 0;
    this.tail = 0;
  }

  reset(): void {
    this.head = 0;
    this.tail = 0;
    this.inGarbage = false;
  }
}

function dropLength(sink: FrameSink, len: number, max: number): void {
  if (len === 0) sink.drop('malformed', { len }, 'XBee: frame announces length 0; skipped');
  else sink.drop('oversize', { len, limit: max }, `XBee: frame of ${len} bytes exceeds the limit of ${max}; skipped`);
}
