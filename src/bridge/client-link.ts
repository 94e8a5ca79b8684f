/**
 * One client's upstream connection in transparent mode, split from transparent.ts (issue #15:
 * files stay under 500 lines). The bridge owns the map of these; each one owns its reconnecting
 * connection, its waiting CONNACKs, its subscriptions and its poison-message strikes.
 */
import type { Logger } from '../logger.js';
import { POISON_STRIKES } from './poison.js';
import { BridgeErrorCode, type BridgeError } from './errors.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import { ReconnectingUpstream, type ConnectionLoss, type ReconnectingUpstreamDeps } from './reconnecting-upstream.js';
import type { BridgeCounters, BridgeStatus, UpstreamState } from './types.js';
import type { UpstreamConnection, UpstreamConnector, Message } from './upstream.js';
import type { ClientConnectRequest as ClientRequest, ConnectOutcome, UplinkSink as ClientSink, QoS as SubQoS } from '../uplink/port.js';

/** What a link uses of its bridge; an interface so this module does not import transparent.ts back. */
export interface LinkHost {
  readonly reconnecting: LinkBasics;
  readonly counters: BridgeCounters;
  readonly logger: Logger;
}

/** The client's retransmission of a message (MQTT-SN §6.13: the same topic and payload, DUP set). */
function sameMessage(a: Message, b: Message): boolean {
  return a.topic === b.topic && a.qos === b.qos && a.payload.equals(b.payload);
}

export type LinkBasics = Pick<ReconnectingUpstreamDeps, 'clock' | 'random' | 'reconnect' | 'profile' | 'counters'>;

interface LinkEvents {
  onConnectedChange?: (connected: boolean) => void;
  onEnded?: () => void;
}

/**
 * One client's upstream connection over time (a ReconnectingUpstream: attempts, backoff, the
 * live connection), the CONNACKs waiting for it, and the subscriptions to make again when the
 * upstream lost its session.
 */
export class ClientLink {
  sink: ClientSink | undefined;
  /** filter -> granted QoS */
  readonly subs = new Map<string, SubQoS>();
  readonly #bridge: LinkHost;
  readonly #link: ReconnectingUpstream;
  readonly #events: LinkEvents;
  /** retry even before the first success (a restored session, the gateway's own connection) */
  #persistent: boolean;
  /**
   * The CONNECTs waiting for this connection's outcome. No T_RETRY / N_RETRY here, so not the
   * waitress (src/waitress.ts) the gateway's outbox and firmware-sim run on: the upstream leg is
   * MQTT 3.1.1 over TCP, which resends nothing on a timer (§4.4: unacknowledged PUBLISH and
   * PUBREL go again only on reconnect), and MQTT.js owns its packet ids and matches PUBACK,
   * PUBREC, PUBCOMP, SUBACK and UNSUBACK (we await its callbacks). A connect attempt's time-out is
   * MQTT.js's connectTimeout; what follows a failure is ReconnectingUpstream's backoff, started by
   * the failure rather than by a silent interval, jittered, growing, floored per profile and never
   * given up while the link stands. What is left is a list of waiters all given one outcome.
   */
  readonly #waiters = new OutcomeWaiters<ConnectOutcome>();
  /** the last message whose publish failed right after it was sent (see poison.ts), and how many times in a row */
  #suspect: { msg: Message; strikes: number } | undefined;

