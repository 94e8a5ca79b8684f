import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { RemoteInfo } from 'node:dgram';
import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import { TransportError, TransportErrorCode } from '../errors.js';
import { TransportBase, type BaseOptions } from './base.js';
import { decapsulate, encapsulate, ForwardedNodes, isEncapsulated, isForwarded, type ForwardedPeer } from './forwarder.js';
import { deviceNodeId, deviceOfNodeId, TrustedSources } from './front-end-address.js';
import type { Peer } from './types.js';

export interface UdpPeer extends Peer {
  readonly address: string;
  readonly port: number;
}

/** Where `broadcast()` sends (ADVERTISE, GWINFO): a broadcast address or a multicast group. */
export interface UdpAdvertiseOptions {
  /**
   * IP literal of the same family as the bound address (IPv6 may carry a `%zone`). A multicast
   * group (224.0.0.0/4, ff00::/8) is sent to with the options below; anything else with
   * SO_BROADCAST on (`255.255.255.255`, a subnet broadcast address, or in tests a loopback one).
   */
  address: string;
  port: number;
  /** multicast hops; default 1 (the local link) */
  ttl?: number;
  /** local interface address (IPv4) or scope (IPv6) for multicast; default: the OS's choice */
  interface?: string;
  /** receive our own multicast; default false */
  loopback?: boolean;
  /**
   * Join the multicast group on this socket so that SEARCHGW sent to the group is received;
   * default true when `address` is multicast and `port` is the bound port. Failure to join is
   * logged, not fatal.
   */
  join?: boolean;
}

export interface UdpOptions extends BaseOptions {
  /**
   * Address to bind; its family picks IPv4 or IPv6 (`0.0.0.0`, `::`, `127.0.0.1`, `::1`). A host
   * name is resolved once, at `open()`, to its first address.
   */
  host: string;
  /** port to bind; 0 picks a free one (see `address()`) */
  port: number;
  /**
   * For `::`, accept IPv6 only; default true, so that `0.0.0.0` and `::` can both be bound to
   * the same port as two transports and IPv4 clients never appear as `::ffff:` addresses.
   */
  ipv6Only?: boolean;
  /**
   * Largest datagram sent; default the UDP maximum: 65507 bytes over IPv4 (and for a host name),
   * 65527 over IPv6. Larger sends are rejected, never truncated. Datagrams received are taken
   * whatever their size: one that arrived is whole (the kernel delivers no partial datagram), and
   * refusing it would only leave its sender waiting for an answer that never comes.
   */
  maxFrameSize?: number;
  /**
   * Unwrap forwarder encapsulation (0xFE, MQTT-SN.md §2.7): each node behind a forwarder becomes
   * a peer of its own (`udp:<forwarder>/fwd:<node id hex>`) and is answered wrapped again.
   * Default true; false drops encapsulated datagrams, counted as `unsupported` and logged at info.
   */
  forwarder?: boolean;
  /**
   * Trusted front ends (src/frontend/): senders whose forwarder node ids carry the device's IP
   * address and port (front-end-address.ts). Such a device is the peer
   * `udp:<device address>:<port>/fe:<front end address>:<port>` whose `address` is the device's,
   * so allow-lists, per-address limits and logs see the device, and it is answered wrapped through
   * the front end. IP addresses, CIDR blocks or address:port; default none. Needs `forwarder`.
   */
  frontEnds?: readonly string[];
  /** without it, `broadcast()` rejects with `MQTTSN_ERR_BROADCAST_UNSUPPORTED` */
  advertise?: UdpAdvertiseOptions;
  /**
   * SO_RCVBUF asked for; default 4 MiB. A burst from thousands of sensors lands in this buffer
   * while the event loop is busy; the kernel caps it at net.core.rmem_max and drops what does not
   * fit (counted as RcvbufErrors in /proc/net/snmp).
   */
  receiveBufferBytes?: number;
  /** SO_SNDBUF asked for; default 1 MiB */
  sendBufferBytes?: number;
}

