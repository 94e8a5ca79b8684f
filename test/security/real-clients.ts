/**
 * The honest side of the abuse tests: real MQTT-SN clients (firmware-sim nodes over real UDP)
 * publishing QoS 1 the whole time, an MQTT subscriber on the gateway's broker listener counting
 * what arrives, and a reader of a process's resident memory.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import type { UdpAddress } from '../../firmware-sim/link.js';
import { UdpLink } from '../../firmware-sim/links/udp.js';
import { SimNode } from '../../firmware-sim/node.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Publishers {
  /** payloads the gateway acknowledged with PUBACK 0x00: each must reach the subscriber */
  readonly acked: Set<string>;
  /** publishes that failed (congestion, timeouts) and were tried again */
  failures: number;
  /** per acknowledged message: ms from its first attempt to its PUBACK 0x00, retries included, with when it was acknowledged */
  readonly latencies: Array<{ at: number; ms: number }>;
  /** Ends the loops after the publish under way, then disconnects and closes every node. */
  stop(): Promise<void>;
}

export interface PublisherOptions {
  gateway: UdpAddress;
  count: number;
  /** client ids `<prefix>-<n>`, topics `sec/<prefix>/<n>` */
  prefix: string;
  /** time from the start of one of a client's messages to the start of its next (longer when the answer is late) */
  intervalMs: number;
  /** messages per client at most: the loop is bounded in count as well as by `stop` */
  maxPerClient: number;
}

/**
 * Connects `count` nodes (each its own socket: a distinct peer), then each publishes QoS 1 in a
 * loop. A failed publish is tried again with the same payload, as a device would, so every
 * message is eventually acknowledged unless the gateway is really unusable.
 */
export async function startPublishers(o: PublisherOptions): Promise<Publishers> {
  const nodes: SimNode[] = [];
  for (let i = 0; i < o.count; i++) {
    const link = await UdpLink.open({ gateway: o.gateway, connect: true });
    // T_RETRY short, N_RETRY long: the kernel may drop datagrams while the gateway is flooded.
    nodes.push(new SimNode({ link, clientId: `${o.prefix}-${i}`, retryMs: 500, maxRetries: 20, reconnect: { initialDelayMs: 200, maxDelayMs: 1000 } }));
  }
  await Promise.all(nodes.map((n) => n.connect({ keepAlive: 120 })));
  const acked = new Set<string>();
  let stopping = false;
  const result: Publishers = {
    acked,
    failures: 0,
    latencies: [],
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      await Promise.all(nodes.map((n) => Promise.race([n.disconnect().catch(() => undefined), sleep(2000)])));
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
  const loops = nodes.map(async (node, i) => {
    // Spread the clients over the interval so that they do not publish in lockstep.
    await sleep((o.intervalMs * i) / o.count);
    let firstTry = Date.now();
    for (let n = 0; n < o.maxPerClient && !stopping; ) {
      const payload = `${node.clientId}:${n}`;
      try {
        await node.publish({ topic: `sec/${o.prefix}/${i}`, payload, qos: 1 });
        acked.add(payload);
        const now = Date.now();
        result.latencies.push({ at: now, ms: now - firstTry });
        n++;
        // Paced from the start of this message, so that a client plans intervalMs between messages whatever the round trip.
        await sleep(Math.max(0, o.intervalMs - (now - firstTry)));
        firstTry = Date.now();
      } catch {
        result.failures++;
        await sleep(100);
      }
    }
  });
  return result;
}

export interface Subscriber {
  readonly received: Set<string>;
  /** the same payload more than once (QoS 1 allows it; counted for the report) */
  duplicates: number;
  close(): Promise<void>;
}

/** An MQTT 3.1.1 client on the gateway's local broker listener, subscribed at QoS 1. */
export async function subscribe(port: number, filter: string): Promise<Subscriber> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, protocolVersion: 4 });
  const s: Subscriber = {
    received: new Set(),
    duplicates: 0,
    close: () => client.endAsync(),
  };
  client.on('message', (_topic, payload) => {
    const p = payload.toString();
    if (s.received.has(p)) s.duplicates++;
    else s.received.add(p);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return s;
}

/** Acknowledged payloads the subscriber has not seen. */
export function missing(p: Publishers, s: Subscriber): string[] {
  return [...p.acked].filter((x) => !s.received.has(x));
}

/** Waits (bounded) for every acknowledged message to reach the subscriber; returns what is still missing. */
export async function awaitDelivery(p: Publishers, s: Subscriber, timeoutMs: number): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  while (missing(p, s).length > 0 && Date.now() < end) await sleep(50);
  return missing(p, s);
}

/** Resident set size of a process, in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak. */
export function watchRss(pid: number, everyMs = 100): { peak: () => number; stop: () => void } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone: the test's own checks report that
    }
  }, everyMs);
  // A sampler never keeps the test's process alive: a test that failed before stop() would hang its file.
  timer.unref();
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

export const MiB = 1024 * 1024;
