/**
 * The one MQTT-SN fact a framer uses: a message states its own length. SLIP has no checksum, so
 * FRAMING.md §1.3 asks the receiver to compare that Length with the de-framed size and drop on
 * mismatch; it is how noise glued to a frame is told apart from a frame. A raw serial line has
 * no framing at all, so the Length is what delimits its frames. Nothing else of the message is
 * read here.
 *
 * Length is 1 byte, or `0x01` then 2 bytes big-endian (MQTT-SN.md §1.1). A forwarder
 * encapsulation (MsgType 0xFE) has a 1-byte Length that counts only its own header, and the
 * wrapped message follows with its own Length (MQTT-SN.md §2.7), so that one is checked in turn.
 */
export const ENCAPSULATED = 0xfe;

/** {@link declaredLength}: the bytes so far do not tell yet. */
export const NEED_MORE = -1;
/** {@link declaredLength}: no message starts like this (Length 0, or a 3-byte Length under 4). */
export const NOT_A_LENGTH = -2;

/**
 * The total size the message starting at `at` declares, read from `buf[at..end)`, or
 * {@link NEED_MORE} / {@link NOT_A_LENGTH}. MQTT-SN.md §1.1: `0x00` is invalid, `0x01` opens the
 * 3-byte form (whose value counts its own 3 bytes, so under 4 is malformed), anything else is
 * the total in one byte.
 */
export function declaredLength(buf: Buffer, at: number, end: number): number {
  if (end <= at) return NEED_MORE;
  const first = buf[at]!;
  if (first === 0x00) return NOT_A_LENGTH;
  if (first !== 0x01) return first;
  if (end < at + 3) return NEED_MORE;
  const n = buf.readUInt16BE(at + 1);
  return n < 4 ? NOT_A_LENGTH : n;
}

/**
 * The size of the frame at the start of `buf[0..end)`: one message, or a forwarder
 * encapsulation header plus the message it wraps. Same answers as {@link declaredLength}.
 */
export function declaredFrameLength(buf: Buffer, end: number): number {
  if (end < 1) return NEED_MORE;
  const first = buf[0]!;
  // §2.7: an encapsulation header is at least 3 bytes and uses the 1-byte form only.
  if (first >= 3) {
    if (end < 2) return NEED_MORE;
    if (buf[1] === ENCAPSULATED) {
      const inner = declaredLength(buf, first, end);
      return inner < 0 ? inner : first + inner;
    }
  }
  return declaredLength(buf, 0, end);
}

export function lengthMatches(frame: Buffer): boolean {
  if (ownLengthMatches(frame)) return true;
  const first = frame[0] ?? 0;
  // MQTT-SN.md §7: an encapsulation with Length < 3 or nothing after the header is malformed.
  if (frame[1] === ENCAPSULATED && first >= 3 && first < frame.length) {
    const inner = frame.subarray(first);
    // §7: encapsulation inside encapsulation is not defined.
    return msgType(inner) !== ENCAPSULATED && ownLengthMatches(inner);
  }
  return false;
}

function ownLengthMatches(frame: Buffer): boolean {
  return frame.length >= 2 && declaredLength(frame, 0, frame.length) === frame.length;
}

function msgType(frame: Buffer): number | undefined {
  return frame[0] === 0x01 ? frame[3] : frame[1];
}
