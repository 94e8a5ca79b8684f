/**
 * Memory benchmark (issue #19): the built gateway started the way `npm start` and the systemd
 * unit start it (`<GATEWAY_NODE_ENV> node <GATEWAY_NODE_FLAGS> dist/gateway/cli.js --config FILE`, the
 * bundled CLI; the script is read from package.json's start line),
 * its resident memory read from /proc/<pid>/status (VmRSS now, VmHWM the peak):
 *
 * - at rest with the shipped gateway.config.json (only its ports changed to free ones);
 * - peak under 100 clients publishing QoS 0 as fast as they can, and under 1000 clients paced
 *   to 20,000 msg/s in total; with the QoS 0 throughput an MQTT subscriber saw, and what the
 *   gateway holds once idle again after the load (what start-up savings are left after traffic);
 * - bytes per idle session at 10,000 and 100,000 sessions (forwarder encapsulation: one UDP
 *   socket speaks for all of them).
 *
 * Every figure stands beside the same run's baseline: a bare Node process holding the same
 * sockets and answering the handshakes by hand (bare-sockets-child.ts), under the same load. The
 * gateway without the start flags and environment (plain `node dist/gateway/cli.js`) runs the loads
 * too, so their effect on memory and on throughput shows in the same run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { LoadReport } from '../../firmware-sim/load.js';
import { GATEWAY_NODE_ENV, GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { decode, DecodeError, encode } from '../../src/codec/index.js';
import { child, counter, settleCount } from './gateway.js';
import { CAPACITY_OVERRIDES } from './lifted-limits.js';
import { machine } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The script `npm start` runs (the word of its start line that ends in cli.js), relative to the root. */
export const STARTED_CLI = ((): string => {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const cli = start.split(' ').find((w) => w.endsWith('cli.js'));
  if (cli === undefined) throw new Error(`no cli.js in npm start: ${start}`);
  return cli;
})();
const here = fileURLToPath(new URL('.', import.meta.url));

interface Mem {
  rss: number;
  hwm: number;
}

function mem(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The newest modification time under a folder (the build is stale when src/ is newer). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** `npm run build` when dist/ is missing or older than src/: the bench measures what users run. */
function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(root, STARTED_CLI)).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > Math.max(newest(join(root, 'src')), newest(join(root, 'firmware-sim')))) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

interface Proc {
  pid: number;
  stop(): Promise<void>;
}

async function untilExit(proc: ChildProcess, signal: NodeJS.Signals | 'stdin'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  if (signal === 'stdin') proc.stdin?.end();
  else proc.kill(signal);
  await exited;
}

/** Resolves once the gateway answers SEARCHGW on its UDP port. */
async function answersSearch(port: number, proc: ChildProcess): Promise<void> {
  const probe = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => probe.send(Buffer.from([3, 1, 0]), port, '127.0.0.1'), 100);
      const deadline = setTimeout(() => reject(new Error('gateway did not start in 60 s')), 60_000);
      const fail = (): void => reject(new Error(`gateway exited with ${proc.exitCode}`));
      proc.once('exit', fail);
      probe.on('message', (m) => {
        if (m[1] !== 0x02) return;
        clearInterval(timer);
        clearTimeout(deadline);
        proc.off('exit', fail);
        resolve();
      });
    });
  } finally {
    probe.close();
  }
}

interface Ports {
  udp: number;
  /** a second UDP transport for forwarder-encapsulated sessions */
  fwd: number;
  tcp: number;
}

export async function freePorts(): Promise<Ports> {
  return { udp: await freeUdpPort(), fwd: await freeUdpPort(), tcp: await freeTcpPort() };
}

/**
 * The built gateway in a fresh folder (its SQLite store lands there, as next to a user's config).
 * `overrides` are merged over the shipped config; `flags` go to node before the script; `env` is
 * the whole environment it starts with.
 */
