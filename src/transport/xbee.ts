import { TransportErrorCode } from '../errors.js';
import { SerialTransportBase, type SerialCommonOptions } from './serial.js';
import type { StreamDecoder } from './slip.js';
import type { Peer } from './types.js';
import {
  ADDR16_UNKNOWN,
  BROADCAST_64,
  createApiDecoder,
  encodeTransmitRequest,
  FrameType,
  RX_HEADER,
  RX_OPT_BROADCAST,
  type ApiMode,
} from './xbee-api.js';

/**
 * An XBee node: keyed on its 64-bit address, the stable identity (FRAMING.md §2.5). `addr16` is
 * the last network address seen for it, a routing hint that can change.
 */
export interface XBeePeer extends Peer {
  /** 8 bytes, big-endian */
  readonly addr64: Buffer;
  readonly addr16: number;
}

type MutablePeer = { -readonly [K in keyof XBeePeer]: XBeePeer[K] };

export interface XBeeOptions extends SerialCommonOptions {
  /** AP parameter of the module: 1 (no escapes) or 2 (escaped, Paho's default) (FRAMING.md §2.3) */
  apiMode: ApiMode;
  /**
   * Largest MQTT-SN message, i.e. the module's maximum RF payload `NP`; default 84, the NP of
   * common Zigbee modules with encryption off (query yours with `ATNP`; APS encryption lowers
   * it). MQTT-SN has no fragmentation: larger messages are rejected, never split (§2.7).
   */
  maxFrameSize?: number;
  /** how long to wait for a 0x8B Transmit Status before reporting a timeout; default 5000 ms (as Paho) */
  txStatusTimeoutMs?: number;
  /** 0x10 transmit options byte; default 0 = the module's `TO` (§2.4) */
  transmitOptions?: number;
  /** broadcast radius used when `broadcast()` gets none; default 0 = `NH` hops (§2.7) */
  broadcastRadius?: number;
}

interface PendingTx {
  peer: XBeePeer;
  timer: NodeJS.Timeout;
}

/** Nodes remembered for their 16-bit address; the oldest is forgotten beyond this. */
const MAX_PEERS = 4096;
/** Room for the largest frame types we may meet (0x91 has an 18-byte header) around NP. */
const FRAME_DATA_MARGIN = 32;

/**
 * MQTT-SN over a Zigbee XBee module in API mode (FRAMING.md §2): 0x90 Receive Packet in,
 * 0x10 Transmit Request out, 0x8B Transmit Status reported as `delivery` events.
 */
export class XBeeTransport extends SerialTransportBase<XBeePeer> {
  readonly maxFrameSize: number;
  protected readonly decoder: StreamDecoder;
  private readonly mode: ApiMode;
  private readonly txTimeout: number;
  private readonly txOptions: number;
  private readonly defaultRadius: number;
  private readonly peers = new Map<string, MutablePeer>();
  private readonly pending = new Map<number, PendingTx>();
  private lastFrameId = 0;

  constructor(options: XBeeOptions) {
    super(options);
    this.mode = options.apiMode;
    this.maxFrameSize = options.maxFrameSize ?? 84;
    this.txTimeout = options.txStatusTimeoutMs ?? 5000;
    this.txOptions = options.transmitOptions ?? 0;
    this.defaultRadius = options.broadcastRadius ?? 0;
    this.decoder = createApiDecoder(this.mode, this.maxFrameSize + FRAME_DATA_MARGIN, this.sink);
  }

