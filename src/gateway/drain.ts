/**
 * A graceful stop, built on the gateway's public API only: stop taking new work, let the QoS
 * handshakes already under way finish, and report what is left when the grace period ends.
 *
 * ```
 * drain(gateway, transports, { graceMs })
 *   gateway.stop()            no more ADVERTISE, broker fan-out, T_RETRY; transports detached
 *   gateway.attach(gate(t))   frames come back through a gate that lets only answers in:
 *                             PUBACK PUBREC PUBCOMP REGACK PUBREL, DISCONNECT, keep-alive PINGREQ,
 *                             and a repeated QoS 2 PUBLISH the gateway already holds
 *   poll until settled        nothing in flight, no queue or QoS 2 id left for reachable clients
 *   persistence.durable()     what the store was given is on disk before the caller closes
 * ```
 *
 * Every new request (CONNECT, PUBLISH, SUBSCRIBE, a wake-up...) is dropped unanswered: the client
 * keeps what it sent and retries after T_RETRY (MQTT-SN.md §4.13), by then against the restarted
 * gateway. A congestion answer (0x01) would be worse: it tells the client to stay away for T_WAIT,
 * more than five minutes (§1.4, §4.3), for a restart that takes seconds.
 *
 * Wanted from the core instead (see the hand-over notes): a `Gateway.drain(graceMs)` that
 * refuses new work in the dispatcher and keeps T_RETRY running, and a count of inbound
 * publishes the broker has not yet accepted; until then the settle check waits one quiet poll
 * for those, which an in-process broker answers well within.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { decode, DecodeError, type Packet } from '../codec/index.js';
import { noopLogger, type Logger } from '../logger.js';
import type { Peer, Transport, TransportEvents } from '../transport/types.js';
import type { Gateway } from './gateway.js';
import type { Session } from './session.js';

export type DrainableGateway = Pick<Gateway, 'stop' | 'attach' | 'sessions' | 'byPeer' | 'persistence'>;

export interface DrainOptions {
  /** the longest to wait for handshakes to finish; 0 stops at once */
  graceMs: number;
  /** how often to look whether everything settled; default 25 ms */
  pollMs?: number;
  logger?: Logger;
  /** ends the wait early (a second Ctrl-C) */
  signal?: AbortSignal;
}

export interface DrainResult {
  /** every handshake finished within the grace period */
  settled: boolean;
  waitedMs: number;
  /** requests still awaiting an answer when the wait ended */
  inFlight: number;
  /** messages still queued for reachable clients */
  queued: number;
  /** QoS 2 messages whose PUBREL had not come */
  awaitingPubrel: number;
  /** messages kept for sleeping or absent clients (a memory store loses them at exit) */
  buffered: number;
  /** frames refused because the gateway was stopping */
  refused: number;
  /** everything written to the session store was made durable before the end */
  flushed: boolean;
}

interface Pending {
  inFlight: number;
  queued: number;
  awaitingPubrel: number;
  buffered: number;
}

function pending(sessions: ReadonlyMap<string, Session>): Pending {
  const p: Pending = { inFlight: 0, queued: 0, awaitingPubrel: 0, buffered: 0 };
  for (const s of sessions.values()) {
    if (!s.reachable) {
      // A sleeper's or absent client's handshake cannot finish before it comes back.
      p.buffered += s.queue.length + (s.inFlight !== undefined ? 1 : 0);
      continue;
    }
    if (s.inFlight !== undefined) p.inFlight++;
    p.queued += s.queue.length;
    p.awaitingPubrel += s.qos2Received.size;
  }
  return p;
}

/**
 * Whether a frame only completes work already accepted. Anything that does not decode is
 * refused too: the gateway would only drop it.
 */
function completesHandshake(p: Packet, s: Session | undefined): boolean {
  switch (p.type) {
    case 'PUBACK':
    case 'PUBREC':
    case 'PUBCOMP':
    case 'REGACK':
    case 'PUBREL':
    case 'DISCONNECT':
      return true;
    case 'PINGREQ':
      // A keep-alive is answered; a sleeper waking up (with its client id) would start a flush.
      return p.clientId === undefined && s !== undefined && s.state === 'active';
    case 'PUBLISH':
      // A repeat of a QoS 2 message already published: the gateway only answers PUBREC again.
      return p.qos === 2 && s !== undefined && s.qos2Received.has(p.msgId);
    default:
      return false;
  }
}