export async function startGateway(ports: Ports, flags: readonly string[], overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, cli: string = STARTED_CLI): Promise<Proc & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttsn-mem-'));
  const shipped = JSON.parse(readFileSync(join(root, 'gateway.config.json'), 'utf8')) as Record<string, unknown>;
  delete shipped.$schema;
  const config = {
    ...shipped,
    transports: [
      { type: 'udp', host: '127.0.0.1', port: ports.udp },
      { type: 'udp', host: '127.0.0.1', port: ports.fwd, forwarder: true },
    ],
    broker: { listen: [{ host: '127.0.0.1', port: ports.tcp }] },
    ...overrides,
  };
  const file = join(dir, 'gateway.config.json');
  writeFileSync(file, JSON.stringify(config));
  // stdout (pino lines) to nowhere, as a pipe nobody reads would stall the gateway.
  const proc = spawn(process.execPath, [...flags, join(root, cli), '--config', file], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env });
  await answersSearch(ports.udp, proc);
  return {
    pid: proc.pid!,
    dir,
    stop: async () => {
      await untilExit(proc, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let bareScript: string | undefined;

/** The baseline process: bare-sockets-child.ts transpiled to plain JS, run by plain node. */
async function startBare(ports: Ports): Promise<Proc> {
  if (bareScript === undefined) {
    const out = ts.transpileModule(readFileSync(join(here, 'bare-sockets-child.ts'), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    bareScript = join(mkdtempSync(join(tmpdir(), 'mqttsn-bare-')), 'bare-sockets-child.mjs');
    writeFileSync(bareScript, out.outputText);
  }
  const proc = spawn(process.execPath, [bareScript, JSON.stringify({ udp: [ports.udp, ports.fwd], tcp: ports.tcp })], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`bare sockets process exited with ${code}`)));
  });
  return { pid: proc.pid!, stop: () => untilExit(proc, 'stdin') };
}

/**
 * What "at rest" means: started, then idle this long (timers, the store settled, and V8's memory
 * reducer's first pass, which comes about 8 s after start-up and hands back about 4 MiB of the
 * heap start-up left behind). The reading at `EARLY_MS` is kept beside it: it is where this bench
 * used to read "at rest", before that pass.
 */
const REST_MS = 15_000;
const EARLY_MS = 5000;

/** How long a gateway is left idle after a load before its resident memory is read again. */
const AFTER_LOAD_MS = 10_000;

/** The environment of the "plain" gateway: this one without the variables `npm start` sets. */
function withoutGatewayEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !(k in GATEWAY_NODE_ENV)) env[k] = v;
  return env;
}

export interface LoadFigures {
  /** peak resident bytes during the load */
  peak: number;
  sent: number;
  delivered: number;
  /** QoS 0 messages per second an MQTT subscriber on the broker listener saw */
  perSec: number;
  /** resident bytes once idle again after the load */
  after: number;
}

interface Load {
  name: string;
  clients: number;
  rate: number;
}

export const LOADS: Load[] = [
  // Unpaced in effect: the target is above what one core can carry.
  { name: '100 clients, QoS 0 as fast as they can', clients: 100, rate: 200_000 },
  { name: '1000 clients, paced to 20,000 msg/s in total', clients: 1000, rate: 20_000 },
];

export async function runLoad(target: Proc, ports: Ports, load: Load, durationMs: number, tag: string, subscribe: boolean): Promise<LoadFigures> {
  const c = subscribe ? await counter(ports.tcp, `${tag}/#`, 0) : undefined;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, mem(target.pid).hwm)), 100);
  try {
    const report = await child<LoadReport>('gateway-load-child.ts', {
      gateway: `udp://127.0.0.1:${ports.udp}`,
      nodes: load.clients,
      rate: load.rate,
      durationMs,
      qos: 0,
      clientPrefix: `${tag}-`,
      topicPrefix: tag,
    });
    if (c !== undefined) await settleCount(c, report.sent);
    peak = Math.max(peak, mem(target.pid).hwm);
    await sleep(AFTER_LOAD_MS);
    return { peak, sent: report.sent, delivered: c?.count ?? 0, perSec: c?.rate() ?? 0, after: mem(target.pid).rss };
  } finally {
    clearInterval(sampler);
    await c?.close();
  }
}

/**
 * CONNECTs for wireless nodes `from`..`to`-1 through forwarder encapsulation on one socket, at
 * most `window` unanswered; a node whose CONNACK has not come after a second is asked again (a
 * datagram lost under load must not stall the run). Bounded: fails after 10 s without progress.
 */
