/**
 * A run of simulated devices: opens their links, starts each node's profile (spread over a
 * ramp), optionally follows every message end to end with an observer subscriber, stops at the
 * duration, the publish count or a signal, drains, and returns the structured report. The CLI
 * is a thin shell over it; tests call it directly.
 */
import { setMaxListeners } from 'node:events';
import { systemClock, type Clock } from '../src/clock.js';
import type { QoS } from '../src/codec/index.js';
import { SimError, SimErrorCode } from './errors.js';
import type { Link, UdpAddress } from './link.js';
import { SerialMedium, type SerialMediumOptions } from './links/serial.js';
import { UdpLink } from './links/udp.js';
import { SimNode } from './node.js';
import { deliveryKey, profiles, wait, type ProfileContext, type ProfileName } from './profiles.js';
import { RunStats, type SimReport } from './stats.js';
import type { Credentials, ProtocolVersion } from './wire/index.js';

export type FleetTarget =
  | { kind: 'udp'; gateway: UdpAddress }
  /** find the gateway by SEARCHGW sent to this (broadcast, multicast or unicast) address */
  | { kind: 'udp-search'; search: UdpAddress }
  | ({ kind: 'serial' } & SerialMediumOptions);

export interface FleetOptions {
  target: FleetTarget;
  nodes: number;
  /** assigned round-robin: node i runs profiles[i % length] */
  profiles: ProfileName[];
  /**
   * MQTT-SN versions, assigned round-robin over rounds of the profiles: node i speaks
   * protocols[floor(i / profiles.length) % length], so every profile runs in every version
   * (`--profile a,b --protocol 1.2,2`: a/1.2, b/1.2, a/2, b/2, ...). Observer k speaks
   * protocols[k % length]. Default ['1.2'].
   */
  protocols?: ProtocolVersion[];
  /** 2.0 nodes connect with MQTT-BASIC user name and password (1.2 has no place for them) */
  auth?: Credentials;
  /** 2.0 Session Expiry Interval in seconds; default: 0 with clean sessions, never expiring without */
  sessionExpiry?: number;
  /** publishes per second per node */
  rate: number;
  qos: QoS;
  /** 0: until `signal` aborts */
  durationMs: number;
  /** stop after this many publishes in total */
  count?: number;
  keepAlive: number;
  cleanSession: boolean;
  will: boolean;
  sleepSec: number;
  predefinedId: number;
  clientPrefix: string;
  topicPrefix: string;
  /**
   * A subscriber to `<topicPrefix>/#` that checks every QoS 1/2 publish arrives, once. 'auto':
   * when the gateway lets it connect and subscribe, else the run counts acknowledgements only
   * (the report says which and why); true: the same, and the CLI fails a run it could not observe.
   */
  observe: boolean | 'auto';
  retryMs: number;
  maxRetries: number;
  /** node starts are spread evenly over this */
  rampMs: number;
  /** after the stop: how long in-flight publishes (and deliveries to the observer) may take */
  drainMs: number;
  seed: number;
  signal?: AbortSignal;
  clock?: Clock;
  onProgress?: (p: FleetProgress) => void;
  progressMs?: number;
}

export interface FleetProgress {
  elapsedMs: number;
  nodes: number;
  connected: number;
  sent: number;
  acknowledged: number;
  received: number;
  lost: number;
  stopping: boolean;
}

/**
 * The version of node `i`: round-robin over rounds of the profiles, so that every profile runs in
 * every version (`a,b` with `1.2,2`: a/1.2, b/1.2, a/2, b/2, ...). Observers go round the versions.
 */
export function nodeProtocol(i: number, o: Pick<FleetOptions, 'profiles' | 'protocols'>): ProtocolVersion {
  const versions = o.protocols && o.protocols.length > 0 ? o.protocols : (['1.2'] as const);
  return versions[Math.floor(i / Math.max(1, o.profiles.length)) % versions.length]!;
}

/** mulberry32: a small seedable PRNG so a run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONNECTIONLESS: ReadonlySet<ProfileName> = new Set(['beacon', 'misbehaving']);

const pad = (i: number, n: number): string => String(i).padStart(Math.max(3, String(n).length), '0');

/** Opens one link per node (plus the observer's), in batches so thousands do not stall the loop. */
async function openLinks(target: FleetTarget, count: number): Promise<{ links: Link[]; close: () => Promise<void> }> {
  if (target.kind === 'serial') {
    const medium = await SerialMedium.open(target);
    if (count > medium.capacity) {
      await medium.close();
      throw new SimError(SimErrorCode.BAD_ARGUMENT, `${target.framing} on one line carries ${medium.capacity} node(s), ${count} asked${target.framing === 'slip' ? ' (add --forwarder for more)' : ''}`);
    }
    const links = Array.from({ length: count }, (_, i) => medium.link(i));
    return { links, close: () => medium.close() };
  }
  const links: Link[] = [];
  try {
    for (let i = 0; i < count; i += 200) {
      const batch = Array.from({ length: Math.min(200, count - i) }, () =>
        UdpLink.open(target.kind === 'udp' ? { gateway: target.gateway } : { search: target.search }),
      );
      links.push(...(await Promise.all(batch)));
    }
  } catch (err) {
    await Promise.all(links.map((l) => l.close()));
    throw err;
  }
  return { links, close: () => Promise.resolve() };
}

