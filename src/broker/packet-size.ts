/**
 * A cap on the size of MQTT packets coming in on a byte stream, checked on each packet's fixed
 * header, before its body is buffered: MQTT's parsers (mqtt-packet, under aedes and MQTT.js) keep
 * a packet's bytes until it is whole, so a header announcing 200 MB would otherwise be honoured
 * byte by byte. It only watches the bytes go by (a `'data'` listener beside the real reader).
 *
 * Fixed header (MQTT 3.1.1 §2.2): one byte of type and flags, then the Remaining Length, 1 to 4
 * bytes of 7 bits each, least significant first, the high bit saying another byte follows (§2.2.3).
 */

/** MQTT's largest packet: 1 + 4 header bytes and a Remaining Length of 268,435,455 (§2.2.3). */
export const MQTT_MAX_PACKET_BYTES = 1 + 4 + 268_435_455;

/** The default cap, for the listener and for what the upstream broker may send: 1 MiB. */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

export class PacketSizeGuard {
  readonly max: number;
  /** bytes of the Remaining Length read so far, 0 while waiting for a packet's first byte */
  #lengthBytes = 0;
  #inHeader = false;
  #remaining = 0;
  /** body bytes of the current packet still to pass */
  #body = 0;

  constructor(maxPacketBytes: number) {
    this.max = maxPacketBytes;
  }

  /**
   * Takes the next bytes of the stream. Returns the size a packet announces when it is over the
   * limit (or `Infinity` for a Remaining Length longer than 4 bytes, §2.2.3), else undefined.
   */
  feed(chunk: Uint8Array): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#body > 0) {
        const skip = Math.min(this.#body, chunk.length - i);
        this.#body -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.#inHeader) {
        this.#inHeader = true;
        this.#lengthBytes = 0;
        this.#remaining = 0;
        continue;
      }
      this.#remaining += (byte & 0x7f) * 128 ** this.#lengthBytes;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return Infinity;
        continue;
      }
      this.#inHeader = false;
      const size = 1 + this.#lengthBytes + this.#remaining;
      if (size > this.max) return size;
      this.#body = this.#remaining;
    }
    return undefined;
  }
}