const UDP_MAX_V4 = 65507;
const UDP_MAX_V6 = 65527;

/** Who a UDP frame came from: a client at its own address, or a node behind a forwarder. */
export type UdpSource = UdpPeer | ForwardedPeer<UdpPeer>;

/**
 * MQTT-SN over UDP (IPv4 or IPv6): one datagram, one message; replies go to the sender's
 * address and port. Forwarder encapsulation is unwrapped here (not by a decorator) so that any
 * UDP port serves forwarders as well as clients. dgram-as-promised handles the lifecycle (bind,
 * close); the per-datagram path uses the plain `node:dgram` socket underneath, with no promise or
 * listener churn per packet.
 */
export class UdpTransport extends TransportBase<UdpSource> {
  readonly name: string;
  readonly maxFrameSize: number;
  private readonly acceptForwarded: boolean;
  private readonly nodes = new ForwardedNodes<UdpPeer>();
  private readonly frontEnds: TrustedSources;
  /** IP family of the socket; 0 until a host name has been resolved */
  private family: 0 | 4 | 6;
  private sap: SocketAsPromised | undefined;
  private opening: Promise<void> | undefined;

  constructor(private readonly options: UdpOptions) {
    super(options);
    this.family = ipFamily(options.host);
    this.name = `udp:${this.family === 6 ? `[${options.host}]` : options.host}:${options.port}`;
    this.maxFrameSize = options.maxFrameSize ?? (this.family === 6 ? UDP_MAX_V6 : UDP_MAX_V4);
    this.acceptForwarded = options.forwarder ?? true;
    this.frontEnds = new TrustedSources(options.frontEnds ?? []);
  }

  get behindFrontEnds(): boolean {
    return !this.frontEnds.empty;
  }

  /** The bound address; useful with port 0. */
  address(): { address: string; port: number } {
    if (!this.sap) throw new TransportError(TransportErrorCode.NOT_OPEN, `${this.name}: not open`);
    const a = this.sap.address();
    return { address: a.address, port: a.port };
  }