export async function runFleet(o: FleetOptions): Promise<SimReport> {
  if (o.protocols?.includes('2') === true && o.keepAlive < 1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'keepAlive 0: MQTT-SN 2.0 cannot turn keep-alive off (MQTT-SN-3.1.6-4)');
  const clock = o.clock ?? systemClock;
  const stats = new RunStats(() => clock.now());
  const random = seededRandom(o.seed);
  const observers = o.observe === false ? 0 : observerCount(o);
  const total = o.nodes + observers;
  const { links, close: closeMedium } = await openLinks(o.target, total);
  const stop = new AbortController();
  // Every waiting profile listens on this one signal: thousands of listeners are expected.
  setMaxListeners(0, stop.signal);
  const onOuterAbort = (): void => stop.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const budget = o.count !== undefined ? { left: o.count } : undefined;
  const nodes: SimNode[] = [];
  const connectedOnce = new Set<SimNode>();
  stats.nodesTotal = o.nodes;
  const versionOf = (i: number): ProtocolVersion => (i < o.nodes ? nodeProtocol(i, o) : nodeProtocol(i - o.nodes, { profiles: [o.profiles[0]!], protocols: o.protocols }));

  for (let i = 0; i < total; i++) {
    const protocol = versionOf(i);
    const node = new SimNode({
      link: links[i]!,
      protocol,
      clientId: i < o.nodes ? `${o.clientPrefix}${pad(i + 1, o.nodes)}` : `${o.clientPrefix}observer${observers > 1 ? i - o.nodes + 1 : ''}`,
      clock,
      retryMs: o.retryMs,
      maxRetries: o.maxRetries,
      observer: stats,
      random,
      discover: o.target.kind === 'udp-search' ? { timeoutMs: 30_000, repeatMs: 1000 } : false,
      reconnect: { initialDelayMs: 1000, maxDelayMs: 30_000 },
      predefinedTopics: { [o.predefinedId]: `${o.topicPrefix}/beacon` },
    });
    if (i < o.nodes) {
      const byVersion = (stats.protocols[protocol] ??= { nodes: 0, connected: 0 });
      byVersion.nodes++;
      node.on('state', (s) => {
        if (s === 'active' && !connectedOnce.has(node)) {
          connectedOnce.add(node);
          stats.nodesConnected++;
          byVersion.connected++;
        }
      });
    }
    nodes.push(node);
  }

  const ctxFor = (i: number, node: SimNode): ProfileContext => ({
    node,
    index: i,
    clientId: node.clientId ?? `node-${i}`,
    clock,
    random,
    signal: stop.signal,
    qos: o.qos,
    rate: o.rate,
    topicPrefix: o.topicPrefix,
    keepAlive: o.keepAlive,
    cleanSession: o.cleanSession,
    will: o.will,
    sleepSec: o.sleepSec,
    predefinedId: o.predefinedId,
    // 1.2 has no authentication and no session expiry: only 2.0 nodes carry them.
    auth: node.protocol === '2' ? o.auth : undefined,
    sessionExpiry: node.protocol === '2' ? o.sessionExpiry : undefined,
    stats,
    budget,
  });

  // Observers subscribe before the publishers start, so nothing is missed. They connect first,
  // too: their CONNECTs come out of the gateway's per-address CONNECT burst before the nodes'
  // (nodes retry with backoff when refused; a refused observer does not hold the run up).
  if (observers > 0) {
    const whys = await Promise.all(
      Array.from({ length: observers }, (_, k) => {
        const obs = nodes[o.nodes + k]!;
        obs.on('message', (m) => {
          if (m.topic === undefined) return;
          const key = deliveryKey(m.topic, m.payload);
          if (key !== undefined) stats.delivered(key);
        });
        // One observer takes the whole prefix; several split the nodes between them, each
        // subscribing to its nodes' topics (every profile's topics are <prefix>/<client id>/...).
        const filters = observers === 1 ? [`${o.topicPrefix}/#`] : nodes.slice(0, o.nodes).flatMap((n, i) => (i % observers === k ? [`${o.topicPrefix}/${n.clientId ?? ''}/#`] : []));
        return startObserver(ctxFor(o.nodes + k, obs), filters);
      }),
    );
    const why = whys.find((w) => w !== undefined);
    // Half a view would call the other half lost: observe with all of them or not at all.
    if (why === undefined) stats.observeEndToEnd();
    else stats.notObserved(why);
  } else {
    stats.notObserved('--no-observe');
  }

  const started = clock.now();
  const runs: Promise<void>[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const ctx = ctxFor(i, nodes[i]!);
    const profile = profiles[o.profiles[i % o.profiles.length]!];
    const offset = o.nodes > 1 ? (o.rampMs * i) / o.nodes : 0;
    runs.push(
      (async () => {
        if (offset > 0 && !(await wait(ctx, offset))) return;
        await profile.run(ctx);
      })().catch(() => {}),
    );
  }

  const progress = (stopping: boolean): FleetProgress => {
    const r = stats.report();
    // Messages on their way to the observer are not lost yet: the report decides after the drain.
    const unacked = r.publish['1'].lost + r.publish['2'].lost;
    return { elapsedMs: clock.now() - started, nodes: o.nodes, connected: stats.nodesConnected, sent: r.sent, acknowledged: r.acknowledged, received: r.received, lost: unacked, stopping };
  };

  // One timer checks every stop condition and reports progress.
  const tickMs = Math.min(o.progressMs ?? 1000, 100);
  let lastProgress = clock.now();
  await new Promise<void>((resolve) => {
    const check = (): void => {
      const now = clock.now();
      if (o.onProgress && now - lastProgress >= (o.progressMs ?? 1000)) {
        lastProgress = now;
        o.onProgress(progress(false));
      }
      if (stop.signal.aborted || (o.durationMs > 0 && now - started >= o.durationMs) || (budget !== undefined && budget.left <= 0)) {
        resolve();
        return;
      }
      clock.setTimeout(check, tickMs);
    };
    check();
  });
  stop.abort();
  o.onProgress?.(progress(true));

  // Drain: in-flight publishes finish (or fail) and the observer gets what is on its way.
  const drainUntil = clock.now() + o.drainMs;
  const drained = Promise.all(runs);
  await Promise.race([drained, sleep(clock, o.drainMs)]);
  while (stats.observing && stats.inTransit > 0 && clock.now() < drainUntil) await sleep(clock, 50);

  await Promise.all(nodes.map((n) => Promise.race([n.disconnect().catch(() => {}), sleep(clock, 2000)])));
  await Promise.all(nodes.map((n) => n.close()));
  await closeMedium();
  o.signal?.removeEventListener('abort', onOuterAbort);
  // Beacons and misbehaving nodes never connect: they cannot fail to.
  let connecting = 0;
  for (let i = 0; i < o.nodes; i++) if (!CONNECTIONLESS.has(o.profiles[i % o.profiles.length]!)) connecting++;
  stats.nodesFailed = Math.max(0, connecting - stats.nodesConnected);
  return stats.report();
}

