/**
 * The gateway side of the simulator's tests: a UDP socket on 127.0.0.1 (or ::1) that decodes
 * what nodes send with the project's codec of one version (1.2 by default, 2.0 with `codec2`) and
 * lets a test answer packet by packet. Every packet is queued; `next` takes the first of the
 * wanted types and leaves the others.
 */
import dgram from 'node:dgram';
import { decode, DecodeError, encode, v2, type Packet } from '../../src/codec/index.js';
import { expectNothing } from '../helpers/wait.js';

type AnyPacket = { type: string };

/** One version's codec as the scripted gateway uses it. */
export interface GatewayCodec<P extends AnyPacket> {
  decode(frame: Buffer): P | DecodeError;
  encode(p: P): Buffer;
  /** a frame no node sends, to mark a point in a node's stream (see `expectNone`) */
  marker(n: number): Buffer;
}

export const codec12: GatewayCodec<Packet> = { decode, encode, marker: (n) => encode({ type: 'ADVERTISE', gwId: 0xfe, duration: n }) };
export const codec2: GatewayCodec<v2.Packet> = {
  decode: (f) => v2.decode(f),
  encode: (p) => v2.encode(p),
  marker: (n) => v2.encode({ type: 'ADVERTISE', gatewayId: 0xfe, duration: n }),
};

export interface Received<P extends AnyPacket = Packet> {
  packet: P;
  frame: Buffer;
  from: { address: string; port: number };
  /** `address:port`, the peer key */
  peer: string;
}

/** A node whose link can carry a marker frame (a `SimNode`). */
export interface MarkerSender {
  link: { send(frame: Buffer): void | Promise<void> };
}

export class ScriptedGateway<P extends AnyPacket = Packet> {
  readonly socket: dgram.Socket;
  readonly host: string;
  readonly codec: GatewayCodec<P>;
  port = 0;
  /** everything received, in order (decoded packets and decode errors) */
  readonly log: Array<Received<P> | { error: DecodeError; frame: Buffer; peer: string }> = [];
  /** runs first for each packet; return true when it handled the packet (it is then not queued) */
  auto: ((r: Received<P>) => boolean) | undefined;
  readonly #queue: Received<P>[] = [];
  #waiters: Array<{ types: string[] | undefined; resolve: (r: Received<P>) => void }> = [];
  /** markers on their way, by frame (hex): taken here, never queued or logged */
  readonly #awaited = new Map<string, () => void>();
  #markers = 0;

  private constructor(host: string, codec: GatewayCodec<P>) {
    this.host = host;
    this.codec = codec;
    this.socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('message', (frame, rinfo) => this.#onMessage(frame, rinfo));
  }

  static start(host?: string): Promise<ScriptedGateway>;
  static start<Q extends AnyPacket>(host: string, codec: GatewayCodec<Q>): Promise<ScriptedGateway<Q>>;
  static async start<Q extends AnyPacket>(host = '127.0.0.1', codec?: GatewayCodec<Q>): Promise<ScriptedGateway<Q>> {
    const gw = new ScriptedGateway<Q>(host, codec ?? (codec12 as unknown as GatewayCodec<Q>));
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
    const marker = this.#awaited.get(frame.toString('hex'));
    if (marker !== undefined) {
      this.#awaited.delete(frame.toString('hex'));
      marker();
      return;
    }
    const peer = `${rinfo.address}:${rinfo.port}`;
    const packet = this.codec.decode(frame);
    if (packet instanceof DecodeError) {
      this.log.push({ error: packet, frame, peer });
      return;
    }
    const r: Received<P> = { packet, frame, from: { address: rinfo.address, port: rinfo.port }, peer };
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
  next<T extends P['type']>(types?: T | T[], timeoutMs = 3000): Promise<Received<Extract<P, { type: T }>>> {
    const list: string[] | undefined = types === undefined ? undefined : Array.isArray(types) ? types : [types];
    const i = this.#queue.findIndex((r) => list === undefined || list.includes(r.packet.type));
    if (i >= 0) {
      const [r] = this.#queue.splice(i, 1);
      return Promise.resolve(r as Received<Extract<P, { type: T }>>);
    }
    return new Promise((resolve, reject) => {
      const waiter = { types: list, resolve: resolve as (r: Received<P>) => void };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${list?.join('/') ?? 'packet'} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter.resolve = (r) => {
        clearTimeout(timer);
        resolve(r as Received<Extract<P, { type: T }>>);
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * wait.ts `expectNothing` for packets of `types` from `node`: the node's link sends a marker
   * frame after whatever the node sent so far, down the same socket (loopback UDP keeps one socket's order);
   * once the marker is here, an unwanted packet sent before it would be queued, and fails the test.
   */
  async expectNone(types: P['type'] | Array<P['type']>, node: MarkerSender): Promise<void> {
    const list: string[] = Array.isArray(types) ? types : [types];
    await expectNothing(
      `no ${list.join('/')} from the node`,
      () => this.#marker(node),
      () => this.#queue.filter((r) => list.includes(r.packet.type)).map((r) => r.packet),
    );
  }

  /** Sends a marker through `node` and resolves when it arrives. An ADVERTISE, which a node never sends. */
  #marker(node: MarkerSender): Promise<void> {
    const frame = this.codec.marker(++this.#markers & 0xffff);
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#awaited.delete(key);
        reject(new Error('the marker sent through the node did not arrive within 3000 ms'));
      }, 3000);
      const key = frame.toString('hex');
      this.#awaited.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Straight onto the node's link: through the node it would count as traffic (keep-alive).
    void Promise.resolve(node.link.send(frame)).catch(() => undefined);
    return seen;
  }

  /**
   * Barrier toward a node: a PINGREQ to it (§4.11: the gateway may ping a client), answered by
   * PINGRESP. The node handles each datagram as it reads it, in order, so whatever was sent to it
   * before has been handled. Its PINGRESP is sent at the fake clock's current time: no traffic
   * later than what the node had already sent.
   */
  async roundTrip(this: ScriptedGateway, to: Received): Promise<void> {
    await this.send(to, { type: 'PINGREQ' });
    await this.next('PINGRESP');
  }

  /** Forgets queued packets (between tests). */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Packets waiting in the queue (not yet taken by `next`). */
  pending(): P[] {
    return this.#queue.map((r) => r.packet);
  }

  send(to: { address: string; port: number } | Received<AnyPacket>, packet: P): Promise<void> {
    const dest = 'from' in to ? to.from : to;
    return this.sendRaw(dest, this.codec.encode(packet));
  }

  sendRaw(to: { address: string; port: number }, frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(frame, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
