/**
 * Forwarder encapsulation (MQTT-SN.md §2.7) as a decorator over any transport: frames a
 * forwarder wrapped are unwrapped and attributed to a peer made of the forwarder and the
 * wireless node id; replies to such a peer are wrapped again with the same node id and sent to
 * the forwarder. Frames that are not encapsulated pass through with their own peer, so nodes
 * that reach the gateway directly share the medium with forwarded ones.
 *
 * ```
 *  0        1       2      3 .. 3+k-1          3+k ..
 * +--------+------+------+-------------------+--------------------------+
 * | Length | 0xFE | Ctrl | Wireless Node Id  | complete MQTT-SN message |
 * +--------+------+------+-------------------+--------------------------+
 *   Length = 3 + k, always 1 byte; Ctrl bits 1-0 = broadcast radius
 * ```
 *
 * The wrap and unwrap are done here rather than with the codec: they are framing, and this
 * layer imports nothing of the codec (DESIGN.md).
 */
import { TransportBase, type BaseOptions } from './base.js';
import { ENCAPSULATED } from './frame-length.js';
import type { Peer, Transport, TransportState, TransportStats } from './types.js';

/** Forwarded nodes remembered for a stable peer object; the oldest is forgotten beyond this. */
const MAX_NODES = 4096;
const SEPARATOR = '/fwd:';

export interface ForwardedPeer<P extends Peer = Peer> extends Peer {
  /** the forwarder, a peer of the wrapped transport */
  readonly forwarder: P;
  /** the client's address on the forwarder's side, opaque (MQTT-SN.md §2.7) */
  readonly nodeId: Buffer;
  /**
   * The forwarder's network address (`forwarder.address ?? forwarder.key`): per-address limits
   * count a forwarder as one address, so node ids a sender makes up cannot escape them. Behind a
   * trusted front end (UDP `frontEnds`), the device's own IP address, which the node id carries.
   */
  readonly address: string;
}

export function isForwarded<P extends Peer>(peer: P | ForwardedPeer<P>): peer is ForwardedPeer<P> {
  return 'forwarder' in peer && 'nodeId' in peer;
}

/** Wraps `message` for the node `nodeId` behind a forwarder. */
export function encapsulate(nodeId: Buffer, message: Buffer, radius = 0): Buffer {
  const header = 3 + nodeId.length;
  if (header > 0xff) throw new RangeError(`wireless node id of ${nodeId.length} bytes cannot be encapsulated`);
  const out = Buffer.allocUnsafe(header + message.length);
  out[0] = header;
  out[1] = ENCAPSULATED;
  // Bits 7-2 of Ctrl are reserved: 0.
  out[2] = radius & 0x03;
  nodeId.copy(out, 3);
  message.copy(out, header);
  return out;
}

export interface Decapsulated {
  radius: number;
  /** view into the frame */
  nodeId: Buffer;
  /** view into the frame */
  message: Buffer;
}

/**
 * True when the frame is a 1.2 forwarder encapsulation, well-formed or not (cheap: three numbers
 * looked at). MsgType 0xFE is also MQTT-SN 2.0's Connection Encapsulation (MQTT-SN 2.0 §3.18);
 * the two differ in what Length counts: the 1.2 forwarder's its own header only, so it is less
 * than the datagram, 2.0's the whole packet, so it equals it (MQTT-SN-2.0.md §7, AMBIG-2). A 2.0
 * one is no forwarder frame: it goes up whole, for the gateway to read. The codec's demultiplexer
 * applies the same rule, but this layer imports nothing of the codec (DESIGN.md), so the three
 * comparisons are made here again.
 */
export function isEncapsulated(frame: Buffer): boolean {
  // A first byte of 0x01 is a 3-byte Length, which a 1.2 encapsulation never uses (MQTT-SN 1.2 §5.5).
  return frame.length >= 2 && frame[1] === ENCAPSULATED && frame[0] !== 0x01 && frame[0] !== frame.length;
}

/**
 * The parts of an encapsulated frame; `undefined` when the frame is not a 1.2 forwarder
 * encapsulation (a 2.0 Connection Encapsulation included), `null` when it is but is malformed
 * (MQTT-SN.md §7: Length < 3, nothing after the header, or a 1.2 encapsulation inside one).
 * Whatever else is inside, a 2.0 packet included, is handed on intact.
 */
export function decapsulate(frame: Buffer): Decapsulated | null | undefined {
  if (!isEncapsulated(frame)) return undefined;
  const header = frame[0]!;
  if (header < 3 || header >= frame.length) return null;
  const message = frame.subarray(header);
  // A 2.0 Connection Encapsulation inside is a device's own packet; only 1.2 nesting is undefined.
  if (isEncapsulated(message)) return null;
  return { radius: frame[2]! & 0x03, nodeId: frame.subarray(3, header), message };
}

/** What {@link ForwardedNodes.unwrap} makes of a frame. */
export type Unwrapped<P extends Peer> =
  /** not encapsulated: the frame as it came */
  | { kind: 'plain' }
  | { kind: 'forwarded'; peer: ForwardedPeer<P>; message: Buffer }
  /** encapsulated, but broken (MQTT-SN.md §7) */
  | { kind: 'malformed' };

