/**
 * The local broker core on aedes, in process, with optional MQTT 3.1.1 TCP listeners for local
 * clients. MQTT-SN sessions and the bridge use the in-process side (`publish`, `subscribe`),
 * which costs one aedes dispatch per message and no socket.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { Readable } from 'node:stream';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { systemClock } from '../clock.js';
import { PeerLineBudget } from '../log-throttle.js';
import { noopLogger, type Logger } from '../logger.js';
import { validateTopicFilter } from '../topics/topic-names.js';
import { BrokerError, BrokerErrorCode } from './errors.js';
import { ListenerGuard, quietLog, type ListenerAuthOptions, type ListenerAuthStats } from './listener-auth.js';
import { DEFAULT_MAX_PACKET_BYTES, PacketSizeGuard } from './packet-size.js';
import { RetainedIndex, type RetainedLimits, type RetainedRefusal } from './retained-index.js';
import type { PasswordTable } from './passwords.js';
import { MQTT_LISTENER_ORIGIN, type BrokerCore, type BrokerHandler, type BrokerMessage } from './types.js';

/** The part of the one Logger (src/logger.ts) the broker uses; a pino logger fits. */
export type BrokerLogger = Pick<Logger, 'error' | 'warn' | 'info' | 'debug'>;

export interface LocalBrokerOptions {
  /** MQTT 3.1.1 TCP listeners for local clients; none by default. Port 0 picks a free port. */
  listen?: ReadonlyArray<{ host: string; port: number }>;
  logger?: BrokerLogger;
  /**
   * Resolves once what a publish caused (queued for kept sessions, bound upstream) is durable.
   * A listener client's QoS 1 publish gets PUBACK, and a QoS 2 one PUBREC, only after it, as
   * MQTT-SN clients do. QoS 0 and in-process publishes do not wait.
   */
  durable?: () => Promise<void>;
  /** User names, passwords and rights of listener clients; without it every CONNECT is let in and may do anything. */
  auth?: ListenerAuthOptions;
  /**
   * Where aedes keeps the sessions of listener clients (subscriptions, offline queues, QoS 2 ids,
   * wills): an aedes persistence with the promise interface of aedes-persistence 11. Default:
   * aedes' memory persistence, which a restart empties. Writes must be covered by `durable`.
   */
  persistence?: BrokerPersistence;
  /** Bounds on what listener clients may cost; each defaults to `DEFAULT_LISTENER_LIMITS`. */
  limits?: Partial<ListenerLimits>;
  /** Caps on retained messages; each defaults to `DEFAULT_RETAINED_LIMITS`. */
  retained?: Partial<RetainedLimits>;
}

/** Sized for a Raspberry Pi; the config's defaults (`broker.maxRetained*`) are the same. */
export const DEFAULT_RETAINED_LIMITS: Readonly<RetainedLimits> = { maxMessages: 10_000, maxBytes: 16 * 1024 * 1024, maxPerClient: 1000 };

export interface ListenerLimits {
  /** TCP connections at once, CONNECTed or not; one more is closed as soon as it is accepted */
  maxConnections: number;
  /** largest packet a client may send, checked on its header before the body is buffered */
  maxPacketBytes: number;
  /** a connection without a CONNECT after this long is closed */
  connectTimeoutMs: number;
}

/** Sized for a Raspberry Pi; the config's defaults (`broker.*`) are the same. */
export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = { maxConnections: 1000, maxPacketBytes: DEFAULT_MAX_PACKET_BYTES, connectTimeoutMs: 10_000 };

/** Connections the listener closed at once, by reason. */
export interface ListenerLimitStats {
  /** accepted beyond `maxConnections` */
  overConnections: number;
  /** sent a packet over `maxPacketBytes` */
  oversizedPackets: number;
}

/** An aedes persistence as the broker core takes it: chosen by the composition root, opaque here. */
export interface BrokerPersistence {
  setup(broker: unknown): Promise<void>;
}