export async function connectNodes(port: number, from: number, to: number, window = 500): Promise<void> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  s.setRecvBufferSize(8 * 1024 * 1024);
  const pending = new Map<number, number>(); // node id -> when its CONNECT went out
  let next = from;
  let acked = 0;
  const send = (id: number): void => {
    const nodeId = Buffer.allocUnsafe(4);
    nodeId.writeUInt32BE(id);
    const inner = encode({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 3600, clientId: `idle-${id}` });
    s.send(encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodeId, message: inner }), port, '127.0.0.1');
    pending.set(id, Date.now());
  };
  const topUp = (): void => {
    while (next < to && pending.size < window) send(next++);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let progress = Date.now();
      const watchdog = setInterval(() => {
        const now = Date.now();
        if (now - progress > 10_000) {
          clearInterval(watchdog);
          reject(new Error(`CONNECTs stalled at ${acked}/${to - from}`));
          return;
        }
        for (const [id, at] of pending) if (now - at > 1000) send(id);
        topUp();
      }, 250);
      s.on('message', (m) => {
        const outer = decode(m);
        if (outer instanceof DecodeError || outer.type !== 'ENCAPSULATED' || outer.wirelessNodeId.length !== 4) return;
        const p = decode(outer.message);
        const id = outer.wirelessNodeId.readUInt32BE(0);
        if (p instanceof DecodeError || p.type !== 'CONNACK' || !pending.delete(id)) return;
        acked++;
        progress = Date.now();
        if (acked === to - from) {
          clearInterval(watchdog);
          resolve();
        } else topUp();
      });
      topUp();
    });
  } finally {
    s.close();
  }
}

/** Idle sessions through forwarder encapsulation; resident bytes per session at each count. */
async function sessions(target: Proc, ports: Ports, counts: readonly number[]): Promise<number[]> {
  const before = mem(target.pid).rss;
  const out: number[] = [];
  let connected = 0;
  for (const n of counts) {
    await connectNodes(ports.fwd, connected, n);
    connected = n;
    await sleep(1000);
    out.push((mem(target.pid).rss - before) / n);
  }
  return out;
}

/** Each figure on stderr as it comes: the run is long, and a late failure keeps what came before. */
function progress(what: string, value: unknown): void {
  process.stderr.write(`memory bench: ${what}: ${JSON.stringify(value)}\n`);
}

export interface MemoryBenchResult {
  /** the script started, relative to the package root */
  cli: string;
  flags: readonly string[];
  env: Readonly<Record<string, string>>;
  rest: { gateway: Mem; plain: Mem; bare: Mem };
  early: { gateway: Mem; plain: Mem; bare: Mem };
  loads: Array<{ name: string; gateway: LoadFigures; plain: LoadFigures; bare: LoadFigures }>;
  sessionCounts: readonly number[];
  perSession: { gateway: number[]; bare: number[] };
}

