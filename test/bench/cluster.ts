/**
 * Cluster bench: 1, 2 and 3 gateway instances (transparent mode, shipped defaults) behind the UDP
 * front end, on a 3-node NATS cluster, all on this machine. Per instance count: how many device
 * sessions were held (CONNACK 0, and counted in the instances' /api/sessions), how long the
 * connects took, QoS 1 messages per second from devices with one PUBLISH in flight each, and the
 * resident memory per instance.
 *
 * On 2 cores shared by NATS, nginx, the instances and the simulated devices, adding instances
 * cannot show throughput scaling: the figures say what one machine holds and what an instance
 * costs, not what N machines would do.
 */
import { Device, DEFAULT_DEVICE } from '../cluster/device.js';
import { planFrontEnd } from '../cluster/front-end.js';
import { startStack } from '../cluster/stack.js';

export interface ClusterBenchRow {
  instances: number;
  sessions: number;
  connectSec: number;
  msgsPerSec: number;
  rssMiBPerInstance: number;
  /** RSS growth of all instances over the sessions they took, per session */
  kiBPerSession: number;
}

/** Sessions opened per run: under upstream.maxConnections' default (1000) even on one instance. */
const SESSIONS = 900;
const PUBLISHERS = 200;
const PUBLISH_MS = 10_000;

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

async function inBatches<T>(items: readonly T[], size: number, f: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

export async function runClusterBench(counts: readonly number[] = [1, 2, 3]): Promise<ClusterBenchRow[]> {
  const rows: ClusterBenchRow[] = [];
  for (const n of counts) {
    const stack = await startStack({ instances: n, brokerNodes: 3, proxyTimeoutSec: 120 });
    const devices = Array.from({ length: SESSIONS }, (_, i) => new Device(`bench-${i}`, stack.front.listen, { ...DEFAULT_DEVICE, keepAliveSec: 60 }));
    try {
      await inBatches(devices, 100, (d) => d.open());
      const idle = stack.instances.map((i) => i.rssBytes() ?? 0);
      const t0 = Date.now();
      let held = 0;
      await inBatches(devices, 50, async (d) => {
        await d.connect();
        held++;
      });
      const connectSec = (Date.now() - t0) / 1000;
      const counted = (await Promise.all(stack.instances.map((i) => i.sessionIds()))).reduce((a, ids) => a + ids.length, 0);
      const rss = stack.instances.map((i) => i.rssBytes() ?? 0);
      const pubs = devices.slice(0, PUBLISHERS);
      const ids = await Promise.all(pubs.map((d) => d.settled(() => d.register(`bench/${d.id}`))));
      let acked = 0;
      const end = Date.now() + PUBLISH_MS;
      const started = Date.now();
      await Promise.all(
        pubs.map(async (d, k) => {
          for (let seq = 0; Date.now() < end && seq < 1_000_000; seq++) {
            if ((await d.publish(ids[k] ?? 0, `${d.id}:${seq}`).catch(() => -1)) === 0) acked++;
          }
        }),
      );
      const secs = (Date.now() - started) / 1000;
      rows.push({ instances: n, sessions: Math.min(held, counted), connectSec, msgsPerSec: acked / secs, rssMiBPerInstance: sum(rss) / rss.length / 2 ** 20,
        kiBPerSession: (sum(rss) - sum(idle)) / Math.max(1, counted) / 1024,
      });
    } finally {
      for (const d of devices) d.close();
      await stack.stop();
    }
  }
  return rows;
}

export function clusterTable(rows: readonly ClusterBenchRow[]): string {
  const lines = [
    `### Cluster: gateway instances on a 3-node NATS cluster behind the ${planFrontEnd().name} UDP front end (${SESSIONS} device sessions; ${PUBLISHERS} of them publish QoS 1, one in flight each, for ${PUBLISH_MS / 1000} s)`,
    '',
    '| instances | sessions held | connect time | QoS 1 msg/s | RSS per instance | RSS growth per session |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.instances} | ${r.sessions} | ${r.connectSec.toFixed(1)} s | ${r.msgsPerSec.toFixed(0)} | ${r.rssMiBPerInstance.toFixed(0)} MiB | ${r.kiBPerSession.toFixed(0)} KiB |`),
    '',
    'RSS is of the instance run from source through tsx (the compiled CLI is smaller); the growth per session is what a device costs an instance in transparent mode (its upstream MQTT connection included).',
    '',
    'Everything (3 NATS nodes, nginx, the instances, the simulated devices) shares this machine: with 2 cores more instances cannot show throughput scaling; the rows show what each instance costs.',
  ];
  return lines.join('\n');
}

// `node --import tsx test/bench/cluster.ts`: this bench alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(clusterTable(await runClusterBench()));
  process.exit(0);
}
