/**
 * Store benchmark (issue 8): what durability costs QoS 1 end to end. The same gateway CLI runs
 * once with `store.type: "memory"` and once with SQLite (its default, a file next to the config),
 * in the same run, under the same load: firmware-sim's generator with 100 or 1000 UDP clients
 * publishing QoS 1 as fast as PUBACKs come back (each client waits for its PUBACK, so the figure
 * includes the commit and WAL sync every PUBACK waits for), an MQTT subscriber on the broker
 * listener counting arrivals.
 *
 * Two scenarios:
 * - pass-through: no kept session subscribes and no upstream: nothing to store, so SQLite should
 *   cost nothing;
 * - durable: a sleeping clean-session-false client subscribes to everything (each message is
 *   buffered for it: an INSERT, and a DELETE of the oldest once its buffer is full) and an upstream
 *   bridge (a real mosquitto) takes everything (an INSERT into the outbound queue, a DELETE on its
 *   PUBACK). Every PUBACK waits for the commit that holds both.
 *
 * Memory and SQLite alternate (M S S M M S) and each keeps its best of three rounds, so neither
 * gets the warmer machine, and a round disturbed by another process on the machine does not count.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { LoadReport } from '../../firmware-sim/load.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { SnClient, startGateway } from '../integration/gateway-process.js';
import type { Row } from './measure.js';

const here = fileURLToPath(new URL('.', import.meta.url));

type StoreType = 'memory' | 'sqlite';

interface Scenario {
  name: string;
  durable: boolean;
  clients: number;
}

interface Round {
  /** PUBACKs per second at the clients */
  ackedPerSec: number;
  /** arrivals per second at the MQTT subscriber */
  deliveredPerSec: number;
  sent: number;
  delivered: number;
}

export interface StoreBenchOptions {
  durationMs?: number;
}

async function loadChild(options: object): Promise<LoadReport> {
  const proc = spawn(process.execPath, ['--import', 'tsx', `${here}gateway-load-child.ts`, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`gateway-load-child.ts exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadReport;
}

async function round(store: StoreType, scenario: Scenario, upstreamUrl: string, o: Required<StoreBenchOptions>, tag: string): Promise<Round> {
  const extra: Record<string, unknown> = {
    timers: { advertiseIntervalSec: 0 },
    // Each load client is one peer publishing flat out: the per-peer flood guard would measure itself.
    limits: { rate: { publishPerPeer: { perSecond: 1_000_000, burst: 1_000_000 }, connectPerAddress: { perSecond: 1_000_000, burst: 1_000_000 } } },
  };
  // No `store` key for SQLite: the default, a file next to the generated config in its temp folder.
  if (store === 'memory') extra.store = { type: 'memory' };
  if (scenario.durable) extra.upstream = { url: upstreamUrl, clientId: `bench-${tag}`, topics: [{ pattern: `${tag}/#`, direction: 'out', qos: 1 }] };
  const gw = await startGateway(extra, { logLevel: 'warn' });
  const sleeper = await SnClient.open(gw.udpPort);
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { reconnectPeriod: 0 });
  try {
    if (scenario.durable) {
      await sleeper.connect(`${tag}-sleeper`, { cleanSession: false, keepAlive: 3600 });
      sleeper.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 1, topicIdType: 'normal', topicName: `${tag}/#` });
      await sleeper.next('SUBACK');
      sleeper.send({ type: 'DISCONNECT', duration: 3600 });
      await sleeper.next('DISCONNECT');
    }
    let count = 0;
    let first = 0;
    let last = 0;
    sub.on('message', () => {
      const now = performance.now();
      if (count === 0) first = now;
      last = now;
      count++;
    });
    await sub.subscribeAsync(`${tag}/#`, { qos: 1 });
    const report = await loadChild({
      gateway: `udp://127.0.0.1:${gw.udpPort}`,
      nodes: scenario.clients,
      rate: 200_000, // above what the gateway carries: the PUBACKs set the pace
      durationMs: o.durationMs,
      qos: 1,
      clientPrefix: `${tag}-`,
      topicPrefix: tag,
    });
    const deadline = Date.now() + 3000;
    while (count < report.acknowledged && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return {
      ackedPerSec: report.achievedRate,
      deliveredPerSec: count > 1 ? ((count - 1) * 1000) / (last - first) : 0,
      sent: report.sent,
      delivered: count,
    };
  } finally {
    await sub.endAsync();
    await sleeper.close();
    await gw.stop();
  }
}

export async function runStoreBench(opts: StoreBenchOptions = {}): Promise<Row[]> {
  const o: Required<StoreBenchOptions> = { durationMs: opts.durationMs ?? 4000 };
  const upstream = await Mosquitto.start({ extraConfig: ['max_queued_messages 0'] });
  const rows: Row[] = [];
  try {
    const scenarios: Scenario[] = [
      { name: 'pass-through (nothing kept)', durable: false, clients: 100 },
      { name: 'durable (sleeper buffer + upstream queue)', durable: true, clients: 100 },
      // More clients in flight at once: larger batches per commit and per sync.
      { name: 'durable (sleeper buffer + upstream queue)', durable: true, clients: 1000 },
    ];
    let n = 0;
    for (const scenario of scenarios) {
      const best: Record<StoreType, Round | undefined> = { memory: undefined, sqlite: undefined };
      for (const store of ['memory', 'sqlite', 'sqlite', 'memory', 'memory', 'sqlite'] as const) {
        const r = await round(store, scenario, upstream.url, o, `sb${++n}`);
        if (best[store] === undefined || r.ackedPerSec > best[store].ackedPerSec) best[store] = r;
      }
      const mem = best.memory!;
      const sql = best.sqlite!;
      rows.push({
        name: `QoS 1 PUBACKs/s, ${scenario.clients} clients, ${scenario.name}: SQLite store`,
        opsPerSec: sql.ackedPerSec,
        baseline: 'memory store',
        baselineOps: mem.ackedPerSec,
        ratio: sql.ackedPerSec / mem.ackedPerSec,
      });
      rows.push({
        name: `QoS 1 delivered/s at the MQTT subscriber, ${scenario.clients} clients, ${scenario.name}: SQLite store`,
        opsPerSec: sql.deliveredPerSec,
        baseline: 'memory store',
        baselineOps: mem.deliveredPerSec,
        ratio: sql.deliveredPerSec / mem.deliveredPerSec,
      });
    }
  } finally {
    await upstream.close();
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { machine, table } = await import('./measure.js');
  console.log(`${machine()}\n`);
  console.log(table('Store: QoS 1 end to end, SQLite against memory (same run)', await runStoreBench()));
}
