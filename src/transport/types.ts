/**
 * The transport contract: a medium turned into `(peer, frame)` events, and frames sent back to a
 * peer. A transport knows framing (datagrams, SLIP, XBee API, forwarder encapsulation) and
 * addressing, never MQTT-SN semantics (DESIGN.md, "Data flow").
 *
 * ```
 *   medium bytes ──► [framer] ──► on('frame', (peer, frame, broadcast) => ...)
 *   send(peer, frame) / broadcast(frame) ──► [framer] ──► medium bytes
 * ```
 */
import type { TransportError } from '../errors.js';

/**
 * Who sent a frame, and what the adapter needs to answer it. `key` is stable for the life of the
 * remote endpoint and unique across the media of one gateway, so sessions can be keyed on it:
 *
 * | adapter | key |
 * | --- | --- |
 * | UDP | `udp:127.0.0.1:40001`, `udp:[::1]:40001` |
 * | serial SLIP | `serial:/dev/ttyUSB0` (the line is the peer) |
 * | XBee API | `xbee:0013a20040a1b2c3` (64-bit source address) |
 * | forwarder | `<forwarder key>/fwd:<wireless node id hex>` |
 * | memory | `mem:<client id>` |
 *
 * Adapters extend it with their reply information (address and port, 64-bit address, ...).
 * Treat peers as opaque: hand back to `send` only a peer that the same transport produced (or
 * that its `peerFromKey` returned).
 */
export interface Peer {
  readonly key: string;
  /**
   * The sender's network address without the parts a sender picks freely: for UDP the IP
   * address without the source port. Absent where the key is already that (a serial line, an
   * XBee node, a node behind a forwarder). Per-address limits key on `address ?? key`, so one
   * host cannot escape them by changing its source port.
   */
  readonly address?: string;
}

/**
 * Lifecycle of a transport. `reopening` means the medium was lost (USB unplugged) or could not be
 * opened, and the adapter is retrying with backoff; it is not a failure of the gateway.
 */
export type TransportState = 'closed' | 'opening' | 'open' | 'reopening';

export interface StatusEvent {
  state: TransportState;
  /** why the medium was lost or could not be opened (with `reopening`) */
  error?: Error;
  /** with `reopening`: the number of the next attempt (1 = first retry) */
  attempt?: number;
  /** with `reopening`: delay before the next attempt */
  retryInMs?: number;
}

/**
 * A link-layer delivery report. Only media that have one produce it (XBee 0x8B Transmit Status,
 * FRAMING.md §2.6). `ok` is link-layer delivery, **not** an MQTT-SN acknowledgement: T_RETRY and
 * N_RETRY still apply. A gateway may use failures to detect a lost client early (§2.7).
 */
export interface DeliveryReport<P extends Peer = Peer> {
  peer: P;
  ok: boolean;
  /** XBee delivery status byte (0x00 success, 0x21 network ACK failure, ...); -1 on timeout */
  status: number;
  /** true when no status arrived within the adapter's timeout */
  timedOut: boolean;
  /** transmit retry count reported by the radio (0 on timeout) */
  retries: number;
}

/** Event listeners of a transport. Listeners run synchronously; a throwing listener is logged, never crashes the adapter. */
export interface TransportEvents<P extends Peer = Peer> {
  /**
   * One de-framed MQTT-SN message. `frame` is a Buffer of its own (never reused by the adapter),
   * so the codec may return views into it and the gateway may keep them. `broadcast` is true
   * when the medium says the frame was sent to everyone (XBee receive option 0x02, memory
   * client broadcast); SEARCHGW usually arrives that way.
   */
  frame: (peer: P, frame: Buffer, broadcast: boolean) => void;
  /** lifecycle changes; see {@link TransportState} */
  status: (event: StatusEvent) => void;
  /** link-layer delivery reports (XBee only) */
  delivery: (report: DeliveryReport<P>) => void;
  /**
   * Non-fatal medium errors worth surfacing beyond a log line (socket errors, a serial port
   * error while open). Never thrown; with no listener they are only logged.
   */
  error: (error: TransportError) => void;
}