/** CONNECT attempts of the observer refused for congestion before the run goes on without it. */
const OBSERVER_CONNECT_TRIES = 5;
/**
 * QoS 1 deliveries per second one observer is counted on for. A gateway has one message in flight
 * toward a client at a time (MQTT-SN.md §4.7, §4.10), so one observer takes one
 * round trip per message; on a busy 2-core machine that is a few hundred a second, and the
 * gateway's per-client queue (limits.maxInflightQueue) drops what waits beyond it.
 */
const OBSERVER_RATE = 250;
/** A gateway takes at most 100 subscriptions per client by default (limits.maxSubscriptionsPerClient). */
const OBSERVER_FILTERS = 100;
const MAX_OBSERVERS = 16;

/**
 * Enough observers for the run's publish rate and for one subscription per node each. These
 * numbers lift no gateway limit: they keep the observers inside the gateway's shipped defaults
 * (one message in flight per client, `maxInflightQueue`, `maxSubscriptionsPerClient`), and
 * test/firmware-sim/readme-demo.test.ts runs the README's demo against the shipped
 * gateway.config.json unchanged but for its ports to prove it.
 */
function observerCount(o: Pick<FleetOptions, 'nodes' | 'rate'>): number {
  const byRate = Math.ceil((o.nodes * o.rate) / OBSERVER_RATE);
  const n = Math.min(MAX_OBSERVERS, o.nodes, Math.max(1, byRate));
  return n > 1 ? Math.max(n, Math.min(MAX_OBSERVERS, Math.ceil(o.nodes / OBSERVER_FILTERS))) : 1;
}

/**
 * Connects the observer and subscribes it to `filter`; undefined when it watches, otherwise why
 * not (for the report). Bounded: a gateway that refuses or ignores it costs the run a few seconds
 * at most, never the run.
 */
async function startObserver(ctx: ProfileContext, filters: readonly string[]): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.node.connect({ clientId: ctx.clientId, cleanSession: true, keepAlive: ctx.keepAlive, auth: ctx.auth });
      break;
    } catch (err) {
      const congested = err instanceof SimError && err.code === SimErrorCode.CONGESTION;
      if (!congested || attempt >= OBSERVER_CONNECT_TRIES) return `the observer could not connect: ${err instanceof Error ? err.message : String(err)}`;
      // MQTT-SN 1.2 §4.3 (MQTT-SN.md 1.4): after "congestion" wait T_WAIT before trying again; 1 s refills a rate bucket.
      if (!(await wait(ctx, 1000))) return 'the run ended before the observer connected';
    }
  }
  for (const filter of filters) {
    try {
      await ctx.node.subscribe(filter, 2);
    } catch (err) {
      return `the gateway did not let the observer subscribe to ${filter}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}
