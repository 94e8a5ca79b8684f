/**
 * A graceful stop: stop taking new work, let the QoS handshakes already under way finish, and
 * report what is left when the grace period ends.
 *
 * ```
 * drain(gateway, { graceMs })
 *   gateway.startDraining()   no more ADVERTISE, broker fan-out, T_RETRY; the dispatcher admits
 *                             only answers (guard.ts `admittedWhileDraining`): PUBACK PUBREC
 *                             PUBCOMP REGACK PUBREL, DISCONNECT, keep-alive PINGREQ, and a
 *                             repeated QoS 2 PUBLISH the gateway already holds
 *   poll until settled        nothing in flight, no queue or QoS 2 id left for reachable clients
 *   persistence.durable()     what the store was given is on disk before the caller closes
 * ```
 *
 * The wait runs on the gateway's injected clock. Until the gateway counts inbound publishes the
 * broker has not yet accepted, the settle check waits one quiet poll for those, which an
 * in-process broker answers well within.
 */
import { noopLogger, type Logger } from '../logger.js';
import type { Gateway } from './gateway.js';
import type { Session } from './session.js';

export type DrainableGateway = Pick<Gateway, 'startDraining' | 'drainRefused' | 'sessions' | 'persistence' | 'clock'>;

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
 * Stops `gateway` taking new work and waits, at most `graceMs`, until the handshakes under way
 * have finished. The transports stay open (answers must still go out); close them, the broker
 * and the rest afterwards, as `RunningGateway.close()` does.
 */
export async function drain(gateway: DrainableGateway, options: DrainOptions): Promise<DrainResult> {
  const logger = options.logger ?? noopLogger;
  const pollMs = options.pollMs ?? 25;
  const clock = gateway.clock;
  const started = clock.now();
  // The clock's timers never keep the process alive; this does, for the grace period only.
  const hold = setInterval(() => undefined, 60_000);
  try {
    await gateway.startDraining();
    const remaining = (): number => Math.max(0, options.graceMs - (clock.now() - started));
    // Messages taken just before the drain began are acknowledged once the store holds them.
    await bounded(clock, gateway.persistence.durable(), remaining(), options.signal);

    // Settled twice in a row: the second look comes a poll later, time enough for a publish
    // handed to the broker just before the drain began to be accepted and acknowledged.
    let quietPolls = 0;
    let left = pending(gateway.sessions);
    while (options.graceMs > 0 && options.signal?.aborted !== true) {
      const busy = left.inFlight + left.queued + left.awaitingPubrel > 0;
      quietPolls = busy ? 0 : quietPolls + 1;
      if (quietPolls >= 2) break;
      const wait = remaining();
      if (wait <= 0) break;
      if (!(await pause(clock, Math.min(pollMs, wait), options.signal))) break; // aborted
      left = pending(gateway.sessions);
    }
    // What the drain itself changed (acknowledgements, dequeued deliveries) reaches the store too;
    // the store's own close flushes again, but this is the stop that the grace period covers.
    const flushed = await bounded(clock, gateway.persistence.durable(), Math.max(remaining(), 1000), options.signal);
    const result: DrainResult = {
      settled: left.inFlight + left.queued + left.awaitingPubrel === 0,
      flushed,
      waitedMs: Math.round(clock.now() - started),
      ...left,
      refused: gateway.drainRefused,
    };
    logger.debug({ ...result }, 'drain finished');
    return result;
  } finally {
    clearInterval(hold);
  }
}

/** Waits `ms` on the clock; false when `signal` ended the wait first. */
function pause(clock: DrainableGateway['clock'], ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether `p` settled within `ms` (and before `signal`); a rejection counts as not settled. */
async function bounded(clock: DrainableGateway['clock'], p: Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
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
      pause(clock, ms, ac.signal).then(() => false),
    ]);
  } finally {
    ac.abort();
    signal?.removeEventListener('abort', stop);
  }
}
