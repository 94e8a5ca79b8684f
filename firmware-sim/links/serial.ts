/**
 * Nodes on a serial line (FRAMING.md), using the project's framers from src/transport:
 *
 * - `slip`: one node per line (SLIP has no addressing, §1.2); with `forwarder` several nodes
 *   share the line inside forwarder encapsulation (MQTT-SN.md §2.7), each with a 2-byte node id.
 * - `xbee-api1` / `xbee-api2`, role `module` (default): the simulator plays the gateway's XBee
 *   module and the radios of every node behind it. It takes the gateway's 0x10 Transmit
 *   Requests, answers 0x8B Transmit Status, and hands each node's frames up as 0x90 Receive
 *   Packets from the node's own 64-bit address (§2.4-2.6). This is what a gateway's serial
 *   port sees with a real coordinator, so a pty pair is enough to test without radios.
 * - role `host`: the simulator drives a real XBee module as one node: its frames go out as 0x10
 *   to the gateway's 64-bit address (the coordinator by default), 0x90 frames come in.
 */
import { SerialLink } from '../../src/transport/serial-link.js';
import { SlipDecoder, slipEncode, type FrameSink, type StreamDecoder } from '../../src/transport/slip.js';
import { createApiDecoder, encodeApiFrame, encodeTransmitRequest, type ApiMode } from '../../src/transport/xbee-api.js';
import { decapsulate, encapsulate } from '../../src/transport/forwarder.js';
import { SimError, SimErrorCode } from '../errors.js';
import type { Link } from '../link.js';

export type Framing = 'slip' | 'xbee-api1' | 'xbee-api2';
export const FRAMINGS: readonly Framing[] = ['slip', 'xbee-api1', 'xbee-api2'];

export interface SerialMediumOptions {
  path: string;
  baudRate: number;
  framing: Framing;
  /** XBee only; default `module` */
  xbeeRole?: 'module' | 'host';
  /** SLIP only: wrap each node's frames in forwarder encapsulation so several nodes share the line */
  forwarder?: boolean;
  /** host role: the gateway's 64-bit address, 16 hex digits; default the coordinator, 0000000000000000 */
  gateway64?: string;
  /** largest MQTT-SN message; default 1024 for SLIP, 255 for XBee */
  maxFrameSize?: number;
  /** first 64-bit node address in module role, 16 hex digits; node i gets base + i */
  addressBase?: string;
}

const XBEE_BROADCAST = Buffer.from('000000000000ffff', 'hex');
const FRAME_TX_REQUEST = 0x10;
const FRAME_TX_STATUS = 0x8b;
const FRAME_RX_PACKET = 0x90;
const RX_ACKNOWLEDGED = 0x01;
const RX_BROADCAST = 0x02;
const quietLog = { warn: () => {}, info: () => {}, debug: () => {} };

interface Endpoint {
  cb: ((frame: Buffer, from?: string) => void) | undefined;
  /** SLIP forwarder node id, or XBee 64-bit address */
  id: Buffer;
  closed: boolean;
}

export class SerialMedium {
  readonly #o: SerialMediumOptions;
  readonly #line: SerialLink;
  readonly #decoder: StreamDecoder;
  readonly #mode: ApiMode;
  readonly #endpoints: Endpoint[] = [];
  #frameId = 0;
  #lastError: Error | undefined;

  private constructor(o: SerialMediumOptions) {
    this.#o = o;
    this.#mode = o.framing === 'xbee-api1' ? 1 : 2;
    const sink: FrameSink = { frame: (f) => this.#onFrame(f), drop: () => {} };
    const max = o.maxFrameSize ?? (o.framing === 'slip' ? 1024 : 255);
    // Room for the XBee header around the MQTT-SN message, and for a forwarder header in SLIP.
    this.#decoder = o.framing === 'slip' ? new SlipDecoder(max + 16, sink) : createApiDecoder(this.#mode, max + 32, sink);
    this.#line = new SerialLink(
      { path: o.path, baudRate: o.baudRate },
      {
        data: (chunk) => this.#decoder.push(chunk),
        status: (_state, extra) => {
          if (extra?.error) this.#lastError = extra.error;
        },
        lost: () => this.#decoder.reset(),
        error: () => {},
        log: quietLog,
      },
    );
  }

  /** Opens the line; rejects with `SIM_ERR_LINK` when the device cannot be opened. */
  static async open(o: SerialMediumOptions): Promise<SerialMedium> {
    const m = new SerialMedium(o);
    await m.#line.open();
    if (!m.#line.isOpen) {
      const why = m.#lastError?.message ?? 'unknown error';
      await m.#line.close();
      throw new SimError(SimErrorCode.LINK, `cannot open serial device ${o.path}: ${why}`);
    }
    return m;
  }

  get name(): string {
    return `serial:${this.#o.path}(${this.#o.framing})`;
  }

