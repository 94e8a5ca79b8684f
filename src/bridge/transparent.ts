/**
 * Transparent mode: every MQTT-SN client gets its own upstream connection, opened with its client
 * id (prefixed), clean-session flag (2.0: clean-start.ts), keep-alive and will, and its own
 * credentials: a 2.0 client's MQTT-BASIC user name and password, else what the config names. The upstream broker then sees each device as itself: its sessions, retained
 * messages, wills and ACLs apply per device. The gateway drives this through its `Uplink` port
 * (src/uplink/port.ts, a leaf module both import), which this class implements.
 *
 * ```
 * CONNECT ─► connect(req) ─► upstream CONNACK ─► CONNACK (refusal 0x03 / 2.0 0x86, 0x87, 0x80; unreachable 0x01)
 * PUBLISH ─► publish(id) ─► upstream PUBACK / PUBCOMP ─► PUBACK / PUBREC
 * upstream PUBLISH ─► sink (the client's queue; sleep buffer) ─► upstream ack once taken
 * lost client ─► disconnect(id, graceful = false) ─► the upstream publishes the will
 * ```
 *
 * One more connection, the gateway's own (upstream.clientId), carries QoS -1 publishes, which
 * have no client session (MQTT-SN.md §4.8), and tells whether the upstream is there at all (the
 * gateway advertises only then).
 *
 * An established client connection that drops is opened again with backoff; while it is down,
 * the client's QoS 1/2 publishes are answered 0x01 (congestion) and the client, which still holds
 * them, sends them again later: nothing is acknowledged that the upstream does not have.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { ClientCredentials } from '../config/secrets.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../logger.js';
import { validateTopicName } from '../topics/topic-names.js';
import { discardingFirst, discardsFirst, upstreamCleanSession } from './clean-start.js';
import { ClientLink, type LinkBasics } from './client-link.js';
import { IncomingQos2ByClient } from './incoming-qos2.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import { POISON_STRIKES, SUSPECT_WINDOW_MS } from './poison.js';
import { ThrottledWarn } from './throttled-warn.js';
import type { MqttUpstreamOptions } from './mqtt-upstream.js';
import { profileFor, shapeOutbound, type UpstreamProfile } from './profiles/index.js';
import { reconnectDelay } from './reconnecting-upstream.js';
import { zeroCounters, type Bridge, type BridgeCounters, type BridgeStatus } from './types.js';
import type { UpstreamConnector, Message } from './upstream.js';

import { PublishRefusedError, type ClientConnectRequest as ClientRequest, type ConnectOutcome, type Credentials, type Uplink, type UplinkSink as ClientSink, type QoS as SubQoS } from '../uplink/port.js';

export interface TransparentBridgeDeps {
  config: UpstreamConfig;
  /** the connection options of the section (url, credentials, TLS), as `mqttOptionsFromConfig` makes them */
  base: MqttUpstreamOptions;
  /** opens connections with the given options; default MQTT.js */
  connectorFor: (options: MqttUpstreamOptions) => UpstreamConnector;
  /** `upstream.clients`, secrets read (first match wins) */
  clients: readonly ClientCredentials[];
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

/** Refusals and drops are logged at most this often per kind (each is counted). */
const LOG_INTERVAL_MS = 10_000;

/**
 * A new will reopens the client's upstream connection (MQTT 3.1.1 cannot change a live will): the
 * reopening waits this long for more updates, so a WILLTOPICUPD and WILLMSGUPD pair, or a burst,
 * costs one connection, not one each. The old connection carries the client meanwhile.
 */
export const WILL_RECONNECT_DEBOUNCE_MS = 500;

/** `upstream.maxConnections` when the config leaves it out. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/** A will update waiting for WILL_RECONNECT_DEBOUNCE_MS: the newest request, and the answers owed. */
interface PendingReopen {
  req: ClientRequest;
  sink: ClientSink;
  timer: TimerHandle;
  waiters: OutcomeWaiters<ConnectOutcome>;
}

export class TransparentBridge implements Bridge, Uplink {
  readonly mode = 'transparent' as const;
  readonly clientConnections = true;
  readonly #deps: TransparentBridgeDeps;
  readonly #random: () => number;
  readonly #profile: UpstreamProfile | undefined;
  readonly #links = new Map<string, ClientLink>();
  readonly #listeners = new Set<(connected: boolean) => void>();
  readonly #warns = new Map<string, ThrottledWarn>();
  /** will updates waiting to reopen a client's connection, by client id */
  readonly #reopening = new Map<string, PendingReopen>();
  /** client connections replaced or dropped whose socket is not closed yet: they count against the cap */
  #closing = 0;
  #own: ClientLink | undefined;
  #closed = false;
  /** QoS 2 messages toward each device, not yet released, across its links (see IncomingQos2ByClient) */
  readonly #qos2: IncomingQos2ByClient;
  readonly counters: BridgeCounters = zeroCounters();

