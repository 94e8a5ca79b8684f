/**
 * The one MQTT-SN fact a framer uses: a message states its own length. SLIP has no checksum, so
 * FRAMING.md §1.3 asks the receiver to compare that Length with the de-framed size and drop on
 * mismatch; it is how noise glued to a frame is told apart from a frame. Nothing else of the
 * message is read here.
 *
 * Length is 1 byte, or `0x01` then 2 bytes big-endian (MQTT-SN.md §1.1). A forwarder
 * encapsulation (MsgType 0xFE) has a 1-byte Length that counts only its own header, and the
 * wrapped message follows with its own Length (MQTT-SN.md §2.7), so that one is checked in turn.
 */
const ENCAPSULATED = 0xfe;

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
  const n = frame.length;
  if (n < 2) return false;
  const first = frame[0]!;
  if (first === 0x01) return n >= 4 && frame.readUInt16BE(1) === n;
  return first === n;
}

function msgType(frame: Buffer): number | undefined {
  return frame[0] === 0x01 ? frame[3] : frame[1];
}