/**
 * The nodes behind forwarders on one medium: one stable peer per forwarder and wireless node id,
 * so that each keeps its own session and identity (key `<forwarder key>/fwd:<node id hex>`).
 * Shared by the {@link ForwarderTransport} decorator and the UDP adapter, which unwraps by itself.
 */
export class ForwardedNodes<P extends Peer> {
  private readonly nodes = new Map<string, { key: string; forwarder: P; nodeId: Buffer; address: string }>();

  unwrap(from: P, frame: Buffer): Unwrapped<P> {
    const parts = decapsulate(frame);
    if (parts === undefined) return { kind: 'plain' };
    if (parts === null) return { kind: 'malformed' };
    const key = from.key + SEPARATOR + frame.toString('hex', 3, frame[0]);
    let node = this.nodes.get(key);
    if (node === undefined) {
      if (this.nodes.size >= MAX_NODES) this.nodes.delete(this.nodes.keys().next().value!);
      // A copy: peers live as long as sessions, frames should not.
      node = { key, forwarder: from, nodeId: Buffer.from(parts.nodeId), address: from.address ?? from.key };
      this.nodes.set(key, node);
    } else {
      // The forwarder's own peer object may be new each time (UDP); keep the latest.
      node.forwarder = from;
    }
    return { kind: 'forwarded', peer: node, message: parts.message };
  }

  /** The node a key names, `undefined` if it names none; `plain` when the key is not a forwarded one. */
  peerFromKey(key: string, forwarderFromKey: (key: string) => P | undefined): ForwardedPeer<P> | undefined | 'plain' {
    const at = key.lastIndexOf(SEPARATOR);
    if (at < 0) return 'plain';
    const hex = key.slice(at + SEPARATOR.length);
    const forwarder = forwarderFromKey(key.slice(0, at));
    if (forwarder === undefined || !/^(?:[0-9a-f]{2})*$/.test(hex)) return undefined;
    return this.nodes.get(key) ?? { key, forwarder, nodeId: Buffer.from(hex, 'hex'), address: forwarder.address ?? forwarder.key };
  }
}

export type ForwarderOptions = BaseOptions;

/** Decorates `inner` with forwarder encapsulation; enabled per transport by `"forwarder": true` (UDP unwraps by itself). */
export class ForwarderTransport<P extends Peer = Peer> extends TransportBase<P | ForwardedPeer<P>> {
  readonly name: string;
  readonly maxFrameSize: number;
  private readonly nodes = new ForwardedNodes<P>();

  constructor(
    readonly inner: Transport<P>,
    options: ForwarderOptions = {},
  ) {
    super(options);
    this.name = inner.name;
    this.maxFrameSize = inner.maxFrameSize;
    inner.on('frame', (peer, frame, broadcast) => this.onInnerFrame(peer, frame, broadcast));
    inner.on('status', (e) => this.setState(e.state, e));
    inner.on('delivery', (report) => this.emitDelivery(report));
    inner.on('error', (err) => this.emitError(err));
  }

  override get state(): TransportState {
    return this.inner.state;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  send(peer: P | ForwardedPeer<P>, frame: Buffer): Promise<void> {
    if (!isForwarded(peer)) return this.inner.send(peer, frame);
    const header = 3 + peer.nodeId.length;
    // Checked here so that the log names the client's frame, not the wrapped one.
    const tooBig = this.checkSize(frame, this.inner.maxFrameSize - header);
    if (tooBig) return Promise.reject(tooBig);
    return this.inner.send(peer.forwarder, encapsulate(peer.nodeId, frame));
  }

  /**
   * Broadcasts on the wrapped medium as is: MQTT-SN 1.2 gives a gateway no way to address "all
   * nodes behind a forwarder", and a forwarder hears the medium's broadcast like any node.
   */
  broadcast(frame: Buffer, radius?: number): Promise<void> {
    return this.inner.broadcast(frame, radius);
  }

  peerFromKey(key: string): P | ForwardedPeer<P> | undefined {
    const node = this.nodes.peerFromKey(key, (k) => this.inner.peerFromKey(k));
    return node === 'plain' ? this.inner.peerFromKey(key) : node;
  }

  /** The medium's counters (frames and bytes as wrapped), plus this wrapper's drops and refusals. */
  override stats(): TransportStats {
    const s = this.inner.stats();
    for (const [reason, n] of Object.entries(this.counters.dropped)) s.dropped[reason as keyof TransportStats['dropped']] += n;
    s.sendErrors += this.counters.sendErrors;
    return s;
  }

  private onInnerFrame(peer: P, frame: Buffer, broadcast: boolean): void {
    const u = this.nodes.unwrap(peer, frame);
    if (u.kind === 'plain') this.deliver(peer, frame, broadcast);
    else if (u.kind === 'forwarded') this.deliver(u.peer, u.message, broadcast);
    else this.drop('malformed', { peer: peer.key, head: frame.subarray(0, 8).toString('hex') }, 'forwarder: malformed encapsulation dropped');
  }
}
