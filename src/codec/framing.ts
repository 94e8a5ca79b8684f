/**
 * The one part of the wire format MQTT-SN 1.2 and 2.0 share: every message starts with its total
 * Length, in one byte (2..255) or as 0x01 then two bytes big-endian (up to 65535), then its type
 * byte (MQTT-SN 1.2 §5.2.1; MQTT-SN 2.0 §2.1.1, Fig 2-2/2-3). Everything after the type byte
 * belongs to one version's codec.
 */
import { CodecErrorCode, DecodeError, EncodeError } from '../errors.js';

/** The largest message the 3-byte length form can describe. */
export const MAX_MESSAGE_LENGTH = 0xffff;

/** What a decoded packet remembers of its header so that re-encoding it gives back the same bytes. */
export interface LongLengthHint {
  /**
   * It arrived in the 3-byte length form although the 1-byte form would have fit (a total of up
   * to 257 in the long form). Packets built by code never set it; `encode` then writes the
   * 1-byte form whenever the total fits in it.
   */
  longLength?: true;
}

/** The Length field as read: the total it declares and where the type byte sits. */
export interface Header {
  /** the total number of bytes the Length field declares */
  length: number;
  /** offset of the type byte: 1 in the 1-byte form, 3 in the 3-byte form */
  typeAt: 1 | 3;
}

/**
 * Read the Length field. Only the field itself is checked here (a first byte of 0x00, a 3-byte
 * form cut short or declaring under 4 bytes); comparing the declared total with the bytes at hand
 * is {@link lengthError}'s, because 1.2's forwarder encapsulation declares its header only.
 */
export function readHeader(b: Buffer): Header | DecodeError {
  const size = b.length;
  if (size < 2) return new DecodeError(CodecErrorCode.TRUNCATED, `message of ${size} bytes is shorter than a header`);
  const first = b[0]!;
  if (first === 0x00) return new DecodeError(CodecErrorCode.BAD_FIELD, 'length byte 0x00 is invalid');
  if (first !== 0x01) return { length: first, typeAt: 1 };
  if (size < 4) return new DecodeError(CodecErrorCode.TRUNCATED, '3-byte length form needs at least 4 bytes');
  const length = b.readUInt16BE(1);
  if (length < 4) return new DecodeError(CodecErrorCode.BAD_FIELD, `3-byte length form with value ${length} (< 4)`);
  return { length, typeAt: 3 };
}

/** `bytes` must be exactly the one message its Length declares: shorter is TRUNCATED, longer LENGTH_MISMATCH. */
export function lengthError(b: Buffer, h: Header, type: number): DecodeError | undefined {
  if (h.length > b.length) return new DecodeError(CodecErrorCode.TRUNCATED, `length field says ${h.length}, got ${b.length} bytes`, type);
  if (h.length < b.length) return new DecodeError(CodecErrorCode.LENGTH_MISMATCH, `length field says ${h.length}, got ${b.length} bytes`, type);
  return undefined;
}

/** True when the 3-byte form was used where the 1-byte form would have fitted (total - 2 <= 255). */
export function needlesslyLong(h: Header): boolean {
  return h.typeAt === 3 && h.length - 2 <= 255;
}

/**
 * Allocate a message of `bodyLength` bytes after the Length field (the type byte first) and let
 * `write` fill them in at offset `o`. The 1-byte form is used up to a total of 255 unless
 * `longLength` asks for the 3-byte form.
 */
export function frame(bodyLength: number, longLength: boolean, write: (buf: Buffer, o: number) => void): Buffer {
  const short = !longLength && bodyLength + 1 <= 255;
  const total = short ? bodyLength + 1 : bodyLength + 3;
  if (total > MAX_MESSAGE_LENGTH) throw new EncodeError(CodecErrorCode.TOO_LARGE, `message of ${total} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  const buf = Buffer.allocUnsafe(total);
  if (short) {
    buf[0] = total;
    write(buf, 1);
  } else {
    buf[0] = 0x01;
    buf.writeUInt16BE(total, 1);
    write(buf, 3);
  }
  return buf;
}
