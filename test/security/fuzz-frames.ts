/**
 * Frames for the fuzz test, all from one seeded PRNG: the codec vectors mutated, plausible
 * headers (a right length byte and a real message type over random bytes), and plain random
 * bytes; then the same wrapped for each medium (forwarder encapsulation, SLIP, XBee API 0x90).
 */
import { readFileSync } from 'node:fs';
import { slipEncode } from '../../src/transport/slip.js';
import { encodeApiFrame, type ApiMode } from '../../src/transport/xbee-api.js';

interface Vector {
  layer: 'mqtt-sn' | 'slip' | 'xbee-api1' | 'xbee-api2';
  hex: string;
}

const all = (JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;
const byLayer = (layer: Vector['layer']): Buffer[] => all.filter((v) => v.layer === layer).map((v) => Buffer.from(v.hex, 'hex'));

/** The 2.0 vectors too: both versions share every port (#18). */
const v20 = (JSON.parse(readFileSync(new URL('../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Array<{ hex: string }> }).vectors.map((v) => Buffer.from(v.hex, 'hex'));

export const VECTORS = { mqttsn: [...byLayer('mqtt-sn'), ...v20], slip: byLayer('slip'), api1: byLayer('xbee-api1'), api2: byLayer('xbee-api2') };

/** Message types of MQTT-SN 1.2 and 2.0, the ones a header may plausibly carry (0xFC-0xFF: encapsulations). */
const TYPES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d, 0xfc, 0xfe, 0xff];

export class FrameFuzzer {
  constructor(readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** One to four edits: flip a bit, set a byte, insert, delete, cut short, repeat a slice, fix up the length byte. */
  mutate(base: Buffer): Buffer {
    let b = Buffer.from(base);
    for (let k = 1 + this.int(4); k > 0; k--) {
      const at = b.length === 0 ? 0 : this.int(b.length);
      switch (this.int(7)) {
        case 0:
          if (b.length > 0) b[at] = b[at]! ^ (1 << this.int(8));
          break;
        case 1:
          if (b.length > 0) b[at] = this.int(256);
          break;
        case 2:
          b = Buffer.concat([b.subarray(0, at), this.bytes(1 + this.int(4)), b.subarray(at)]);
          break;
        case 3:
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + this.int(3))]);
          break;
        case 4:
          b = b.subarray(0, at);
          break;
        case 5:
          b = Buffer.concat([b, b.subarray(at, at + 1 + this.int(16))]);
          break;
        case 6:
          // A length byte that agrees with the bytes lets the mutation reach deeper than the header check.
          if (b.length > 1 && b.length < 256) b[0] = b.length;
          break;
      }
    }
    return b;
  }

  /** A length byte that is right, a real type, random bytes after. */
  plausible(): Buffer {
    const b = this.bytes(2 + this.int(40));
    b[0] = b.length;
    b[1] = this.pick(TYPES);
    return b;
  }

  /** One MQTT-SN frame of the fuzz mix, 1..`max` bytes. */
  frame(max = 300): Buffer {
    const r = this.random();
    let b: Buffer;
    if (r < 0.45) b = this.mutate(this.pick(VECTORS.mqttsn));
    else if (r < 0.75) b = this.plausible();
    else if (r < 0.95) b = this.bytes(1 + this.int(64));
    else b = Buffer.from(this.pick(VECTORS.mqttsn)); // unchanged: valid frames from strangers
    if (b.length === 0) b = this.bytes(1);
    return b.length > max ? b.subarray(0, max) : b;
  }

  /** A datagram for a forwarder port: mostly encapsulated (sometimes badly), sometimes bare. */
  forwarded(): Buffer {
    const r = this.random();
    if (r < 0.15) return this.frame();
    const nodeId = this.bytes(this.int(9));
    const inner = this.frame(200);
    const header = Buffer.from([3 + nodeId.length, 0xfe, this.int(256)]);
    const wrapped = Buffer.concat([header, nodeId, inner]);
    return r < 0.85 ? wrapped : this.mutate(wrapped);
  }

  /** Bytes for a SLIP line: one frame's worth, encoded, damaged, or noise. */
  slip(): Buffer {
    const r = this.random();
    if (r < 0.75) return slipEncode(this.frame(), this.random() < 0.5);
    if (r < 0.85) return this.mutate(slipEncode(this.frame(), true));
    if (r < 0.92) return this.mutate(this.pick(VECTORS.slip));
    return this.bytes(1 + this.int(64));
  }

  /** Bytes for an XBee UART in API mode `mode`: a 0x90 around a fuzz frame, damaged, other frame types, or noise. */
  xbee(mode: ApiMode, sources: readonly Buffer[]): Buffer {
    const r = this.random();
    const rx = (): Buffer => {
      const header = Buffer.alloc(12);
      header[0] = 0x90;
      this.pick(sources).copy(header, 1);
      header.writeUInt16BE(this.int(0x10000), 9);
      header[11] = this.random() < 0.9 ? 0x01 : this.int(256);
      return Buffer.concat([header, this.frame(84)]);
    };
    if (r < 0.7) return encodeApiFrame(rx(), mode);
    if (r < 0.82) return this.mutate(encodeApiFrame(rx(), mode));
    if (r < 0.88) return encodeApiFrame(this.bytes(1 + this.int(40)), mode); // any frame type, checksum right
    if (r < 0.94) return this.mutate(this.pick(mode === 1 ? VECTORS.api1 : VECTORS.api2));
    return this.bytes(1 + this.int(64));
  }
}
