/**
 * Gateway benchmark (issue 4): the gateway CLI in its own process; firmware-sim's load generator
 * in another; an MQTT.js subscriber on the gateway's broker listener here, counting what arrives
 * and timing it from the send timestamp in each payload. The ceiling is MQTT.js publishing
 * straight to the same broker core, measured in the same run.
 *
 * Connected-clients memory and CONNECT rate use forwarder encapsulation: one UDP socket speaks
 * for up to 100,000 wireless nodes, each a distinct client to the gateway (the machine allows
 * 20,000 open files per process, so 100,000 sockets would need several processes).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { decode, DecodeError, encode } from '../../src/codec/index.js';
import { startGateway, freeUdpPort, type GatewayProcess } from '../integration/gateway-process.js';
import type { LoadReport } from '../../firmware-sim/load.js';
import type { ProtocolVersion } from '../../firmware-sim/node-types.js';
import { CAPACITY_OVERRIDES } from './lifted-limits.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const wallNow = (): number => performance.timeOrigin + performance.now();

export interface ThroughputRow {
  scenario: string;
  clients: number;
  qos: 0 | 1;
  sent: number;
  delivered: number;
  perSec: number;
  ratio: number;
  p50: number;
  p99: number;
  lost: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Counts messages on a filter; latency from the timestamp in the first 8 payload bytes. */
export async function counter(port: number, filter: string, qos: 0 | 1) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  let count = 0;
  let first = 0;
  let last = 0;
  const latencies: number[] = [];
  client.on('message', (_t, payload) => {
    const now = wallNow();
    if (count === 0) first = now;
    last = now;
    count++;
    if (payload.length >= 8 && (count & 3) === 0) latencies.push(now - payload.readDoubleBE(0));
  });
  await client.subscribeAsync(filter, { qos });
  return {
    get count() {
      return count;
    },
    /** messages per second between the first and the last arrival */
    rate: () => (count > 1 ? ((count - 1) * 1000) / (last - first) : 0),
    latency: () => {
      const s = Float64Array.from(latencies).sort();
      return { p50: percentile(s, 50), p99: percentile(s, 99) };
    },
    close: () => client.endAsync(),
  };
}

export async function child<T>(script: string, options: object): Promise<T> {
  const proc = spawn(process.execPath, ['--import', 'tsx', `${here}${script}`, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number];
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

/** Waits until the counter has seen `n` messages or stops growing for `quietMs`. */
export async function settleCount(c: { count: number }, n: number, quietMs = 1500): Promise<void> {
  let seen = c.count;
  let since = Date.now();
  while (c.count < n) {
    await new Promise((r) => setTimeout(r, 50));
    if (c.count !== seen) {
      seen = c.count;
      since = Date.now();
    } else if (Date.now() - since > quietMs) return;
  }
}

export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** UDP receive-buffer drops of the whole machine so far (Linux /proc/net/snmp). */
function kernelUdpDrops(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const [head, values] = [lines[0]!.split(/\s+/), lines[1]!.split(/\s+/)];
    return Number(values[head.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}

async function baseline(gw: GatewayProcess, qos: 0 | 1, durationMs: number): Promise<{ perSec: number; p50: number; p99: number }> {
  const c = await counter(gw.mqttPort, 'direct/#', qos);
  const r = await child<{ sent: number; durationMs: number }>('mqtt-publisher-child.ts', { url: `mqtt://127.0.0.1:${gw.mqttPort}`, qos, durationMs, topic: 'direct/x' });
  await settleCount(c, r.sent);
  const out = { perSec: c.rate(), ...c.latency() };
  await c.close();
  return out;
}

export async function throughput(gw: GatewayProcess, qos: 0 | 1, clients: number, rate: number, durationMs: number, tag: string, protocol?: ProtocolVersion): Promise<Omit<ThroughputRow, 'ratio' | 'scenario'>> {
  const c = await counter(gw.mqttPort, `${tag}/#`, qos);
  const report = await child<LoadReport>('gateway-load-child.ts', {
    gateway: `udp://127.0.0.1:${gw.udpPort}`,
    nodes: clients,
    rate,
    durationMs,
    qos,
    clientPrefix: `${tag}-`,
    topicPrefix: tag,
    protocol,
  });
  await settleCount(c, report.sent);
  const lat = c.latency();
  const row = { clients, qos, sent: report.sent, delivered: c.count, perSec: c.rate(), p50: lat.p50, p99: lat.p99, lost: report.sent - c.count };
  await c.close();
  return row;
}

/**
 * CONNECTs through forwarder encapsulation as fast as the gateway answers, keeping `window`
 * outstanding; returns connects per second (answered, whatever the answer) and how many of the
 * answers were refusals. Node ids continue from `from`.
 */
export async function connectFlood(port: number, from: number, count: number, window = 500, host = '127.0.0.1'): Promise<{ perSec: number; refused: number }> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.bind(0, host);
  await once(s, 'listening');
  s.setRecvBufferSize(8 * 1024 * 1024);
  let next = from;
  const end = from + count;
  let acked = 0;
  let refused = 0;
  const started = performance.now();
  const send = (): void => {
    const id = Buffer.allocUnsafe(4);
    id.writeUInt32BE(next);
    const inner = encode({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 3600, clientId: `fwd-${next}` });
    s.send(encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: id, message: inner }), port, host);
    next++;
  };
  const done = new Promise<void>((resolve, reject) => {
    let lastProgress = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > 5000) {
        clearInterval(watchdog);
        reject(new Error(`CONNECT flood stalled at ${acked}/${count}`));
      }
      // Datagrams can be dropped under load; top the window up again.
      while (next < end && next - from - acked < window) send();
    }, 200);
    s.on('message', (m) => {
      const outer = decode(m);
      if (outer instanceof DecodeError || outer.type !== 'ENCAPSULATED') return;
      const p = decode(outer.message);
      if (p instanceof DecodeError || p.type !== 'CONNACK') return;
      acked++;
      if (p.returnCode !== 0) refused++;
      lastProgress = Date.now();
      if (acked >= count) {
        clearInterval(watchdog);
        resolve();
      } else if (next < end) send();
    });
  });
  for (let i = 0; i < Math.min(window, count); i++) send();
  await done;
  const perSec = (count * 1000) / (performance.now() - started);
  s.close();
  return { perSec, refused };
}