/**
 * A view of `inner` whose frames pass `allow` first. Sends and everything else go straight to
 * `inner`, so replies through the gate reach the same peers.
 */
function gate(inner: Transport, onFrame: (peer: Peer, frame: Buffer) => boolean): Transport {
  return {
    get name() {
      return inner.name;
    },
    get maxFrameSize() {
      return inner.maxFrameSize;
    },
    get state() {
      return inner.state;
    },
    open: () => inner.open(),
    // The gateway never closes what it attached; whoever opened `inner` closes it.
    close: () => Promise.resolve(),
    send: (peer, frame) => inner.send(peer, frame),
    broadcast: (frame, radius) => inner.broadcast(frame, radius),
    peerFromKey: (key) => inner.peerFromKey(key),
    stats: () => inner.stats(),
    on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): () => void {
      if (event !== 'frame') return inner.on(event, listener);
      const frameListener = listener as TransportEvents['frame'];
      return inner.on('frame', (peer, frame, broadcast) => {
        if (onFrame(peer, frame)) frameListener(peer, frame, broadcast);
      });
    },
  };
}

/**
 * Stops `gateway` taking new work and waits, at most `graceMs`, until the handshakes under way
 * have finished. The transports stay open (answers must still go out); close them, the broker
 * and the rest afterwards, as `RunningGateway.close()` does.
 */
export async function drain(gateway: DrainableGateway, transports: readonly Transport[], options: DrainOptions): Promise<DrainResult> {
  const logger = options.logger ?? noopLogger;
  const pollMs = options.pollMs ?? 25;
  // Real time, not the gateway's clock: the wait is for clients on real links, and its timers
  // must keep the process alive (the clock's are unref'd) while nothing else may.
  const started = performance.now();
  let refused = 0;

  await gateway.stop();
  for (const t of transports) {
    gateway.attach(
      gate(t, (peer, frame) => {
        const p = decode(frame);
        if (p instanceof DecodeError) {
          refused++;
          return false;
        }
        const s = gateway.byPeer.get(peer.key);
        if (completesHandshake(p, s)) return true;
        refused++;
        return false;
      }),
    );
  }

  const remaining = (): number => Math.max(0, options.graceMs - (performance.now() - started));
  // Messages taken just before the gate closed are acknowledged once the store holds them.
  await bounded(gateway.persistence.durable(), remaining(), options.signal);

  // Settled twice in a row: the second look comes a poll later, time enough for a publish
  // handed to the broker just before the gate closed to be accepted and acknowledged.
  let quietPolls = 0;
  let left = pending(gateway.sessions);
  while (options.graceMs > 0 && options.signal?.aborted !== true) {
    const busy = left.inFlight + left.queued + left.awaitingPubrel > 0;
    quietPolls = busy ? 0 : quietPolls + 1;
    if (quietPolls >= 2) break;
    const wait = remaining();
    if (wait <= 0) break;
    try {
      await sleep(Math.min(pollMs, wait), undefined, { signal: options.signal });
    } catch {
      break; // aborted
    }
    left = pending(gateway.sessions);
  }
  // What the drain itself changed (acknowledgements, dequeued deliveries) reaches the store too;
  // the store's own close flushes again, but this is the stop that the grace period covers.
  const flushed = await bounded(gateway.persistence.durable(), Math.max(remaining(), 1000), options.signal);
  const result: DrainResult = {
    settled: left.inFlight + left.queued + left.awaitingPubrel === 0,
    flushed,
    waitedMs: Math.round(performance.now() - started),
    ...left,
    refused,
  };
  logger.debug({ ...result }, 'drain finished');
  return result;
}

/** Whether `p` settled within `ms` (and before `signal`); a rejection counts as not settled. */
async function bounded(p: Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  if (signal?.aborted === true) ac.abort();
  else signal?.addEventListener('abort', stop, { once: true });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => false,
      ),
      sleep(ms, false, { signal: ac.signal }).catch(() => false),
    ]);
  } finally {
    ac.abort();
    signal?.removeEventListener('abort', stop);
  }
}