/** The broker core with what only its owner (the composition root) may change while it runs. */
export interface LocalBrokerCore extends BrokerCore {
  /** New listener users (a reloaded password file); false when the listener has no `auth`. */
  replaceListenerUsers(users: PasswordTable): boolean;
  /** Running counts of the listener's password and ACL checks; undefined when it has no `auth`. */
  readonly listenerAuthStats: ListenerAuthStats | undefined;
  /** Running counts of connections closed by the listener's limits. */
  readonly listenerLimitStats: Readonly<ListenerLimitStats>;
  /** TCP connections open on the listeners now, CONNECTed or not (what `maxConnections` caps). */
  readonly listenerConnections: number;
  /** The retained messages kept now: how many, and their topic and payload bytes. */
  readonly retainedIndex: Pick<RetainedIndex, 'count' | 'bytes'>;
  /** Retained messages delivered but not kept, by the cap they would have passed. */
  readonly retainedRefused: Readonly<Record<RetainedRefusal, number>>;
}

/** The retained part of aedes' persistence, replaced by the index; aedes' typings leave `persistence` out. */
interface RetainedStore {
  storeRetained(packet: unknown): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: readonly string[]): Readable;
}

/** Publish packets as aedes takes and delivers them, plus the `clientId` that carries the origin. */
type TaggedPublish = PublishPacket & { clientId?: string };
type TaggedDelivery = AedesPublishPacket & { clientId?: string };


/** Origins kept in the tag caches; more distinct origins still work, they are just not cached. */
const MAX_CACHED_ORIGINS = 1024;

const noop = (): void => {};

const formatAddress = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

const startsWithWildcard = (filter: string): boolean => filter.startsWith('+') || filter.startsWith('#');

/**
 * Starts the broker core and binds the listeners. Rejects with `MQTTSN_ERR_LISTEN_FAILED` naming
 * the address when a listener cannot be bound; everything started by then is closed first.
 */