  constructor(
    bridge: LinkHost,
    readonly params: ClientRequest,
    connector: UpstreamConnector,
    persistent: boolean,
    events: LinkEvents,
  ) {
    this.#bridge = bridge;
    this.#persistent = persistent;
    this.#events = events;
    this.#link = new ReconnectingUpstream({
      ...bridge.reconnecting,
      connector,
      connected: (conn, sessionPresent) => this.#onConnected(conn, sessionPresent),
      message: (msg, done) => {
        if (this.sink === undefined) return done();
        this.#bridge.counters.received++;
        this.sink.message(msg, done);
      },
      closed: (loss) => this.#onClosed(loss),
      retries: () => this.#persistent,
    });
    this.#link.start();
  }

  get state(): 'connecting' | 'connected' | 'waiting' | 'ended' {
    const s = this.#link.state;
    return s === 'idle' || s === 'stopped' ? 'ended' : s;
  }

  get attempts(): number {
    return this.#link.attempts;
  }

  get lastError(): BridgeStatus['lastError'] {
    return this.#link.lastError;
  }

  get nextAttemptAt(): number | undefined {
    return this.#link.nextAttemptAt;
  }

  get since(): { mono: number; wall: number } {
    return this.#link.since;
  }

  upstreamState(): UpstreamState {
    return this.#link.upstreamState();
  }

  /** The next answer: at once while connected, else the outcome of the attempt under way (or the next one). */
  outcome(): Promise<ConnectOutcome> {
    if (this.state === 'connected') return Promise.resolve('accepted');
    if (this.state === 'ended') return Promise.resolve('unavailable');
    return this.#waiters.wait();
  }

  publish(msg: Message): Promise<void> {
    const conn = this.#link.conn!;
    this.#bridge.counters.sent++;
    if (msg.qos === 0) {
      conn.publish(msg);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      conn.publish(msg, (err) => {
        if (err !== undefined) return reject(err);
        if (this.#suspect !== undefined && sameMessage(this.#suspect.msg, msg)) this.#suspect = undefined;
        this.#bridge.counters.acked++;
        resolve();
      });
    });
  }

  /** The connection failed right after `msg`: how many times in a row now (another message starts over). */
  strike(msg: Message): number {
    const strikes = this.#suspect !== undefined && sameMessage(this.#suspect.msg, msg) ? this.#suspect.strikes + 1 : 1;
    this.#suspect = strikes >= POISON_STRIKES ? undefined : { msg, strikes };
    return strikes;
  }

  async subscribe(filter: string, qos: SubQoS): Promise<number> {
    const [granted = 128] = await this.#link.conn!.subscribe([{ filter, qos }]);
    if (granted <= 2) this.subs.set(filter, granted as SubQoS);
    return granted;
  }

  async unsubscribe(filter: string): Promise<void> {
    this.subs.delete(filter);
    if (this.state === 'connected') await this.#link.conn!.unsubscribe([filter]);
  }

  async end(graceful: boolean): Promise<void> {
    if (this.state === 'ended') return;
    const { wasConnected, conn } = this.#link.stop();
    this.#waiters.settle('unavailable');
    this.#events.onEnded?.();
    if (wasConnected) this.#events.onConnectedChange?.(false);
    await conn?.end(graceful);
  }

  #onConnected(conn: UpstreamConnection, sessionPresent: boolean): void {
    const log = this.#bridge.logger;
    // Once it stood, the connection is the client's until the gateway ends it: losses are retried.
    this.#persistent = true;
    log.debug({ clientId: this.params.clientId, sessionPresent }, 'client upstream connected');
    if (!sessionPresent && this.subs.size > 0) {
      // The upstream forgot the session (clean session, or a broker restart): subscribe again.
      const subs = [...this.subs].map(([filter, qos]) => ({ filter, qos }));
      conn.subscribe(subs).then(
        (granted) => {
          subs.forEach((s, i) => {
            if ((granted[i] ?? 128) > 2) {
              this.subs.delete(s.filter);
              log.warn({ clientId: this.params.clientId, filter: s.filter }, 'the upstream broker refused a subscription made again after a reconnect');
            }
          });
        },
        (err: unknown) => log.debug({ clientId: this.params.clientId, err }, 'SUBSCRIBE after a reconnect failed'),
      );
    }
    this.#waiters.settle('accepted');
    this.#events.onConnectedChange?.(true);
  }

  #onClosed({ error: e, wasConnected, retryInMs }: ConnectionLoss): void {
    if (wasConnected) this.#events.onConnectedChange?.(false);
    const fields = { clientId: this.params.clientId, code: e.code, reason: e.message };
    if (retryInMs === undefined) {
      // The first attempt for a waiting CONNACK: its outcome is the answer; the device decides when to try again.
      this.#events.onEnded?.();
      this.#waiters.settle(outcomeOf(e));
      this.#bridge.logger.info(fields, 'client upstream connection failed');
      return;
    }
    // A waiting CONNACK (a device reconnecting while this one is retried) is told "later".
    this.#waiters.settle('unavailable');
    // One line per outage, not per attempt: hundreds of devices share one broker's outage.
    if (wasConnected || this.attempts === 1) {
      this.#link.markSince();
      this.#bridge.logger.warn({ ...fields, retryInMs }, 'client upstream connection down; reconnecting');
    }
  }
}

/**
 * A failed first attempt as the device's answer (MQTT 3.1.1 §3.2.2.3): 3 "server unavailable" and
 * no answer at all are "try later"; 4 and 5 keep their cause, which a 2.0 CONNACK can tell
 * (0x86, 0x87); 1 and 2 are the gateway's configuration or the client id: refused.
 */
function outcomeOf(e: BridgeError): ConnectOutcome {
  if (e.code !== BridgeErrorCode.REFUSED || e.returnCode === 3) return 'unavailable';
  if (e.returnCode === 4) return 'badCredentials';
  if (e.returnCode === 5) return 'notAuthorized';
  return 'refused';
}