  /** How many nodes this line can carry with these options. */
  get capacity(): number {
    if (this.#o.framing === 'slip') return this.#o.forwarder === true ? 0xffff : 1;
    return this.#o.xbeeRole === 'host' ? 1 : 0xffff;
  }

  /** The link of node `index` (0-based). */
  link(index: number): Link {
    if (index >= this.capacity) {
      throw new SimError(SimErrorCode.BAD_ARGUMENT, `${this.#o.framing}${this.#o.forwarder === true ? ' with forwarder' : ''} carries at most ${this.capacity} node(s) on one line`);
    }
    const ep: Endpoint = { cb: undefined, id: this.#nodeId(index), closed: false };
    this.#endpoints[index] = ep;
    const name = `${this.name}#${ep.id.toString('hex')}`;
    return {
      name,
      send: (frame) => this.#send(ep, frame, false),
      broadcast: (frame) => this.#send(ep, frame, true),
      onFrame: (cb) => {
        ep.cb = cb;
      },
      close: () => {
        ep.closed = true;
        ep.cb = undefined;
        return Promise.resolve();
      },
    };
  }

  close(): Promise<void> {
    return this.#line.close();
  }

  #nodeId(index: number): Buffer {
    if (this.#o.framing === 'slip') {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(index + 1);
      return b;
    }
    const base = BigInt(`0x${this.#o.addressBase ?? '0013a20000000000'}`);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(base + BigInt(index + 1));
    return b;
  }

  #send(ep: Endpoint, frame: Buffer, broadcast: boolean): Promise<void> {
    if (ep.closed) return Promise.reject(new SimError(SimErrorCode.CLOSED, 'link closed'));
    let bytes: Buffer;
    const o = this.#o;
    if (o.framing === 'slip') {
      bytes = slipEncode(o.forwarder === true ? encapsulate(ep.id, frame) : frame, true);
    } else if (o.xbeeRole === 'host') {
      this.#frameId = (this.#frameId % 255) + 1;
      bytes = encodeTransmitRequest(
        { frameId: this.#frameId, dest64: broadcast ? XBEE_BROADCAST : Buffer.from(o.gateway64 ?? '0000000000000000', 'hex'), dest16: 0xfffe, radius: 0, options: 0, data: frame },
        this.#mode,
      );
    } else {
      // What the gateway's module hands up when this node's radio transmits (FRAMING.md §2.5).
      const data = Buffer.allocUnsafe(12 + frame.length);
      data[0] = FRAME_RX_PACKET;
      ep.id.copy(data, 1);
      data.writeUInt16BE(ep.id.readUInt16BE(6), 9);
      data[11] = broadcast ? RX_BROADCAST : RX_ACKNOWLEDGED;
      frame.copy(data, 12);
      bytes = encodeApiFrame(data, this.#mode);
    }
    return this.#line.write(bytes).catch((err: unknown) => {
      throw new SimError(SimErrorCode.LINK, `serial write failed: ${String(err)}`, { cause: err });
    });
  }

  #deliver(ep: Endpoint | undefined, frame: Buffer, from: string): void {
    if (ep && !ep.closed) ep.cb?.(frame, from);
  }

  #onFrame(f: Buffer): void {
    const o = this.#o;
    if (o.framing === 'slip') {
      if (o.forwarder !== true) {
        this.#deliver(this.#endpoints[0], f, 'serial');
        return;
      }
      const d = decapsulate(f);
      if (!d) return;
      const message = Buffer.from(d.message);
      if (d.nodeId.length !== 2) return;
      this.#deliver(this.#endpoints[d.nodeId.readUInt16BE() - 1], message, 'serial');
      return;
    }
    const type = f[0];
    if (o.xbeeRole === 'host') {
      if (type === FRAME_RX_PACKET && f.length > 12) this.#deliver(this.#endpoints[0], Buffer.from(f.subarray(12)), f.subarray(1, 9).toString('hex'));
      return;
    }
    if (type !== FRAME_TX_REQUEST || f.length < 14) return;
    const frameId = f[1]!;
    const dest = f.subarray(2, 10);
    const data = f.subarray(14);
    let delivered = false;
    if (dest.equals(XBEE_BROADCAST)) {
      for (const ep of this.#endpoints) this.#deliver(ep, Buffer.from(data), 'gateway');
      delivered = true;
    } else {
      for (const ep of this.#endpoints) {
        if (ep?.id.equals(dest) === true && !ep.closed) {
          this.#deliver(ep, Buffer.from(data), 'gateway');
          delivered = true;
        }
      }
    }
    if (frameId !== 0) {
      // 0x8B: 16-bit FFFE, no retries, 0x00 delivered or 0x24 address not found (FRAMING.md §2.6).
      const status = Buffer.from([FRAME_TX_STATUS, frameId, 0xff, 0xfe, 0, delivered ? 0x00 : 0x24, 0]);
      this.#line.write(encodeApiFrame(status, this.#mode)).catch(() => {});
    }
  }
}