export async function runMemoryBench(opts: { durationMs?: number; sessionCounts?: number[]; /** another script to start, to compare (default: what npm start runs) */ cli?: string } = {}): Promise<MemoryBenchResult> {
  ensureBuilt();
  const durationMs = opts.durationMs ?? 5000;
  const counts = opts.sessionCounts ?? [10_000, 100_000];
  const flags = GATEWAY_NODE_FLAGS;
  const env = { ...process.env, ...GATEWAY_NODE_ENV };
  const cli = opts.cli ?? STARTED_CLI;
  const plainEnv = withoutGatewayEnv();

  const atRest = async (start: (p: Ports) => Promise<Proc>): Promise<{ early: Mem; rest: Mem }> => {
    const p = await start(await freePorts());
    try {
      await sleep(EARLY_MS);
      const early = mem(p.pid);
      await sleep(REST_MS - EARLY_MS);
      return { early, rest: mem(p.pid) };
    } finally {
      await p.stop();
    }
  };
  const g = await atRest((p) => startGateway(p, flags, {}, env, cli));
  const pl = await atRest((p) => startGateway(p, [], {}, plainEnv, cli));
  const b = await atRest((p) => startBare(p));
  const rest = { gateway: g.rest, plain: pl.rest, bare: b.rest };
  const early = { gateway: g.early, plain: pl.early, bare: b.early };
  progress('at rest', { rest, early });

  const loads: MemoryBenchResult['loads'] = [];
  for (const [i, load] of LOADS.entries()) {
    // A fresh process for each, so that each peak is that load's own.
    const one = async (start: (p: Ports) => Promise<Proc>, tag: string, subscribe: boolean): Promise<LoadFigures> => {
      const ports = await freePorts();
      const p = await start(ports);
      try {
        return await runLoad(p, ports, load, durationMs, tag, subscribe);
      } finally {
        await p.stop();
      }
    };
    loads.push({
      name: load.name,
      gateway: await one((p) => startGateway(p, flags, CAPACITY_OVERRIDES, env, cli), `m${i}g`, true),
      plain: await one((p) => startGateway(p, [], CAPACITY_OVERRIDES, plainEnv, cli), `m${i}p`, true),
      bare: await one((p) => startBare(p), `m${i}b`, false),
    });
    progress(load.name, loads.at(-1));
  }

  const perSession = { gateway: [] as number[], bare: [] as number[] };
  {
    const ports = await freePorts();
    const g = await startGateway(ports, flags, CAPACITY_OVERRIDES, env, cli);
    try {
      perSession.gateway = await sessions(g, ports, counts);
    } finally {
      await g.stop();
    }
    const b = await startBare(ports);
    try {
      perSession.bare = await sessions(b, ports, counts);
    } finally {
      await b.stop();
    }
  }
  progress('bytes per session', perSession);
  return { cli, flags, env: GATEWAY_NODE_ENV, rest, early, loads, sessionCounts: counts, perSession };
}

export function memoryTables(r: MemoryBenchResult): string {
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const k = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(1)} k` : n.toFixed(0));
  const start = [...Object.entries(r.env).map(([k, v]) => `${k}=${v}`), 'node', ...r.flags].join(' ');
  const lines = [
    '### Gateway memory (built gateway as `npm start` runs it; resident memory from /proc)',
    '',
    `Started as \`${start} ${r.cli}\`. "plain" is the same gateway without those variables and flags; "bare Node" holds the same sockets and answers the handshakes by hand.`,
    '',
    '| figure | gateway | plain node | bare Node |',
    '| --- | ---: | ---: | ---: |',
    `| resident at rest (${REST_MS / 1000} s after start), shipped config | ${mib(r.rest.gateway.rss)} | ${mib(r.rest.plain.rss)} | ${mib(r.rest.bare.rss)} |`,
    `| resident ${EARLY_MS / 1000} s after start (before V8's first idle GC) | ${mib(r.early.gateway.rss)} | ${mib(r.early.plain.rss)} | ${mib(r.early.bare.rss)} |`,
    `| peak at start-up (VmHWM at rest) | ${mib(r.rest.gateway.hwm)} | ${mib(r.rest.plain.hwm)} | ${mib(r.rest.bare.hwm)} |`,
  ];
  for (const l of r.loads) lines.push(`| peak resident, ${l.name} | ${mib(l.gateway.peak)} | ${mib(l.plain.peak)} | ${mib(l.bare.peak)} |`);
  for (const l of r.loads) lines.push(`| resident ${AFTER_LOAD_MS / 1000} s after: ${l.name} | ${mib(l.gateway.after)} | ${mib(l.plain.after)} | ${mib(l.bare.after)} |`);
  for (const l of r.loads) {
    lines.push(`| QoS 0 delivered/s (sent, delivered), ${l.name} | ${k(l.gateway.perSec)} (${l.gateway.sent}, ${l.gateway.delivered}) | ${k(l.plain.perSec)} (${l.plain.sent}, ${l.plain.delivered}) | - (${l.bare.sent} sent) |`);
  }
  r.sessionCounts.forEach((n, i) => {
    lines.push(`| bytes per idle session at ${k(n)} (forwarder-encapsulated) | ${r.perSession.gateway[i]!.toFixed(0)} | - | ${r.perSession.bare[i]!.toFixed(0)} |`);
  });
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${machine()}\n`);
  console.log(memoryTables(await runMemoryBench()));
}