export async function createLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBrokerCore> {
  const logger = options.logger ?? noopLogger;
  const durable = options.durable;
  const guard = options.auth === undefined ? undefined : new ListenerGuard(options.auth, logger);
  const limits: ListenerLimits = { ...DEFAULT_LISTENER_LIMITS, ...options.limits };
  const aedes = await Aedes.createBroker({
    // aedes closes a connection whose CONNECT has not come by then: a silent socket costs a slot of maxConnections.
    connectTimeout: limits.connectTimeoutMs,
    ...(options.persistence === undefined ? {} : { persistence: options.persistence }),
    ...(guard === undefined ? {} : { authenticate: guard.authenticate, authorizeSubscribe: guard.authorizeSubscribe }),
    // aedes calls this after delivering to subscribers and, for QoS 2, before PUBREC (for QoS 1
    // see `ackQos1AfterDelivery`), so waiting here holds the acknowledgement until the store has
    // what the message caused.
    published: (packet, client, done) => {
      if (durable === undefined || client === null || packet.qos === 0) done();
      else durable().then(() => done(), (err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    },
  });
  ackQos1AfterDelivery(aedes, guard === undefined ? () => true : (client, topic) => guard.mayPublish(client, topic));
  const broker = new LocalBroker(aedes, logger, guard, limits, new RetainedIndex({ ...DEFAULT_RETAINED_LIMITS, ...options.retained }));
  try {
    for (const { host, port } of options.listen ?? []) await broker.listen(host, port);
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}

class LocalBroker implements LocalBrokerCore {
  readonly #aedes: Aedes;
  readonly #guard: ListenerGuard | undefined;
  readonly #logger: BrokerLogger;
  readonly #servers: net.Server[] = [];
  /** Every accepted socket, also those that never sent CONNECT: aedes.close() only knows clients. */
  readonly #sockets = new Set<net.Socket>();
  readonly #listeners: Array<{ host: string; port: number }> = [];
  readonly #limits: ListenerLimits;
  readonly listenerLimitStats: ListenerLimitStats = { overConnections: 0, oversizedPackets: 0 };
  /** the retained messages, by topic level; aedes' persistence keeps none */
  readonly retainedIndex: RetainedIndex;
  /** retained messages not kept, by the cap they would have passed (the message itself was delivered) */
  readonly retainedRefused: Record<RetainedRefusal, number> = { maxMessages: 0, maxBytes: 0, maxPerClient: 0 };
  /** the MQTT-SN client charged for a retained message published in-process, by packet */
  readonly #owners = new WeakMap<object, string>();
  readonly #limitLog = quietLog();
  readonly #clientLog: PeerLineBudget;
  #closing: Promise<void> | undefined;

  /*
   * The origin of an in-process publish travels in the packet's `clientId`, the one field aedes
   * copies to every subscriber without putting it on the wire (aedes only compares it with a
   * subscriber's own id for MQTT 5 no-local). The per-broker random prefix keeps tags apart from
   * the client ids of TCP clients, which are what `clientId` holds for their messages.
   */
  readonly #tagPrefix = `\u0000${randomUUID()}:`;
  readonly #tagOf = new Map<string, string>();
  readonly #originOf = new Map<string, string>();

  constructor(aedes: Aedes, logger: BrokerLogger, guard: ListenerGuard | undefined, limits: ListenerLimits, retained: RetainedIndex) {
    this.#aedes = aedes;
    this.retainedIndex = retained;
    this.#installRetained();
    this.#limits = limits;
    this.#guard = guard;
    this.#logger = logger;
    this.#clientLog = new PeerLineBudget(systemClock, logger);
    // Without a listener an 'error' event (a failing persistence call) would throw out of aedes.
    const emitter: EventEmitter = aedes; // aedes' typings list every event but 'error'
    emitter.on('error', (err: unknown) => logger.error({ err }, 'local broker error'));
    // A TCP client drives these as often as it reconnects, with a client id of up to 64 KB.
    aedes.on('client', (client) => this.#clientLog.info({ clientId: client.id }, 'local MQTT client connected'));
    aedes.on('clientDisconnect', (client) => this.#clientLog.info({ clientId: client.id }, 'local MQTT client disconnected'));
    aedes.on('clientError', (client, err) => logger.debug({ clientId: client.id, err }, 'local MQTT client error'));
    aedes.on('connectionError', (_client, err) => logger.debug({ err }, 'local MQTT connection failed before CONNECT'));
  }

  get listenerConnections(): number {
    return this.#sockets.size;
  }

  get listenerAuthStats(): ListenerAuthStats | undefined {
    return this.#guard?.stats;
  }

  replaceListenerUsers(users: PasswordTable): boolean {
    this.#guard?.replaceUsers(users);
    return this.#guard !== undefined;
  }

  get listeners(): ReadonlyArray<{ host: string; port: number }> {
    return this.#listeners;
  }

  async listen(host: string, port: number): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const address = formatAddress(host, port);
      const why = err instanceof Error ? err.message : String(err);
      throw new BrokerError(BrokerErrorCode.LISTEN_FAILED, `local MQTT listener cannot listen on ${address}: ${why}`, { cause: err, address });
    }
    server.on('error', (err) => this.#logger.error({ err }, 'local MQTT listener error'));
    this.#servers.push(server);
    const bound = server.address() as net.AddressInfo;
    this.#listeners.push({ host: bound.address, port: bound.port });
    this.#logger.info({ address: formatAddress(bound.address, bound.port) }, 'local MQTT listener ready');
  }

  publish(msg: BrokerMessage, origin?: string): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(closedError());
    const packet: TaggedPublish = { cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup: false };
    if (origin !== undefined) packet.clientId = this.#tag(origin);
    if (msg.retain && msg.owner !== undefined) this.#owners.set(packet, msg.owner);
    return new Promise((resolve, reject) => {
      this.#aedes.publish(packet, (err) => {
        if (err === undefined || err === null) resolve();
        else reject(new BrokerError(BrokerErrorCode.PUBLISH_FAILED, `publish to ${JSON.stringify(msg.topic)} refused: ${err.message}`, { cause: err }));
      });
    });
  }

  async subscribe(filter: string, handler: BrokerHandler): Promise<() => Promise<void>> {
    checkFilter(filter);
    if (this.#closing !== undefined) throw closedError();
    const dollarBlocked = startsWithWildcard(filter);
    let active = true;
    const deliver = (packet: TaggedDelivery, done: () => void): void => {
      // [MQTT-4.7.2-1]; aedes' matcher itself lets `#` match `$SYS/...`.
      if (active && !(dollarBlocked && packet.topic.startsWith('$'))) {
        try {
          // Payloads are Buffers on every path into aedes (mqtt-packet's parser, our publish,
          // aedes' own $SYS messages), and the packet has the shape of a BrokerMessage: handing
          // it on as is saves a copy per message and subscriber.
          handler(packet as unknown as BrokerMessage, this.#origin(packet.clientId));
        } catch (err) {
          // A throw here would skip `done` and stall aedes' dispatch for good.
          this.#logger.error({ err, filter, topic: packet.topic }, 'in-process subscriber threw');
        }
      }
      done();
    };
    await new Promise<void>((resolve) => this.#aedes.subscribe(filter, deliver, resolve));
    return async () => {
      if (!active) return;
      active = false;
      await new Promise<void>((resolve) => this.#aedes.unsubscribe(filter, deliver, resolve));
    };
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a bad filter rejects, as every other call does
  async retained(filter: string): Promise<BrokerMessage[]> {
    checkFilter(filter);
    if (this.#closing !== undefined) throw closedError();
    return this.retainedIndex.match(filter).map((e) => ({ topic: e.topic, payload: e.payload, qos: e.qos, retain: true }));
  }

  /**
   * Every publish, from listener clients, in-process or a will, passes `aedes.publish`: a retained
   * one is indexed there, or, over a cap, delivered without being kept (retain cleared, so the
   * store does not keep it either). aedes' persistence then keeps no retained message of its own
   * and answers a listener client's SUBSCRIBE from the index, not by scanning them all.
   */
  #installRetained(): void {
    const aedes = this.#aedes;
    const index = this.retainedIndex;
    type Done = (err?: Error) => void;
    // aedes' typings name only publish(packet, done); its handlers call publish(packet, client, done).
    const publish = aedes.publish.bind(aedes) as unknown as (packet: AedesPublishPacket, client: Client | null, done: Done) => void;
    const guarded = (packet: TaggedPublish, client: Client | null | Done, done?: Done): void => {
      const cb = typeof client === 'function' ? client : done;
      const sender = typeof client === 'function' ? null : client;
      if (packet.retain) {
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        const owner = sender?.id ?? this.#owners.get(packet);
        const refused = index.set(packet.topic, payload, packet.qos, owner);
        if (refused !== undefined) {
          this.retainedRefused[refused]++;
          this.#logger.debug({ topic: packet.topic, owner, cap: refused }, 'retained message not kept: over a broker.maxRetained* cap');
          packet.retain = false;
        }
      }
      publish(packet as AedesPublishPacket, sender, cb ?? noop);
    };
    aedes.publish = guarded;
    const persistence = (aedes as unknown as { persistence: RetainedStore }).persistence;
    const stream = (filters: readonly string[]): Readable => {
      const seen = new Set<string>();
      const packets: object[] = [];
      for (const f of filters) {
        for (const e of index.match(f)) {
          if (seen.has(e.topic)) continue;
          seen.add(e.topic);
          packets.push({ cmd: 'publish', topic: e.topic, payload: e.payload, qos: e.qos, retain: true });
        }
      }
      return Readable.from(packets);
    };
    persistence.storeRetained = () => Promise.resolve();
    persistence.createRetainedStream = (pattern: string) => stream([pattern]);
    persistence.createRetainedStreamCombi = (patterns: readonly string[]) => stream(patterns);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    // Stop accepting first; each server's callback fires once its last connection is gone.
    const serversClosed = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(serversClosed);
    this.#clientLog.flush();
    this.#logger.debug({}, 'local broker closed');
  }

  #accept(socket: net.Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#sockets.size >= this.#limits.maxConnections) {
      this.listenerLimitStats.overConnections++;
      this.#limitClosed(socket, 'local MQTT connection refused: broker.maxConnections reached', { maxConnections: this.#limits.maxConnections });
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // MQTT packets are small and acks wait on each other: Nagle would add delay to every one.
    socket.setNoDelay(true);
    this.#aedes.handle(socket);
    // After aedes' 'readable' listener, so this one does not make the socket flow: it sees each
    // chunk as aedes reads it, before aedes' parser buffers it.
    const sizes = new PacketSizeGuard(this.#limits.maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const size = sizes.feed(chunk);
      if (size === undefined) return;
      this.listenerLimitStats.oversizedPackets++;
      this.#limitClosed(socket, 'local MQTT client closed: packet over broker.maxPacketBytes', { announced: size, maxPacketBytes: sizes.max });
      socket.destroy();
    });
  }

  #limitClosed(socket: net.Socket, msg: string, details: object): void {
    const leftOut = this.#limitLog.hit('limit');
    if (leftOut !== undefined) this.#logger.warn({ address: socket.remoteAddress, ...details, ...this.listenerLimitStats, suppressed: leftOut }, msg);
  }

  #tag(origin: string): string {
    let tag = this.#tagOf.get(origin);
    if (tag === undefined) {
      tag = this.#tagPrefix + origin;
      if (this.#tagOf.size < MAX_CACHED_ORIGINS) {
        this.#tagOf.set(origin, tag);
        this.#originOf.set(tag, origin);
      }
    }
    return tag;
  }

  #origin(clientId: string | undefined): string | undefined {
    // No clientId: aedes' own messages ($SYS) and in-process publishes without an origin.
    if (clientId === undefined) return undefined;
    const cached = this.#originOf.get(clientId);
    if (cached !== undefined) return cached;
    return clientId.startsWith(this.#tagPrefix) ? clientId.slice(this.#tagPrefix.length) : MQTT_LISTENER_ORIGIN;
  }
}

/** aedes' `publish` as it really is: the typings leave out the client argument its handlers pass. */
type PublishWithClient = (packet: PublishPacket, client: Client | null, done: (err?: Error | null) => void) => void;

/** aedes reserves `$SYS/` for itself; its default `authorizePublish`, which ours replaces, refused it. */
const SYS_PREFIX = '$SYS/';

/**
 * Makes a listener client's QoS 1 PUBACK follow delivery and the `published` hook (the durable
 * commit). aedes 1.2 writes the PUBACK first and publishes after (lib/handlers/publish.js), so
 * a crash between the two loses a message the client counts as delivered.
 *
 * Every client PUBLISH passes `authorizePublish` before aedes acknowledges it, and aedes then hands
 * the same packet object to `broker.publish`, looked up on the instance. So the publish is done
 * here, inside the authorization, whose callback (and so aedes' PUBACK) waits for it; the
 * instance's `publish` then answers for that one packet object at once, without publishing it
 * again. No aedes internals are touched: only its documented hooks and its public `publish`.
 * Should aedes change either order, test/broker/durable.test.ts sees a PUBACK before `durable`
 * resolves or a message delivered twice.
 *
 * Wills go through the same two steps (authorize, then publish of the same object) and so are
 * published once too. A publish `mayPublish` refuses is settled the same way without being
 * published: dropped but acknowledged, as MQTT 3.1.1 has no negative PUBACK and a closed
 * connection would only bring the client back with the same message.
 */
function ackQos1AfterDelivery(aedes: Aedes, mayPublish: (client: Client, topic: string) => boolean): void {
  const publish = aedes.publish.bind(aedes) as unknown as PublishWithClient;
  // Packets published (or dropped) during their authorization; weak, so one whose acknowledgement
  // never went out (the connection closed meanwhile) is not kept.
  const settled = new WeakSet<PublishPacket>();
  aedes.authorizePublish = (client, packet, callback) => {
    if (packet.topic.startsWith(SYS_PREFIX)) {
      callback(new Error(`${SYS_PREFIX} topic is reserved`));
      return;
    }
    if (client !== null && !mayPublish(client, packet.topic)) {
      settled.add(packet);
      callback(null);
      return;
    }
    if (client === null || packet.qos !== 1) {
      callback(null);
      return;
    }
    publish(packet, client, (err) => {
      if (err !== undefined && err !== null) {
        callback(err);
        return;
      }
      settled.add(packet);
      callback(null);
    });
  };
  const skipping: PublishWithClient = (packet, client, callback) => {
    if (settled.delete(packet)) callback();
    else publish(packet, client, callback);
  };
  // The typings know only publish(packet, callback); aedes itself calls both forms.
  aedes.publish = ((packet: PublishPacket, clientOrDone: Client | null | ((err?: Error | null) => void), callback?: (err?: Error | null) => void) => {
    if (typeof clientOrDone === 'function') skipping(packet, null, clientOrDone);
    else skipping(packet, clientOrDone, callback ?? noop);
  }) as Aedes['publish'];
}

function checkFilter(filter: string): void {
  const reason = validateTopicFilter(filter);
  if (reason !== undefined) throw new BrokerError(BrokerErrorCode.BAD_TOPIC_FILTER, `topic filter ${JSON.stringify(filter)}: ${reason}`);
}

function closedError(): BrokerError {
  return new BrokerError(BrokerErrorCode.CLOSED, 'the local broker is closed');
}
