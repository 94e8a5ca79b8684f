/**
 * The load generator of benchmarks: one process drives thousands of simulated nodes, each with
 * its own UDP socket (a distinct peer to the gateway), and publishes at a target rate.
 *
 * Pacing is a token bucket refilled by one timer for the whole run, never a timer per message
 * or per node: each tick adds `rate x dt` tokens, and each token sends one PUBLISH from the next
 * idle node (a ring of idle nodes; a QoS 1/2 node is busy until its ack, §4.7 allows one in
 * flight). Tokens that find no idle node are counted as `skipped`: the gateway is the
 * bottleneck, not the generator. The run is bounded by a duration and optionally a count.
 */
import { systemClock, type Clock } from '../src/clock.js';
import type { QoS } from '../src/codec/index.js';
import { SimError, SimErrorCode } from './errors.js';
import { parseUdpUrl, type UdpAddress } from './link.js';
import { UdpLink } from './links/udp.js';
import { SimNode } from './node.js';
import { RunStats, type LatencySummary } from './stats.js';
import type { ProtocolVersion } from './wire/index.js';

export interface LoadOptions {
  /** `udp://host:port` or a parsed address */
  gateway: string | UdpAddress;
  nodes: number;
  /** target publishes per second, all nodes together */
  rate: number;
  /** length of the publishing phase (connects and drain come on top) */
  durationMs: number;
  /** stop publishing after this many */
  maxMessages?: number;
  /** default 1 */
  qos?: QoS;
  /** how nodes name the topic: a registered name (default), a short name, or a predefined id (QoS -1 needs one of the last two) */
  topic?: 'register' | 'short' | 'predefined';
  predefinedId?: number;
  /** fixed payload size in bytes; default a small JSON reading with a sequence number */
  payloadBytes?: number;
  /** builds each payload (e.g. with a send timestamp for end-to-end latency); overrides payloadBytes */
  payload?: (seq: number) => Buffer | string;
  /** default 300 s: keep-alive pings are not the load under test */
  keepAlive?: number;
  /** the MQTT-SN version of every node; default '1.2' (2.0 has no short names: use 'register' or 'predefined') */
  protocol?: ProtocolVersion;
  /** CONNECTs started per second during setup; default 1000 */
  connectRate?: number;
  /** T_RETRY and N_RETRY of the nodes; default 5000 ms and 3 */
  retryMs?: number;
  maxRetries?: number;
  clientPrefix?: string;
  topicPrefix?: string;
  /** SO_RCVBUF / SO_SNDBUF asked for each socket; default 256 KiB (the kernel caps it) */
  socketBufferBytes?: number;
  /** most tokens the bucket holds: how big a burst may follow a stall; default rate / 20, at least 1 */
  burst?: number;
  /** pacing tick; default 5 ms */
  tickMs?: number;
  /** after the publishing phase, how long in-flight publishes may take; default 5000 ms */
  drainMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

export interface LoadReport {
  nodes: { requested: number; connected: number; failed: number };
  /** time spent opening sockets and connecting */
  setupMs: number;
  /** the publishing phase, measured */
  durationMs: number;
  targetRate: number;
  /** publishes sent per second during the publishing phase */
  sentRate: number;
  /** acknowledged (QoS 1/2) or sent (QoS 0/-1) per second during the publishing phase */
  achievedRate: number;
  sent: number;
  /** QoS 1/2 publishes acknowledged */
  acknowledged: number;
  /** QoS 1/2 publishes that failed after being sent */
  lost: number;
  /** publishes that could not be sent (node not connected) */
  refused: number;
  /** tokens that found every node busy: the target rate was not reachable */
  skipped: number;
  retransmissions: number;
  errors: Record<string, number>;
  latency: { connect?: LatencySummary; register?: LatencySummary; publish?: LatencySummary };
  memory: { rssBytes: number; heapUsedBytes: number; heapPerNodeBytes: number };
}

const sleep = (clock: Clock, ms: number): Promise<void> => new Promise((r) => clock.setTimeout(r, ms));

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const clock = o.clock ?? systemClock;
  const qos = o.qos ?? 1;
  const topicMode = o.topic ?? (qos === -1 ? 'predefined' : 'register');
  if (qos === -1 && topicMode === 'register') throw new SimError(SimErrorCode.BAD_ARGUMENT, 'QoS -1 needs topic "short" or "predefined" (§4.8)');
  if (o.protocol === '2' && topicMode === 'short') throw new SimError(SimErrorCode.BAD_ARGUMENT, 'MQTT-SN 2.0 has no short topic names [2.4]: topic "register" or "predefined"');
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'nodes must be a positive integer');
  if (!(o.rate > 0)) throw new SimError(SimErrorCode.BAD_ARGUMENT, 'rate must be > 0');
  const gateway = typeof o.gateway === 'string' ? parseUdpUrl(o.gateway) : o.gateway;
  const clientPrefix = o.clientPrefix ?? 'load-';
  const topicPrefix = o.topicPrefix ?? 'load';
  const stats = new RunStats(() => clock.now());
  const setupStart = clock.now();
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;

  // Sockets, in batches: thousands of binds at once would only queue in libuv anyway.
  const links: UdpLink[] = [];
  const buf = o.socketBufferBytes ?? 256 * 1024;
  try {
    for (let i = 0; i < o.nodes; i += 500) {
      const n = Math.min(500, o.nodes - i);
      links.push(...(await Promise.all(Array.from({ length: n }, () => UdpLink.open({ gateway, connect: true, recvBufferSize: buf, sendBufferSize: buf })))));
    }
  } catch (err) {
    await Promise.all(links.map((l) => l.close()));
    throw err;
  }
  const width = String(o.nodes).length;
  const nodes = links.map(
    (link, i) =>
      new SimNode({
        link,
        protocol: o.protocol,
        clientId: `${clientPrefix}${String(i + 1).padStart(width, '0')}`,
        clock,
        retryMs: o.retryMs ?? 5000,
        maxRetries: o.maxRetries ?? 3,
        observer: stats,
        reconnect: false,
      }),
  );
  const topicIds = new Uint16Array(o.nodes);

  // Connects paced at connectRate, each node registering its topic right after.
  const connectRate = o.connectRate ?? 1000;
  const perTick = Math.max(1, Math.ceil(connectRate / 100));
  const ready: Promise<boolean>[] = [];
  for (let i = 0; i < o.nodes && o.signal?.aborted !== true; i += perTick) {
    for (let j = i; j < Math.min(o.nodes, i + perTick); j++) {
      const node = nodes[j]!;
      ready.push(
        (async () => {
          if (qos !== -1) await node.connect({ cleanSession: true, keepAlive: o.keepAlive ?? 300 });
          if (topicMode === 'register') topicIds[j] = await node.register(`${topicPrefix}/${node.clientId ?? j}/load`);
          return true;
        })().catch(() => false),
      );
    }
    await sleep(clock, (perTick / connectRate) * 1000);
  }
  const ok = await Promise.all(ready);
  const connected = ok.filter(Boolean).length;
  const setupMs = clock.now() - setupStart;
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;

  // The idle ring: indices of nodes that may publish now.
  const ring = new Int32Array(o.nodes + 1);
  let head = 0;
  let tail = 0;
  let idle = 0;
  const push = (i: number): void => {
    ring[tail] = i;
    tail = tail + 1 === ring.length ? 0 : tail + 1;
    idle++;
  };
  const pop = (): number => {
    const i = ring[head]!;
    head = head + 1 === ring.length ? 0 : head + 1;
    idle--;
    return i;
  };
  ok.forEach((good, i) => {
    if (good) push(i);
  });

  const fixed = o.payloadBytes !== undefined ? Buffer.alloc(o.payloadBytes, 0x61) : undefined;
  let sent = 0;
  let skipped = 0;
  let tokens = 0;
  const burst = Math.max(1, o.burst ?? o.rate / 20);
  const tickMs = o.tickMs ?? 5;
  const limit = o.maxMessages ?? Infinity;
  const started = clock.now();
  let last = started;
  let inFlight = 0;

  const publishFrom = (i: number): void => {
    const node = nodes[i]!;
    const payload = o.payload?.(sent) ?? fixed ?? `{"t":${(20 + (sent % 50) / 10).toFixed(1)},"seq":${sent}}`;
    sent++;
    const target = topicMode === 'register' ? { topicId: topicIds[i]! } : topicMode === 'short' ? { shortName: 'ld' } : { predefinedId: o.predefinedId ?? 1 };
    if (qos <= 0) {
      // Nothing to wait for: the node may publish again at once, so one node is not held to
      // one message per pacing tick.
      node.publish({ ...target, payload, qos }).catch(() => undefined);
      push(i);
      return;
    }
    inFlight++;
    node.publish({ ...target, payload, qos }).then(
      () => {
        inFlight--;
        push(i);
        // Send again at once where tokens allow, so one node is not held to one message per tick.
        if (!finished) spend();
      },
      () => {
        inFlight--;
        // A node whose gateway is gone leaves the pool; one that was only refused stays.
        if (node.state === 'active' || qos === -1) push(i);
      },
    );
  };

  let finished = false;
  /** Refills the bucket from the time passed and spends it on idle nodes. */
  const spend = (): void => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + (o.rate * (now - last)) / 1000);
    last = now;
    while (tokens >= 1 && sent < limit) {
      if (idle === 0) return;
      tokens--;
      publishFrom(pop());
    }
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      spend();
      // Tokens left with every node busy: the target rate is beyond what the nodes can carry.
      if (tokens >= 1 && idle === 0) {
        skipped += Math.floor(tokens);
        tokens -= Math.floor(tokens);
      }
      const now = clock.now();
      if (sent >= limit || now - started >= o.durationMs || o.signal?.aborted === true) {
        finished = true;
        resolve();
        return;
      }
      clock.setTimeout(tick, tickMs);
    };
    tick();
  });
  const durationMs = clock.now() - started;
  const afterPhase = stats.report();

  const drainUntil = clock.now() + (o.drainMs ?? 5000);
  while (inFlight > 0 && clock.now() < drainUntil) await sleep(clock, 10);
  await Promise.all(nodes.map((n) => Promise.race([n.disconnect().catch(() => {}), sleep(clock, 2000)])));
  await Promise.all(nodes.map((n) => n.close()));

  const r = stats.report();
  const q = String(qos) as '-1' | '0' | '1' | '2';
  const pubKind = qos === 1 ? 'publish1' : qos === 2 ? 'publish2' : undefined;
  const mem = process.memoryUsage();
  const acknowledgedInPhase = afterPhase.publish[q].acknowledged;
  return {
    nodes: { requested: o.nodes, connected, failed: o.nodes - connected },
    setupMs: Math.round(setupMs),
    durationMs: Math.round(durationMs),
    targetRate: o.rate,
    sentRate: Math.round((sent / durationMs) * 1000),
    achievedRate: Math.round(((qos >= 1 ? acknowledgedInPhase : sent) / durationMs) * 1000),
    sent: r.publish[q].sent,
    acknowledged: r.publish[q].acknowledged,
    lost: r.publish[q].lost - r.publish[q].refused,
    refused: r.publish[q].refused,
    skipped,
    retransmissions: r.retransmissions,
    errors: r.errors,
    latency: { connect: r.latency.connect, register: r.latency.register, publish: pubKind ? r.latency[pubKind] : undefined },
    memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, heapPerNodeBytes: Math.round(Math.max(0, heapAfter - heapBefore) / o.nodes) },
  };
}