  constructor(deps: TransparentBridgeDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#profile = profileFor(deps.config);
    this.#qos2 = new IncomingQos2ByClient(deps.config.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  }

  get connected(): boolean {
    return this.#own?.state === 'connected';
  }

  get logger(): Logger {
    return this.#deps.logger;
  }

  get clock(): Clock {
    return this.#deps.clock;
  }

  backoff(attempt: number): number {
    return reconnectDelay(this.#profile, this.#deps.config.reconnect, attempt, this.#random);
  }

  /** What every client's ReconnectingUpstream shares: clock, jitter, backoff, the profile's floor, the counters. */
  get reconnecting(): LinkBasics {
    return { clock: this.#deps.clock, random: this.#random, reconnect: this.#deps.config.reconnect, profile: this.#profile, counters: this.counters };
  }

  start(): Promise<void> {
    const c = this.#deps.config;
    this.#deps.logger.info({ url: c.url, clientId: c.clientId, clientIdPrefix: c.clientIdPrefix, profile: this.#profile?.name }, 'upstream bridge starting (transparent)');
    // The gateway's own connection: QoS -1 publishes, and "is the upstream there" for ADVERTISE.
    this.#own = new ClientLink(this, { clientId: c.clientId, cleanSession: c.cleanSession, keepAliveSec: c.keepAlive, will: undefined }, this.#deps.connectorFor(this.#deps.base), true, {
      onConnectedChange: (up) => {
        for (const l of this.#listeners) l(up);
      },
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#warns.values()) w.flush();
    for (const id of [...this.#reopening.keys()]) this.#settleReopen(id, 'unavailable');
    const links = [...this.#links.values()];
    this.#links.clear();
    // DISCONNECT: the devices did not vanish, the gateway stopped; their wills stay unpublished.
    await Promise.allSettled([...links.map((l) => l.end(true)), this.#own?.end(true)]);
    this.#deps.logger.info({ clients: links.length }, 'upstream bridge stopped');
  }

  onConnectedChange(listener: (connected: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): BridgeStatus {
    const own = this.#own;
    const now = this.#deps.clock.now();
    let connected = 0;
    for (const l of this.#links.values()) if (l.state === 'connected') connected++;
    return {
      mode: this.mode,
      profile: this.#profile?.name,
      url: this.#deps.config.url,
      clientId: this.#deps.config.clientId,
      state: own === undefined || this.#closed ? 'stopped' : own.upstreamState(),
      connected: this.connected,
      since: new Date(own?.since.wall ?? Date.now()).toISOString(),
      forMs: own === undefined ? 0 : Math.max(0, now - own.since.mono),
      attempts: own?.attempts ?? 0,
      nextAttemptInMs: own?.nextAttemptAt === undefined ? undefined : Math.max(0, own.nextAttemptAt - now),
      lastError: own?.lastError,
      // Nothing is queued here: each client keeps what the upstream has not acknowledged.
      queue: { messages: 0, bytes: 0, inFlight: 0, maxMessages: 0, maxBytes: 0 },
      counters: { ...this.counters },
      clients: { total: this.#links.size, connected },
    };
  }

  // ── the gateway's port ───────────────────────────────────────────────────────────────────

  /** This bridge is the gateway's uplink: each client's own connection answers. */
  get uplink(): Uplink {
    return this;
  }

  /** Nothing comes through the broker core for the devices: each one's messages come through its own connection's sink. */
  listen(): Promise<() => Promise<void>> {
    return Promise.resolve(() => Promise.resolve());
  }

  /** None from here: the upstream sends a new subscription its retained messages itself. */
  retained(): Promise<readonly Message[]> {
    return Promise.resolve([]);
  }

  connect(req: ClientRequest, sink: ClientSink, persistent = false): Promise<ConnectOutcome> {
    if (this.#closed) return Promise.resolve('unavailable');
    const c = this.#deps.config;
    // The two connections would knock each other off the broker, over and over (MQTT 3.1.1 §3.1.4).
    if (c.clientIdPrefix + req.clientId === c.clientId) {
      this.counters.refusedIdCollision++;
      this.logOnce('idCollision', { clientId: req.clientId, upstreamClientId: c.clientId }, "client refused: its upstream client id is the gateway's own (upstream.clientId); give the device another id, or set upstream.clientIdPrefix");
      return Promise.resolve('refused');
    }
    const old = this.#links.get(req.clientId);
    if (old !== undefined && old.state !== 'ended' && keeps(old, req)) {
      this.#settleReopen(req.clientId, 'accepted');
      old.sink = sink;
      return old.outcome();
    }
    if (old !== undefined && old.state === 'connected' && req.resume === true) return this.#reopenLater(req, sink);
    return this.#open(req, sink, persistent);
  }

  /** A new will for a connected client: reopened once the updates stop for WILL_RECONNECT_DEBOUNCE_MS. */
  #reopenLater(req: ClientRequest, sink: ClientSink): Promise<ConnectOutcome> {
    let p = this.#reopening.get(req.clientId);
    if (p === undefined) {
      const id = req.clientId;
      p = { req, sink, waiters: new OutcomeWaiters(), timer: this.#deps.clock.setTimeout(() => this.#reopenNow(id), WILL_RECONNECT_DEBOUNCE_MS) };
      this.#reopening.set(id, p);
    } else {
      p.req = req;
      p.sink = sink;
    }
    return p.waiters.wait();
  }

  #reopenNow(clientId: string): void {
    const p = this.#reopening.get(clientId);
    if (p === undefined) return;
    this.#reopening.delete(clientId);
    this.#open(p.req, p.sink, false).then(
      (o) => p.waiters.settle(o),
      () => p.waiters.settle('unavailable'),
    );
  }

  /** A will update still waiting is answered `outcome` and not made (a newer CONNECT or the end decided). */
  #settleReopen(clientId: string, outcome: ConnectOutcome): void {
    const p = this.#reopening.get(clientId);
    if (p === undefined) return;
    this.#reopening.delete(clientId);
    p.timer.cancel();
    p.waiters.settle(outcome);
  }

  /** Upstream connections open or closing, the gateway's own included. */
  get openConnections(): number {
    return this.#links.size + this.#closing + (this.#own === undefined ? 0 : 1);
  }

  #end(link: ClientLink, graceful: boolean): void {
    this.#closing++;
    void link.end(graceful).finally(() => this.#closing--);
  }

  #open(req: ClientRequest, sink: ClientSink, persistent: boolean): Promise<ConnectOutcome> {
    this.#settleReopen(req.clientId, 'unavailable');
    const old = this.#links.get(req.clientId);
    const max = this.#deps.config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    // The old connection of this client is about to go; any other new one must fit under the cap.
    if (this.openConnections - (old === undefined ? 0 : 1) >= max) {
      this.counters.refusedConnectionCap++;
      this.logOnce('connectionCap', { clientId: req.clientId, maxConnections: max, open: this.openConnections }, 'client connection refused for now: upstream.maxConnections reached (CONNACK 0x01)');
      return Promise.resolve('unavailable');
    }
    if (old !== undefined) {
      this.#links.delete(req.clientId);
      // The device is alive and reconnecting: no will for the connection it replaces.
      this.#end(old, true);
    }
    const link = new ClientLink(this, req, this.#connectorFor(req), persistent, {
      onEnded: () => {
        if (this.#links.get(req.clientId) === link) this.#links.delete(req.clientId);
        this.#qos2.ended(req.clientId, this.#links.has(req.clientId));
      },
    });
    link.sink = sink;
    // The session goes on over a new connection (a new will, say): its subscriptions go with it,
    // made again upstream should the new connection start without the session.
    if (old !== undefined && (req.resume === true || !(req.cleanStart ?? req.cleanSession))) for (const [filter, qos] of old.subs) link.subs.set(filter, qos);
    for (const s of req.subscriptions ?? []) link.subs.set(s.filter, s.qos);
    this.#links.set(req.clientId, link);
    return link.outcome();
  }

  async publish(clientId: string | undefined, msg: Message): Promise<void> {
    // One PUBLISH with a wildcard topic gets the connection closed (MQTT 3.1.1 §4.7.1): never sent.
    const invalid = validateTopicName(msg.topic);
    if (invalid !== undefined) {
      this.counters.refusedInvalidTopic++;
      this.logOnce('invalidTopic', { clientId, topic: JSON.stringify(msg.topic), reason: invalid }, 'message not sent upstream: its topic is not a topic name');
      throw new PublishRefusedError(msg.topic);
    }
    const p = this.#profile;
    if (p !== undefined) {
      const shaped = shapeOutbound(p, msg, this.counters);
      if ('refused' in shaped) {
        this.counters.refusedByProfile++;
        this.logOnce('refused', { clientId, topic: msg.topic, profile: p.name }, `${p.service} would refuse this message: ${shaped.refused}`);
        throw new PublishRefusedError(msg.topic);
      }
      msg = shaped;
    }
    const link = clientId === undefined ? this.#own : this.#links.get(clientId);
    if (link === undefined || link.state !== 'connected') {
      // QoS 0 is gone; QoS 1/2 is answered 0x01 and stays with the client, which sends it again.
      if (msg.qos === 0) this.counters.droppedOffline++;
      throw new Error(`the upstream connection of ${clientId ?? 'the gateway'} is not up`);
    }
    const sentAt = this.#deps.clock.now();
    try {
      await link.publish(msg);
    } catch (err) {
      // The client still holds a QoS 1/2 message it got 0x01 for and sends it again: one its
      // connection is closed over every time would close it forever. 0x03 makes the client let go.
      if (msg.qos > 0 && this.#deps.clock.now() - sentAt <= SUSPECT_WINDOW_MS && link.strike(msg) >= POISON_STRIKES) {
        this.counters.setAside++;
        this.logOnce('setAside', { clientId, topic: msg.topic, bytes: msg.payload.length, setAsideTotal: this.counters.setAside }, 'message refused: the upstream closed the connection right after it, time after time');
        throw new PublishRefusedError(msg.topic);
      }
      throw err;
    }
  }

  async subscribe(clientId: string, filter: string, qos: SubQoS): Promise<number> {
    const link = this.#links.get(clientId);
    if (link === undefined || link.state !== 'connected') throw new Error(`the upstream connection of ${clientId} is not up`);
    const p = this.#profile;
    const asked = p !== undefined && qos > p.maxQos ? p.maxQos : qos;
    if (p !== undefined && !link.subs.has(filter) && link.subs.size >= p.maxSubscriptions) {
      this.logOnce('subscriptions', { clientId, filter, profile: p.name }, `${p.service} takes at most ${p.maxSubscriptions} subscriptions per connection`);
      return 128;
    }
    return link.subscribe(filter, asked);
  }

  async unsubscribe(clientId: string, filter: string): Promise<void> {
    await this.#links.get(clientId)?.unsubscribe(filter);
  }

  /** Dropped without DISCONNECT, the upstream broker publishes the will the connection carries. */
  disconnect(clientId: string, graceful: boolean): undefined {
    this.#settleReopen(clientId, 'unavailable');
    const link = this.#links.get(clientId);
    if (link === undefined) return;
    this.#links.delete(clientId);
    this.#end(link, graceful);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────

  logOnce(kind: string, fields: object, message: string): void {
    let w = this.#warns.get(kind);
    if (w === undefined) {
      w = new ThrottledWarn(this.#deps.clock, this.#deps.logger, LOG_INTERVAL_MS, `more like this were held back (the last one's fields here): ${message}`);
      this.#warns.set(kind, w);
    }
    w.warn(fields, message);
  }

  #connectorFor(req: ClientRequest): UpstreamConnector {
    const { base, config } = this.#deps;
    const cred = this.#deps.clients.find((c) => c.match.test(req.clientId));
    const options: MqttUpstreamOptions = {
      ...base,
      clientId: config.clientIdPrefix + req.clientId,
      cleanSession: upstreamCleanSession(req),
      keepAlive: req.keepAliveSec,
      will: req.will,
      // Acknowledged upstream once the device has it: an instance that dies loses nothing acknowledged.
      deferredAcks: true,
      incomingQos2: this.#qos2.open(req.clientId),
    };
    if (cred !== undefined) {
      options.username = cred.username?.replaceAll('%c', req.clientId);
      options.password = cred.password;
      if (cred.cert !== undefined) options.tls = { ...(base.tls ?? { rejectUnauthorized: true }), cert: cred.cert, key: cred.key };
    }
    // A 2.0 device's own MQTT-BASIC user name and password [4.11] come before any the config names
    // for it: the upstream broker authenticates the device itself (its ACL %u is the device's user).
    if (req.credentials !== undefined) {
      options.username = req.credentials.username;
      options.password = req.credentials.password;
      options.passwordProvider = undefined;
    }
    const connector = this.#deps.connectorFor(options);
    if (!discardsFirst(req)) return connector;
    // No will on the connection that only discards the session: it is closed with DISCONNECT anyway.
    return discardingFirst(this.#deps.connectorFor({ ...options, cleanSession: true, will: undefined }), connector);
  }
}

/** Whether a standing link serves a new CONNECT as it is. */
function keeps(link: ClientLink, req: ClientRequest): boolean {
  const p = link.params;
  if (req.resume !== true && (req.cleanStart ?? req.cleanSession)) return false;
  if (p.cleanSession !== req.cleanSession || p.keepAliveSec !== req.keepAliveSec) return false;
  // Other credentials are another login: the upstream judges them on a new connection.
  if (!sameCredentials(p.credentials, req.credentials)) return false;
  const a = p.will;
  const b = req.will;
  if (a === undefined || b === undefined) return a === b;
  return a.topic === b.topic && a.qos === b.qos && a.retain === b.retain && a.payload.equals(b.payload);
}

function sameCredentials(a: Credentials | undefined, b: Credentials | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.username === b.username && a.password.equals(b.password);
}