/** Why received bytes were thrown away. Every adapter reports all of them (zero when n/a). */
export type FrameDropReason =
  /** a frame longer than the medium allows (FRAMING.md §1.3, §2.7) */
  | 'oversize'
  /** bytes outside any frame (serial noise), counted per run of bytes */
  | 'garbage'
  /** an XBee frame whose checksum does not verify (FRAMING.md §2.2) */
  | 'badChecksum'
  /** a frame cut short: a new start seen mid-frame, the line idle mid-frame, or the device lost */
  | 'truncated'
  /** a frame with a broken structure: bad escape, length field that disagrees, bad encapsulation */
  | 'malformed'
  /** a well-formed frame of a kind this gateway does not use (an XBee AT response), or refused by config (0xFE with `"forwarder": false`) */
  | 'unsupported';

export const FRAME_DROP_REASONS: readonly FrameDropReason[] = [
  'oversize',
  'garbage',
  'badChecksum',
  'truncated',
  'malformed',
  'unsupported',
];

/** Plain counters, cheap to keep and to export as metrics. `stats()` returns a snapshot. */
export interface TransportStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: Record<FrameDropReason, number>;
  /** send/broadcast calls that were rejected (too large, not open, medium error) */
  sendErrors: number;
  /** link-layer delivery failures and status timeouts (XBee) */
  deliveryFailures: number;
  /** times an open medium was lost (serial) */
  disconnects: number;
  /** frames not written because the line's write buffer was full (serial: the device reads slower than we send) */
  shed: number;
}

/**
 * A transport adapter. Create with {@link createTransport} or an adapter's constructor, then
 * `open()`; listen with `on`. All methods are safe to call in any state: nothing here throws
 * asynchronously or leaves a promise rejection unhandled by itself.
 */
export interface Transport<P extends Peer = Peer> {
  /** for logs and metrics, e.g. `udp:0.0.0.0:1884`, `serial:/dev/ttyUSB0` */
  readonly name: string;
  /**
   * Largest MQTT-SN message, in bytes, that this medium carries: larger sends are rejected. Stream
   * media (serial) also drop larger incoming frames; UDP takes any datagram that arrived whole.
   */
  readonly maxFrameSize: number;
  readonly state: TransportState;
  /**
   * Binds or opens the medium. UDP rejects (`MQTTSN_ERR_OPEN_FAILED`) when the address cannot be
   * bound. Serial adapters resolve after the first attempt even when the device is absent: they
   * then report `reopening` and keep retrying, so the rest of the gateway can start.
   */
  open(): Promise<void>;
  /** Stops retries and timers and releases the medium. Idempotent. */
  close(): Promise<void>;
  /**
   * Sends one frame to a peer. Resolves when the medium accepted the bytes (datagram handed to
   * the kernel, bytes written to the port). Like `node:dgram`, an adapter may read `frame` until
   * then: do not write into it before the promise settles. Rejects with a `TransportError`:
   * `MQTTSN_ERR_FRAME_TOO_LARGE` (never truncated), `MQTTSN_ERR_NOT_OPEN`,
   * `MQTTSN_ERR_UNKNOWN_PEER`, `MQTTSN_ERR_SEND_FAILED`.
   */
  send(peer: P, frame: Buffer): Promise<void>;
  /**
   * Sends one frame to every node the medium reaches (ADVERTISE, GWINFO). `radius` is the
   * MQTT-SN broadcast radius where the medium has hops (XBee), ignored elsewhere. Rejects with
   * `MQTTSN_ERR_BROADCAST_UNSUPPORTED` when the medium or its configuration has no broadcast.
   */
  broadcast(frame: Buffer, radius?: number): Promise<void>;
  /**
   * The peer a key stands for, when the key alone says how to reach it (UDP, XBee, the serial
   * line, a connected memory client); used to reach a client again after a restart.
   */
  peerFromKey(key: string): P | undefined;
  /**
   * Its devices come through front ends (UDP `frontEnds`) that spread them over several gateway
   * instances: a device known here may be served by another instance now. Absent: false.
   */
  readonly behindFrontEnds?: boolean;
  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof TransportEvents<P>>(event: E, listener: TransportEvents<P>[E]): () => void;
  stats(): TransportStats;
}