  override async close(): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await super.close();
  }

  send(peer: XBeePeer, frame: Buffer): Promise<void> {
    if (!(peer.addr64 instanceof Buffer) || peer.addr64.length !== 8) {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `peer ${peer.key} is not an XBee node`));
    }
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    if (!this.link.isOpen) return Promise.reject(this.sendError(TransportErrorCode.NOT_OPEN, 'device not open'));
    const known = this.peers.get(peer.key) ?? peer;
    const frameId = this.allocateFrameId();
    const bytes = encodeTransmitRequest(
      { frameId, dest64: known.addr64, dest16: known.addr16, radius: 0, options: this.txOptions, data: frame },
      this.mode,
    );
    const timer = setTimeout(() => this.txTimedOut(frameId), this.txTimeout);
    // A status still awaited must not keep a process alive that is otherwise done.
    timer.unref();
    this.pending.set(frameId, { peer: known, timer });
    return this.write(bytes, frame).catch((err: unknown) => {
      clearTimeout(timer);
      if (this.pending.get(frameId)?.timer === timer) this.pending.delete(frameId);
      throw err;
    });
  }

  /**
   * To every node: 64-bit `000000000000FFFF`, 16-bit `FFFE` (§2.7). Sent with frame id 0 (no
   * 0x8B), since a broadcast always reports success anyway (§2.6).
   */
  broadcast(frame: Buffer, radius = this.defaultRadius): Promise<void> {
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    const bytes = encodeTransmitRequest(
      { frameId: 0, dest64: BROADCAST_64, dest16: ADDR16_UNKNOWN, radius: radius & 0xff, options: this.txOptions, data: frame },
      this.mode,
    );
    return this.write(bytes, frame);
  }

  peerFromKey(key: string): XBeePeer | undefined {
    const known = this.peers.get(key);
    if (known) return known;
    const m = /^xbee:([0-9a-f]{16})$/.exec(key);
    if (!m) return undefined;
    return { key, addr64: Buffer.from(m[1]!, 'hex'), addr16: ADDR16_UNKNOWN };
  }

  protected onDecoded(fd: Buffer): void {
    switch (fd[0]) {
      case FrameType.RECEIVE_PACKET:
        this.onReceive(fd);
        return;
      case FrameType.TRANSMIT_STATUS:
        this.onTransmitStatus(fd);
        return;
      case FrameType.MODEM_STATUS:
        this.log.info({ transport: this.name, modemStatus: fd[1] }, 'XBee modem status');
        return;
      case FrameType.EXPLICIT_RX:
        this.drop('unsupported', { frameType: fd[0] }, 'XBee: explicit Rx (0x91) frame ignored; set the module to AO=0');
        return;
      case undefined: // an empty frame
      default:
        this.drop('unsupported', { frameType: fd[0] }, 'XBee: API frame type not used by the gateway ignored');
    }
  }

  /** 0x90 (§2.5): 64-bit source at 1, 16-bit source at 9, options at 11, RF data from 12. */
  private onReceive(fd: Buffer): void {
    if (fd.length <= RX_HEADER) {
      this.drop('malformed', { size: fd.length }, 'XBee: Receive Packet without data dropped');
      return;
    }
    const data = fd.subarray(RX_HEADER);
    if (data.length > this.maxFrameSize) {
      this.drop('oversize', { size: data.length, limit: this.maxFrameSize }, `XBee: received ${data.length} bytes, over the ${this.maxFrameSize}-byte limit; dropped`);
      return;
    }
    const key = 'xbee:' + fd.toString('hex', 1, 9);
    const addr16 = fd.readUInt16BE(9);
    let peer = this.peers.get(key);
    if (peer === undefined) {
      if (this.peers.size >= MAX_PEERS) this.peers.delete(this.peers.keys().next().value!);
      peer = { key, addr64: Buffer.from(fd.subarray(1, 9)), addr16 };
      this.peers.set(key, peer);
    } else {
      peer.addr16 = addr16;
    }
    if (this.refused(data, key)) return;
    // §2.5: option 0x02 is how SEARCHGW and broadcast GWINFO arrive.
    this.deliver(peer, data, (fd[11]! & RX_OPT_BROADCAST) !== 0);
  }

  /** 0x8B (§2.6): frame id 1, 16-bit address 2, retries 4, delivery status 5, discovery 6. */
  private onTransmitStatus(fd: Buffer): void {
    if (fd.length < 7) {
      this.drop('malformed', { size: fd.length }, 'XBee: short Transmit Status dropped');
      return;
    }
    const frameId = fd[1]!;
    const entry = this.pending.get(frameId);
    if (entry === undefined) {
      this.log.debug({ transport: this.name, frameId }, 'XBee: Transmit Status for no pending request');
      return;
    }
    clearTimeout(entry.timer);
    this.pending.delete(frameId);
    const status = fd[5]!;
    const retries = fd[4]!;
    const ok = status === 0;
    const addr16 = fd.readUInt16BE(2);
    const known = this.peers.get(entry.peer.key);
    // Zigbee reports the address it found; 0xFFFD means failure and 0xFFFE "reserved" (§2.6).
    if (ok && known && addr16 !== 0xfffd && addr16 !== ADDR16_UNKNOWN) known.addr16 = addr16;
    if (!ok) {
      this.counters.deliveryFailures++;
      this.limited.warn(
        'delivery',
        { transport: this.name, peer: entry.peer.key, status, retries },
        'XBee: transmit to node failed at the link layer',
      );
    }
    this.emitDelivery({ peer: entry.peer, ok, status, timedOut: false, retries });
  }

  private txTimedOut(frameId: number): void {
    const entry = this.pending.get(frameId);
    if (entry === undefined) return;
    this.pending.delete(frameId);
    this.counters.deliveryFailures++;
    this.limited.warn('delivery-timeout', { transport: this.name, peer: entry.peer.key, frameId }, 'XBee: no Transmit Status from the module in time');
    this.emitDelivery({ peer: entry.peer, ok: false, status: -1, timedOut: true, retries: 0 });
  }

  /**
   * 1..255, never 0: 0 asks the module for no status, which Paho's wrapping counter runs into
   * every 256th send (§2.8). Ids still awaiting a status are skipped; if all 255 are, the
   * oldest-allocated one is given up as timed out.
   */
  private allocateFrameId(): number {
    for (let n = 0; n < 255; n++) {
      this.lastFrameId = (this.lastFrameId % 255) + 1;
      if (!this.pending.has(this.lastFrameId)) return this.lastFrameId;
    }
    this.lastFrameId = (this.lastFrameId % 255) + 1;
    const entry = this.pending.get(this.lastFrameId);
    if (entry) {
      clearTimeout(entry.timer);
      this.txTimedOut(this.lastFrameId);
    }
    return this.lastFrameId;
  }
}
