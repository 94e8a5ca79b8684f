/**
 * A node's UDP link: its own socket, so that every simulated node is a distinct peer (address
 * and source port) to the gateway, as real devices are.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { SimError, SimErrorCode } from '../errors.js';
import type { Link, UdpAddress } from '../link.js';

export interface UdpLinkOptions {
  /** where `send` goes; may be left out when the gateway is found by SEARCHGW (`search`) */
  gateway?: UdpAddress;
  /** where SEARCHGW goes: a broadcast or multicast address, or any gateway's unicast address */
  search?: UdpAddress;
  /** local address to bind; default loopback for a loopback gateway, else the wildcard of its family; port 0 */
  bindHost?: string;
  bindPort?: number;
  /**
   * Connect the socket to the gateway: the kernel then drops datagrams from anyone else and
   * `send` skips the address lookup. The load generator uses it; discovery cannot.
   */
  connect?: boolean;
  /** SO_RCVBUF / SO_SNDBUF in bytes; the kernel caps them (net.core.rmem_max / wmem_max) */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** multicast hops for SEARCHGW to a multicast group; default 1 */
  multicastTtl?: number;
}

interface Target {
  host: string;
  port: number;
}

const key = (t: Target): string => (t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

function parseKey(from: string): Target | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(from);
  if (!m) return undefined;
  return { host: m[1]!, port: Number(m[2]) };
}

/** A gateway on loopback is reached from loopback: the node then listens on nothing else. */
function defaultBind(target: Target | undefined, family: 4 | 6): string {
  if (target?.host === '::1' || target?.host.startsWith('127.') === true) return target.host === '::1' ? '::1' : '127.0.0.1';
  return family === 6 ? '::' : '0.0.0.0';
}

async function resolve(a: UdpAddress): Promise<Target & { family: 4 | 6 }> {
  if (a.family !== undefined) return { host: a.host, port: a.port, family: a.family };
  const r = await lookup(a.host);
  return { host: r.address, port: a.port, family: r.family === 6 ? 6 : 4 };
}

export class UdpLink implements Link {
  #socket: dgram.Socket;
  #gateway: Target | undefined;
  #search: Target | undefined;
  #connected: boolean;
  #cb: ((frame: Buffer, from?: string) => void) | undefined;
  #closed = false;
  #local = '';

  private constructor(socket: dgram.Socket, gateway: Target | undefined, search: Target | undefined, connected: boolean) {
    this.#socket = socket;
    this.#gateway = gateway;
    this.#search = search;
    this.#connected = connected;
    socket.on('message', (msg, rinfo) => {
      const cb = this.#cb;
      if (cb) cb(msg, key({ host: rinfo.address, port: rinfo.port }));
    });
    // A send to a closed port comes back as ECONNREFUSED on a connected socket; a lost
    // datagram is what the node's retransmission is for, so errors are not fatal here.
    socket.on('error', () => {});
  }

  /** Binds a new socket; rejects with `SIM_ERR_LINK` (EMFILE: raise `ulimit -n`). */
  static async open(options: UdpLinkOptions): Promise<UdpLink> {
    const gw = options.gateway ? await resolve(options.gateway) : undefined;
    const search = options.search ? await resolve(options.search) : undefined;
    const family = gw?.family ?? search?.family ?? 4;
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((res, rej) => {
        socket.once('error', rej);
        socket.bind({ address: options.bindHost ?? defaultBind(gw ?? search, family), port: options.bindPort ?? 0, exclusive: true }, () => {
          socket.off('error', rej);
          res();
        });
      });
      if (options.connect === true && gw) {
        await new Promise<void>((res, rej) => {
          socket.once('error', rej);
          socket.connect(gw.port, gw.host, () => {
            socket.off('error', rej);
            res();
          });
        });
      }
    } catch (err) {
      socket.close();
      const e = err as NodeJS.ErrnoException;
      const hint = e.code === 'EMFILE' ? ' (too many open files: raise `ulimit -n`)' : '';
      throw new SimError(SimErrorCode.LINK, `cannot open a UDP socket: ${e.message}${hint}`, { cause: err });
    }
    // Best effort: the kernel caps the sizes, and some platforms refuse; a smaller buffer only
    // costs drops under load, which the report shows.
    try {
      if (options.recvBufferSize) socket.setRecvBufferSize(options.recvBufferSize);
      if (options.sendBufferSize) socket.setSendBufferSize(options.sendBufferSize);
    } catch {
      /* keep the defaults */
    }
    if (search) {
      try {
        socket.setBroadcast(true);
        socket.setMulticastTTL(options.multicastTtl ?? 1);
      } catch {
        /* unicast search still works */
      }
    }
    const link = new UdpLink(socket, gw, search, options.connect === true && gw !== undefined);
    const a = socket.address();
    link.#local = key({ host: a.address, port: a.port });
    return link;
  }

  get name(): string {
    return `udp:${this.#local}->${this.#gateway ? key(this.#gateway) : '?'}`;
  }

  /** the local `host:port` of this node's socket (what the gateway sees as the peer) */
  get localAddress(): string {
    return this.#local;
  }

  send(frame: Buffer): Promise<void> {
    const gw = this.#gateway;
    if (this.#closed) return Promise.reject(new SimError(SimErrorCode.CLOSED, 'link closed'));
    if (!gw) return Promise.reject(new SimError(SimErrorCode.NO_GATEWAY, 'no gateway address: search first'));
    return new Promise((res, rej) => {
      const done = (err: Error | null): void => {
        if (err) rej(new SimError(SimErrorCode.LINK, `UDP send failed: ${err.message}`, { cause: err }));
        else res();
      };
      if (this.#connected) this.#socket.send(frame, done);
      else this.#socket.send(frame, gw.port, gw.host, done);
    });
  }

  broadcast(frame: Buffer): Promise<void> {
    const target = this.#search ?? this.#gateway;
    if (this.#closed) return Promise.reject(new SimError(SimErrorCode.CLOSED, 'link closed'));
    if (!target) return Promise.reject(new SimError(SimErrorCode.NO_GATEWAY, 'no search address'));
    if (this.#connected) return this.send(frame);
    return new Promise((res, rej) => {
      this.#socket.send(frame, target.port, target.host, (err) => {
        if (err) rej(new SimError(SimErrorCode.LINK, `UDP broadcast failed: ${err.message}`, { cause: err }));
        else res();
      });
    });
  }

  useGateway(from: string): void {
    const t = parseKey(from);
    if (t && !this.#connected) this.#gateway = t;
  }

  onFrame(cb: (frame: Buffer, from?: string) => void): void {
    this.#cb = cb;
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#cb = undefined;
    return new Promise((res) => this.#socket.close(() => res()));
  }
}
