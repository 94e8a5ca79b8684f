/**
 * Admission benchmark (issue #16 §1): what one busy address gets from the gateway with the
 * shipped defaults, each figure beside the same one with every rate limit lifted, in the same run.
 *
 * - CONNECT/s for 1,000 clients from one address (forwarder encapsulation, one socket);
 * - one peer publishing QoS 0 at 20,000 msg/s for 10 s: delivered rate and loss at an MQTT subscriber;
 * - the flood test's scenario (test/security/flood.test.ts: CONNECTs from 50,000 source ports of one
 *   host and garbage): 100 legitimate QoS 1 clients on another address, planned at 5 msg/s each,
 *   with the rate they achieved during the flood and their PUBACK p99.
 */
import { fileURLToPath } from 'node:url';
import { startGateway, freeTcpPort, freeUdpPort } from '../integration/gateway-process.js';
import { scrape, valueOf } from '../observability/helpers.js';
import { startFlooder } from '../security/flooder-process.js';
import { startPublishers } from '../security/real-clients.js';
import { runSeed } from '../security/random.js';
import { connectFlood, throughput } from './gateway.js';
import { LIFTED } from './lifted-limits.js';

/**
 * Every bucket of `limits.rate` out of reach, so the gateway's capacity alone decides: the column
 * beside the shipped defaults' shows what admission itself costs (every figure here is measured
 * both ways in the same run).
 */
const liftedLimits = {
  limits: { rate: { connectPerPeer: LIFTED, connectPerAddress: LIFTED, registerPerPeer: LIFTED, publishPerPeer: LIFTED, datagramsPerAddress: LIFTED } },
};

const LEGIT_CLIENTS = 100;
const LEGIT_INTERVAL_MS = 200;
const FLOOD_PORTS = 50_000;

export interface AdmissionFigures {
  connectsPerSec: number;
  /** CONNACKs other than 0x00 among the 1,000 */
  connectsRefused: number;
  /** `byAdmission`: messages the gateway's rate limits refused or shed (the rest of the loss is the kernel's or a starved process's) */
  qos0: { sent: number; delivered: number; perSec: number; lossPercent: number; byAdmission: number };
  flood: { floodMs: number; achievedPercent: number; pubackP99: number; pubackP50: number };
}

export interface AdmissionBenchResult {
  defaults: AdmissionFigures;
  lifted: AdmissionFigures;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function figures(extra: Record<string, unknown>): Promise<AdmissionFigures> {
  const v6Port = await freeUdpPort('::1');
  const fwdPort = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const gw = await startGateway(
    { timers: { advertiseIntervalSec: 0 }, http: { enabled: true, port: httpPort }, ...extra },
    { logLevel: 'warn', extraTransports: [{ type: 'udp', host: '::1', port: v6Port }, { type: 'udp', host: '127.0.0.1', port: fwdPort }] },
  );
  try {
    const q = await throughput(gw, 0, 1, 20_000, 10_000, 'adm-q0');
    // What admission itself dropped, as against what the kernel or a slow machine lost.
    const m = (await scrape(httpPort)).samples;
    const byAdmission = (valueOf(m, 'mqttsn_dropped_total', { reason: 'rateLimited' }) ?? 0) + (valueOf(m, 'mqttsn_dropped_total', { reason: 'shed' }) ?? 0);
    const qos0 = { sent: q.sent, delivered: q.delivered, perSec: q.perSec, lossPercent: (100 * Math.max(0, q.lost)) / Math.max(1, q.sent), byAdmission };
    // Warm the CONNECT path from another address (::1), then let its second pass, so that what is
    // measured is the gateway's pace, not its first compilation nor a CONNECT rate it just saw.
    await connectFlood(v6Port, 1_000_000, 1000, 500, '::1');
    await new Promise((r) => setTimeout(r, 3000));
    const connects = await connectFlood(fwdPort, 0, 1000);

    const pubs = await startPublishers({ gateway: { host: '::1', port: v6Port, family: 6 }, count: LEGIT_CLIENTS, prefix: 'adm-legit', intervalMs: LEGIT_INTERVAL_MS, maxPerClient: 1_000_000 });
    let flood;
    try {
      const started = Date.now();
      const flooder = startFlooder({ target: gw.udpPort, ports: FLOOD_PORTS, garbageMax: 200_000, maxMs: 90_000, seed: runSeed() });
      flooder.stop(); // the garbage ends with the CONNECTs
      await flooder.done.finally(() => flooder.kill());
      const ended = Date.now();
      const during = pubs.latencies.filter((l) => l.at >= started && l.at <= ended);
      const planned = (LEGIT_CLIENTS * (ended - started)) / LEGIT_INTERVAL_MS;
      const ms = during.map((l) => l.ms);
      flood = { floodMs: ended - started, achievedPercent: (100 * during.length) / planned, pubackP99: percentile(ms, 99), pubackP50: percentile(ms, 50) };
    } finally {
      await pubs.stop();
    }
    return { connectsPerSec: connects.perSec, connectsRefused: connects.refused, qos0, flood };
  } finally {
    await gw.stop();
  }
}

export async function runAdmissionBench(): Promise<AdmissionBenchResult> {
  const defaults = await figures({});
  const lifted = await figures(liftedLimits);
  return { defaults, lifted };
}

export function admissionTable(r: AdmissionBenchResult): string {
  const f = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(1)} k` : n.toFixed(0));
  const row = (what: string, pick: (x: AdmissionFigures) => string): string => `| ${what} | ${pick(r.defaults)} | ${pick(r.lifted)} |`;
  return [
    '### Admission: one busy address, shipped defaults against every rate limit lifted (same run)',
    '',
    '| figure | shipped defaults | limits lifted |',
    '| --- | ---: | ---: |',
    row('CONNECT/s, 1,000 clients from one address (forwarder, one socket)', (x) => f(x.connectsPerSec)),
    row('of those 1,000, refused (CONNACK 0x01)', (x) => String(x.connectsRefused)),
    row('one peer, QoS 0 at 20,000 msg/s for 10 s: delivered/s', (x) => f(x.qos0.perSec)),
    row('one peer, QoS 0: delivered of sent (loss)', (x) => `${x.qos0.delivered}/${x.qos0.sent} (${x.qos0.lossPercent.toFixed(2)} %)`),
    row('one peer, QoS 0: of those lost, refused or shed by admission', (x) => String(x.qos0.byAdmission)),
    row(`flood (${FLOOD_PORTS / 1000}k source ports + garbage): legit QoS 1 rate achieved of planned`, (x) => `${x.flood.achievedPercent.toFixed(0)} %`),
    row('flood: legit PUBACK p50 / p99 ms', (x) => `${x.flood.pubackP50.toFixed(0)} / ${x.flood.pubackP99.toFixed(0)}`),
    row('flood: duration ms', (x) => x.flood.floodMs.toFixed(0)),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(admissionTable(await runAdmissionBench()));
}