  open(): Promise<void> {
    if (this.sap) return Promise.resolve();
    this.opening ??= this.bind().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async bind(): Promise<void> {
    const { port, advertise } = this.options;
    let host = this.options.host;
    if (this.family === 0) {
      try {
        const found = await lookup(host);
        host = found.address;
        this.family = found.family === 6 ? 6 : 4;
      } catch (err) {
        throw this.openFailed(`cannot resolve host ${JSON.stringify(host)}: ${(err as Error).message}`, err);
      }
    }
    const v6 = this.family === 6;
    if (advertise && ipFamily(advertise.address) !== this.family) {
      throw this.openFailed(`advertise address ${advertise.address} is not of the IP family of ${host}`);
    }
    this.setState('opening');
    const sap = DgramAsPromised.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 && (this.options.ipv6Only ?? true) });
    const socket = sap.socket;
    socket.on('message', this.onMessage);
    socket.on('error', (err) => {
      this.limited.warn('socket-error', { transport: this.name, err: err.message }, 'UDP socket error');
      this.emitError(new TransportError(TransportErrorCode.SEND_FAILED, `${this.name}: ${err.message}`, { cause: err }));
    });
    try {
      await sap.bind(port, host);
      if (advertise) this.setUpBroadcast(sap, advertise);
      this.sizeBuffers(socket);
    } catch (err) {
      socket.off('message', this.onMessage);
      try {
        socket.close();
      } catch {
        // never bound: nothing to release
      }
      this.setState('closed');
      throw this.openFailed(`cannot bind or set up broadcast: ${(err as Error).message}`, err);
    }
    this.sap = sap;
    const bound = sap.address();
    this.log.info({ transport: this.name, address: bound.address, port: bound.port }, 'UDP transport listening');
    this.setState('open');
  }

  /** Asks for larger socket buffers; the kernel may grant less, which is logged, never fatal. */
  private sizeBuffers(socket: SocketAsPromised['socket']): void {
    const want = { receive: this.options.receiveBufferBytes ?? 4 * 1024 * 1024, send: this.options.sendBufferBytes ?? 1024 * 1024 };
    try {
      socket.setRecvBufferSize(want.receive);
      socket.setSendBufferSize(want.send);
    } catch (err) {
      this.log.debug({ transport: this.name, err: (err as Error).message }, 'socket buffer sizes not changed');
    }
    // Linux reports twice the size asked for (it counts bookkeeping); what matters is whether it was capped.
    this.log.debug({ transport: this.name, receiveBufferBytes: socket.getRecvBufferSize(), sendBufferBytes: socket.getSendBufferSize() }, 'UDP socket buffers');
  }

  async close(): Promise<void> {
    const sap = this.sap;
    if (!sap) return;
    this.sap = undefined;
    sap.socket.off('message', this.onMessage);
    await sap.close();
    this.setState('closed');
  }

  send(peer: UdpSource, frame: Buffer): Promise<void> {
    if (isForwarded(peer)) {
      const to = peer.forwarder;
      // Checked before wrapping so that the log names the client's frame, not the wrapped one.
      const tooBig = this.checkSize(frame, this.maxFrameSize - 3 - peer.nodeId.length);
      if (tooBig) return Promise.reject(tooBig);
      return this.sendTo(encapsulate(peer.nodeId, frame), to.port, to.address);
    }
    if (typeof peer.address !== 'string' || typeof peer.port !== 'number') {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `peer ${peer.key} is not a UDP peer`));
    }
    return this.sendTo(frame, peer.port, peer.address);
  }

  broadcast(frame: Buffer): Promise<void> {
    const b = this.options.advertise;
    if (!b) {
      // A capability answer, not a failure: callers ask once and stop, so nothing is logged or counted.
      return Promise.reject(new TransportError(TransportErrorCode.BROADCAST_UNSUPPORTED, `${this.name}: no advertise address configured`));
    }
    return this.sendTo(frame, b.port, b.address);
  }

  peerFromKey(key: string): UdpSource | undefined {
    const at = key.indexOf(FRONT_END);
    if (at >= 0) {
      // A front end may carry IPv6 devices to an IPv4 instance, and the other way round.
      const device = this.directPeerFromKey(key.slice(0, at), true);
      const frontEnd = this.directPeerFromKey(`udp:${key.slice(at + FRONT_END.length)}`);
      if (device === undefined || frontEnd === undefined || !this.frontEnds.trusts(frontEnd.address, frontEnd.port)) return undefined;
      return { key, address: device.address, forwarder: frontEnd, nodeId: deviceNodeId(device.address, device.port) };
    }
    const node = this.nodes.peerFromKey(key, (k) => this.directPeerFromKey(k));
    return node === 'plain' ? this.directPeerFromKey(key) : node;
  }

  private directPeerFromKey(key: string, anyFamily = false): UdpPeer | undefined {
    const m = /^udp:(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(key);
    if (!m) return undefined;
    const address = m[1] ?? m[2]!;
    const port = Number(m[3]);
    const family = ipFamily(address);
    if (port > 65535 || family === 0 || (!anyFamily && this.family !== 0 && family !== this.family)) return undefined;
    return { key, address, port };
  }

  private sendTo(frame: Buffer, port: number, address: string): Promise<void> {
    const sap = this.sap;
    if (!sap) return Promise.reject(this.sendError(TransportErrorCode.NOT_OPEN, 'socket not open'));
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void =>
        reject(this.sendError(TransportErrorCode.SEND_FAILED, `send to ${address}:${port} failed: ${err.message}`, { address, port }, err));
      try {
        sap.socket.send(frame, port, address, (err) => {
          if (err) failed(err);
          else {
            this.sent(frame);
            resolve();
          }
        });
      } catch (err) {
        // dgram throws synchronously on arguments it cannot use (a bad port, a closed socket).
        failed(err as Error);
      }
    });
  }

  // Each datagram arrives in a fresh Buffer from node:dgram, so it is handed on without a copy.
  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (msg.length === 0) {
      this.drop('malformed', { from: `${rinfo.address}:${rinfo.port}` }, 'UDP: empty datagram dropped');
      return;
    }
    const key = rinfo.family === 'IPv6' ? `udp:[${rinfo.address}]:${rinfo.port}` : `udp:${rinfo.address}:${rinfo.port}`;
    const peer: UdpPeer = { key, address: rinfo.address, port: rinfo.port };
    if (!isEncapsulated(msg)) {
      this.deliver(peer, msg, false);
      return;
    }
    if (!this.acceptForwarded) {
      this.drop(
        'unsupported',
        { from: `${rinfo.address}:${rinfo.port}`, head: msg.subarray(0, 8).toString('hex') },
        'UDP: forwarder-encapsulated datagram refused ("forwarder": false on this transport)',
        'info',
      );
      return;
    }
    if (!this.frontEnds.empty && this.frontEnds.trusts(rinfo.address, rinfo.port) && this.fromFrontEnd(peer, msg)) return;
    const u = this.nodes.unwrap(peer, msg);
    if (u.kind === 'forwarded') this.deliver(u.peer, u.message, false, msg.length);
    else this.drop('malformed', { from: `${rinfo.address}:${rinfo.port}`, head: msg.subarray(0, 8).toString('hex') }, 'UDP: malformed forwarder encapsulation dropped');
  };

  /**
   * A frame a trusted front end wrapped: the node id is the device's address, which becomes the
   * peer's key and address. False when the node id is not one (it is then read as opaque).
   */
  private fromFrontEnd(frontEnd: UdpPeer, msg: Buffer): boolean {
    const parts = decapsulate(msg);
    if (parts == null) return false;
    const device = deviceOfNodeId(parts.nodeId);
    if (device === undefined) return false;
    const key = `${udpKey(device.address, device.port)}${FRONT_END}${frontEnd.key.slice(4)}`;
    // The node id is copied: peers live as long as sessions, datagrams should not.
    const peer: ForwardedPeer<UdpPeer> = { key, address: device.address, forwarder: frontEnd, nodeId: Buffer.from(parts.nodeId) };
    this.deliver(peer, parts.message, false, msg.length);
    return true;
  }

  private setUpBroadcast(sap: SocketAsPromised, b: UdpAdvertiseOptions): void {
    if (isMulticast(b.address)) {
      sap.setMulticastTTL(b.ttl ?? 1);
      sap.setMulticastLoopback(b.loopback ?? false);
      if (b.interface !== undefined) sap.setMulticastInterface(b.interface);
      if (b.join ?? b.port === sap.address().port) {
        try {
          sap.addMembership(b.address, b.interface);
        } catch (err) {
          this.log.warn({ transport: this.name, group: b.address, err: (err as Error).message }, 'UDP: cannot join multicast group; SEARCHGW sent to it will not be heard');
        }
      }
    } else {
      sap.setBroadcast(true);
    }
  }

  private openFailed(msg: string, cause?: unknown): TransportError {
    return new TransportError(TransportErrorCode.OPEN_FAILED, `${this.name}: ${msg}`, cause === undefined ? undefined : { cause });
  }
}

/** 4 or 6 for an IP literal (IPv6 possibly with a `%zone`), 0 for a host name. */
function ipFamily(host: string): 0 | 4 | 6 {
  const f = isIP(host);
  return f === 4 || f === 6 ? f : 0;
}

function isMulticast(address: string): boolean {
  if (ipFamily(address) === 6) return address.toLowerCase().startsWith('ff');
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** Between a device's address and its front end's in the key of a device behind a trusted front end. */
const FRONT_END = '/fe:';

function udpKey(address: string, port: number): string {
  return ipFamily(address) === 6 ? `udp:[${address}]:${port}` : `udp:${address}:${port}`;
}

/** A peer for an address and port, e.g. to reach a gateway from a client-side transport. */
export function udpPeer(address: string, port: number): UdpPeer {
  return { key: udpKey(address, port), address, port };
}
