/**
 * Load benchmark: firmware-sim's generator drives thousands of UDP nodes (each its own source
 * port) at a target rate against a gateway and reports what got through.
 *
 *   node --import tsx test/bench/load.ts [--gateway udp://127.0.0.1:1884] [--nodes 2000]
 *        [--rate 5000] [--duration 5] [--qos 1]
 *
 * Without --gateway it measures against the tests' MiniGateway, run in a child process so that
 * generator and responder each have a core; those numbers say what the generator can drive,
 * not what our gateway can take. `runLoadBench` is for `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadReport } from '../../firmware-sim/load.js';
import type { QoS } from '../../src/codec/index.js';

export interface LoadBenchOptions {
  gateway?: string;
  nodes: number;
  rate: number;
  durationMs: number;
  qos: QoS;
}

export const defaultLoadBench: LoadBenchOptions = { nodes: 2000, rate: 5000, durationMs: 5000, qos: 1 };

const self = fileURLToPath(import.meta.url);

/** Starts the MiniGateway in a child process; resolves with its URL and a stop function. */
async function startResponder(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--responder'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`responder exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await exited;
    },
  };
}

export async function runLoadBench(o: LoadBenchOptions = defaultLoadBench): Promise<{ gateway: string; report: LoadReport }> {
  const responder = o.gateway === undefined ? await startResponder() : undefined;
  const gateway = o.gateway ?? responder!.url;
  try {
    const report = await runLoad({ gateway, nodes: o.nodes, rate: o.rate, durationMs: o.durationMs, qos: o.qos });
    return { gateway: o.gateway ?? 'MiniGateway (tests, child process)', report };
  } finally {
    await responder?.stop();
  }
}

export function loadTable(gateway: string, r: LoadReport, qos: QoS): string {
  const p = r.latency.publish;
  const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
  return [
    `### Load generator against ${gateway}`,
    '',
    '| nodes | QoS | target /s | sent /s | achieved /s | skipped | lost | p50 ms | p99 ms | heap / node |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${r.nodes.connected}/${r.nodes.requested} | ${qos} | ${r.targetRate} | ${r.sentRate} | ${r.achievedRate} | ${r.skipped} | ${r.lost} | ${ms(p?.p50)} | ${ms(p?.p99)} | ${(r.memory.heapPerNodeBytes / 1024).toFixed(1)} KiB |`,
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--responder')) {
    const { MiniGateway } = await import('../firmware-sim/mini-gateway.js');
    const gw = await MiniGateway.start();
    console.log(gw.url);
    // The parent closes stdin to stop us.
    process.stdin.resume();
    process.stdin.on('end', () => void gw.close().then(() => process.exit(0)));
  } else {
    const { values } = parseArgs({
      options: { gateway: { type: 'string' }, nodes: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' }, qos: { type: 'string' } },
    });
    const o: LoadBenchOptions = {
      gateway: values.gateway,
      nodes: values.nodes !== undefined ? Number(values.nodes) : defaultLoadBench.nodes,
      rate: values.rate !== undefined ? Number(values.rate) : defaultLoadBench.rate,
      durationMs: values.duration !== undefined ? Number(values.duration) * 1000 : defaultLoadBench.durationMs,
      qos: (values.qos !== undefined ? Number(values.qos) : defaultLoadBench.qos) as QoS,
    };
    const { gateway, report } = await runLoadBench(o);
    console.log(loadTable(gateway, report, o.qos));
  }
}