/** The target is 40,000 QoS 0 messages per second delivered with no loss; pace a little above it. */
const PACED_RATE = 44_000;

export interface GatewayBenchResult {
  baseline: { qos0: number; qos1: number };
  throughput: ThroughputRow[];
  paced: ThroughputRow[];
  connectsPerSec: number;
  memory: Array<{ clients: number; rssBytes: number }>;
  kernelDrops: number;
}

export async function runGatewayBench(opts: { durationMs?: number; maxClients?: number } = {}): Promise<GatewayBenchResult> {
  const durationMs = opts.durationMs ?? 4000;
  const fwdPort = await freeUdpPort();
  const gw = await startGateway(
    CAPACITY_OVERRIDES, // why: see lifted-limits.ts
    { logLevel: 'warn', extraTransports: [{ type: 'udp', host: '127.0.0.1', port: fwdPort, forwarder: true }] },
  );
  const drops0 = kernelUdpDrops();
  try {
    const base0 = await baseline(gw, 0, durationMs);
    const base1 = await baseline(gw, 1, durationMs);
    const rows: ThroughputRow[] = [];
    for (const qos of [0, 1] as const) {
      for (const clients of [1, 100, 1000]) {
        // Unpaced in effect: the target is above what one core can carry.
        const r = await throughput(gw, qos, clients, 200_000, durationMs, `b${qos}c${clients}`);
        rows.push({ scenario: 'max', ...r, ratio: r.perSec / (qos === 0 ? base0.perSec : base1.perSec) });
      }
    }
    const paced: ThroughputRow[] = [];
    for (const clients of [1, 100, 1000]) {
      const p = await throughput(gw, 0, clients, PACED_RATE, durationMs, `p0c${clients}`);
      paced.push({ scenario: `paced ${PACED_RATE / 1000}k/s`, ...p, ratio: p.perSec / base0.perSec });
    }

    const memory: Array<{ clients: number; rssBytes: number }> = [];
    let connected = 0;
    let connectTime = 0;
    for (const target of [1000, 10_000, opts.maxClients ?? 100_000]) {
      const t0 = performance.now();
      await connectFlood(fwdPort, connected, target - connected);
      connectTime += performance.now() - t0;
      connected = target;
      memory.push({ clients: target, rssBytes: rss(gw.proc.pid!) });
    }
    return {
      baseline: { qos0: base0.perSec, qos1: base1.perSec },
      throughput: rows,
      paced,
      connectsPerSec: (connected * 1000) / connectTime,
      memory,
      kernelDrops: kernelUdpDrops() - drops0,
    };
  } finally {
    await gw.stop();
  }
}

export function gatewayTables(r: GatewayBenchResult): string {
  const f = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(1)} k` : n.toFixed(0));
  const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
  const lines = [
    '### Gateway end to end (UDP MQTT-SN clients -> gateway -> MQTT subscriber on its broker listener)',
    '',
    `Ceiling: MQTT.js publishing straight to the same broker core: QoS 0 ${f(r.baseline.qos0)}/s, QoS 1 ${f(r.baseline.qos1)}/s.`,
    '',
    '| scenario | clients | QoS | sent | delivered | lost | delivered/s | ratio to ceiling | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const x of [...r.throughput, ...r.paced]) {
    lines.push(`| ${x.scenario} | ${x.clients} | ${x.qos} | ${x.sent} | ${x.delivered} | ${x.lost} | ${f(x.perSec)} | ${x.ratio.toFixed(2)} | ${ms(x.p50)} | ${ms(x.p99)} |`);
  }
  lines.push('', `CONNECTs per second (forwarder-encapsulated, one socket, 500 outstanding): ${f(r.connectsPerSec)}`, '');
  lines.push('| connected clients | gateway RSS |', '| ---: | ---: |');
  for (const m of r.memory) lines.push(`| ${m.clients} | ${(m.rssBytes / 2 ** 20).toFixed(0)} MiB |`);
  lines.push('', `Kernel UDP receive-buffer drops during the run (whole machine): ${r.kernelDrops}`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(gatewayTables(await runGatewayBench()));
}
