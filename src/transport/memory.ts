/**
 * An in-memory medium for gateway unit tests and for firmware-sim: one gateway-side transport
 * (the hub) and any number of client endpoints, each a distinct peer. Both sides are full
 * `Transport`s, so code written against the interface (the gateway, a simulated node) runs on it
 * unchanged.
 *
 * Like a real medium it copies each frame (the sender may reuse its buffer, the receiver gets a
 * Buffer of its own), delivers asynchronously and in order (on the microtask queue: never inside
 * the sender's call stack, yet before any timer), and enforces `maxFrameSize`. A frame sent to a
 * closed side is lost silently, as a datagram to a dead host would be.
 */
import { TransportError, TransportErrorCode } from '../errors.js';
import { TransportBase, type BaseOptions } from './base.js';
import type { Peer } from './types.js';

export interface MemoryPeer extends Peer {
  /** the id given to `connect`, or the hub's id */
  readonly id: string;
}

export interface MemoryOptions extends BaseOptions {
  /** the hub's id; clients see the gateway as peer `mem:<id>`; default `gateway` */
  id?: string;
  /** default 65535, the largest MQTT-SN message */
  maxFrameSize?: number;
}

/** The gateway side of the in-memory medium. Starts closed, like every transport: call `open()`. */
export class MemoryTransport extends TransportBase<MemoryPeer> {
  readonly name: string;
  readonly maxFrameSize: number;
  /** how clients address the gateway */
  readonly peer: MemoryPeer;
  private readonly clients = new Map<string, MemoryEndpoint>();
  private seq = 0;

  constructor(options: MemoryOptions = {}) {
    super(options);
    const id = options.id ?? 'gateway';
    this.name = `mem:${id}`;
    this.peer = { key: this.name, id };
    this.maxFrameSize = options.maxFrameSize ?? 65535;
  }

  /**
   * A new client endpoint, open and attached. `id` defaults to `client-<n>`; ids must be unique
   * among attached clients (the peer key is `mem:<id>`).
   */
  connect(id = `client-${++this.seq}`): MemoryEndpoint {
    const endpoint = new MemoryEndpoint(this, id, this.maxFrameSize, this.log);
    this.attach(endpoint);
    return endpoint;
  }

  open(): Promise<void> {
    if (this.state !== 'open') this.setState('open');
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.state !== 'closed') this.setState('closed');
    return Promise.resolve();
  }

  send(peer: MemoryPeer, frame: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.sendError(TransportErrorCode.NOT_OPEN, 'transport not open'));
    const client = this.clients.get(peer.key);
    if (client === undefined) {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `no client ${peer.key} attached`));
    }
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    this.sent(frame);
    client.arrive(this.peer, frame, false);
    return Promise.resolve();
  }

  broadcast(frame: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.sendError(TransportErrorCode.NOT_OPEN, 'transport not open'));
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    this.sent(frame);
    for (const c of this.clients.values()) c.arrive(this.peer, frame, true);
    return Promise.resolve();
  }

  peerFromKey(key: string): MemoryPeer | undefined {
    return this.clients.get(key)?.peer;
  }

  /** @internal a client's frame; `broadcast` frames also reach the other clients, as on a radio */
  fromClient(from: MemoryEndpoint, frame: Buffer, broadcast: boolean): void {
    if (broadcast) {
      for (const c of this.clients.values()) if (c !== from) c.arrive(from.peer, frame, true);
    }
    if (this.state !== 'open') return;
    const copy = Buffer.from(frame);
    queueMicrotask(() => {
      if (this.state === 'open') this.deliver(from.peer, copy, broadcast);
    });
  }

  /** @internal */
  attach(endpoint: MemoryEndpoint): void {
    if (this.clients.has(endpoint.peer.key) || endpoint.peer.key === this.peer.key) {
      throw new TransportError(TransportErrorCode.OPEN_FAILED, `${this.name}: a client ${endpoint.peer.key} is already attached`);
    }
    this.clients.set(endpoint.peer.key, endpoint);
  }

  /** @internal */
  detach(endpoint: MemoryEndpoint): void {
    if (this.clients.get(endpoint.peer.key) === endpoint) this.clients.delete(endpoint.peer.key);
  }
}

/**
 * A client on the in-memory medium: the device side. Its only unicast peer is the gateway
 * (`gateway`); it also hears broadcasts of the gateway and of other clients.
 */
export class MemoryEndpoint extends TransportBase<MemoryPeer> {
  readonly name: string;
  /** how the gateway sees this client */
  readonly peer: MemoryPeer;
  /** the gateway, to pass to `send` */
  readonly gateway: MemoryPeer;

  constructor(
    private readonly hub: MemoryTransport,
    id: string,
    readonly maxFrameSize: number,
    logger: BaseOptions['logger'],
  ) {
    super({ logger });
    this.name = `mem:${id}`;
    this.peer = { key: this.name, id };
    this.gateway = hub.peer;
    this.setState('open');
  }

  /** Re-attaches after `close()` under the same id. */
  open(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    this.hub.attach(this);
    this.setState('open');
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.hub.detach(this);
    this.setState('closed');
    return Promise.resolve();
  }

  send(peer: MemoryPeer, frame: Buffer): Promise<void> {
    if (peer.key !== this.gateway.key) {
      return Promise.reject(this.sendError(TransportErrorCode.UNKNOWN_PEER, `a client can only send to ${this.gateway.key}, not ${peer.key}`));
    }
    return this.transmit(frame, false);
  }

  broadcast(frame: Buffer): Promise<void> {
    return this.transmit(frame, true);
  }

  peerFromKey(key: string): MemoryPeer | undefined {
    return key === this.gateway.key ? this.gateway : undefined;
  }

  /** @internal a frame for this client from `from` */
  arrive(from: MemoryPeer, frame: Buffer, broadcast: boolean): void {
    if (this.state !== 'open') return;
    const copy = Buffer.from(frame);
    queueMicrotask(() => {
      if (this.state === 'open') this.deliver(from, copy, broadcast);
    });
  }

  private transmit(frame: Buffer, broadcast: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.sendError(TransportErrorCode.NOT_OPEN, 'endpoint closed'));
    const tooBig = this.checkSize(frame);
    if (tooBig) return Promise.reject(tooBig);
    this.sent(frame);
    this.hub.fromClient(this, frame, broadcast);
    return Promise.resolve();
  }
}

/** A hub and one client attached to it; the hub still needs `open()`. */
export function createMemoryPair(options: MemoryOptions = {}): { gateway: MemoryTransport; client: MemoryEndpoint } {
  const gateway = new MemoryTransport(options);
  return { gateway, client: gateway.connect() };
}
