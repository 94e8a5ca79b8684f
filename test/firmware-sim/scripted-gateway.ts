/**
 * The gateway side of the simulator's tests: a UDP socket on 127.0.0.1 (or ::1) that decodes
 * what nodes send with the project's codec and lets a test answer packet by packet. Every
 * packet is queued; `next` takes the first of the wanted types and leaves the others.
 */
import dgram from 'node:dgram';
import { decode, DecodeError, encode, type Packet, type PacketOf, type PacketType } from '../../src/codec/index.js';

export interface Received<P extends Packet = Packet> {
  packet: P;
  frame: Buffer;
  from: { address: string; port: number };
  /** `address:port`, the peer key */
  peer: string;
}

export class ScriptedGateway {
  readonly socket: dgram.Socket;
  readonly host: string;
  port = 0;
  /** everything received, in order (decoded packets and decode errors) */
  readonly log: Array<Received | { error: DecodeError; frame: Buffer; peer: string }> = [];
  /** runs first for each packet; return true when it handled the packet (it is then not queued) */
  auto: ((r: Received) => boolean) | undefined;
  readonly #queue: Received[] = [];
  #waiters: Array<{ types: PacketType[] | undefined; resolve: (r: Received) => void }> = [];

  private constructor(host: string) {
    this.host = host;
    this.socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('message', (frame, rinfo) => this.#onMessage(frame, rinfo));
  }

  static async start(host = '127.0.0.1'): Promise<ScriptedGateway> {
    const gw = new ScriptedGateway(host);
    await new Promise<void>((resolve) => gw.socket.bind(0, host, resolve));
    gw.port = gw.socket.address().port;
    // Load tests send thousands of datagrams at once; the default buffer drops most of them.
    try {
      gw.socket.setRecvBufferSize(4 * 1024 * 1024);
      gw.socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      /* capped by the kernel: fewer datagrams survive a burst */
    }
    return gw;
  }

  get url(): string {
    return this.host.includes(':') ? `udp://[${this.host}]:${this.port}` : `udp://${this.host}:${this.port}`;
  }

  #onMessage(frame: Buffer, rinfo: dgram.RemoteInfo): void {
    const peer = `${rinfo.address}:${rinfo.port}`;
    const packet = decode(frame);
    if (packet instanceof DecodeError) {
      this.log.push({ error: packet, frame, peer });
      return;
    }
    const r: Received = { packet, frame, from: { address: rinfo.address, port: rinfo.port }, peer };
    this.log.push(r);
    if (this.auto?.(r) === true) return;
    const i = this.#waiters.findIndex((w) => w.types === undefined || w.types.includes(packet.type));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(r);
      return;
    }
    this.#queue.push(r);
  }

  /** The next packet of one of `types` (any type when omitted); rejects after `timeoutMs`. */
  next<T extends PacketType>(types?: T | T[], timeoutMs = 3000): Promise<Received<PacketOf<T>>> {
    const list = types === undefined ? undefined : Array.isArray(types) ? types : [types];
    const i = this.#queue.findIndex((r) => list === undefined || list.includes(r.packet.type as T));
    if (i >= 0) {
      const [r] = this.#queue.splice(i, 1);
      return Promise.resolve(r as Received<PacketOf<T>>);
    }
    return new Promise((resolve, reject) => {
      const waiter = { types: list as PacketType[] | undefined, resolve: resolve as (r: Received) => void };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${list?.join('/') ?? 'packet'} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter.resolve = (r) => {
        clearTimeout(timer);
        resolve(r as Received<PacketOf<T>>);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves true if a packet of `types` arrives within `ms`, false otherwise (it stays queued). */
  async quiet(types: PacketType | PacketType[], ms: number): Promise<boolean> {
    const list = Array.isArray(types) ? types : [types];
    await new Promise((r) => setTimeout(r, ms));
    return !this.#queue.some((r) => list.includes(r.packet.type));
  }

  /** Forgets queued packets (between tests). */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Packets waiting in the queue (not yet taken by `next`). */
  pending(): Packet[] {
    return this.#queue.map((r) => r.packet);
  }

  send(to: { address: string; port: number } | Received, packet: Packet): Promise<void> {
    const dest = 'from' in to ? to.from : to;
    return this.sendRaw(dest, encode(packet));
  }

  sendRaw(to: { address: string; port: number }, frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(frame, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
