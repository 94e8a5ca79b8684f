/**
 * MQTT-SN 2.0 beside 1.2 on one gateway (issue #18): the gateway CLI in its own process, the same
 * firmware-sim load generator speaking 1.2 then 2.0 (QoS 0 and QoS 1, one after the other in the
 * same run, so both meet the same machine), and the CONNECT rate of 1.2 clients, of 2.0 clients,
 * and of 2.0 clients with MQTT-BASIC checked against the local listener's password file (one
 * scrypt per CONNECT, two at a time: the gateway's bound). The target: 2.0 throughput
 * within 10% of 1.2.
 */
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, DecodeError, encode } from '../../src/codec/index.js';
import * as v2 from '../../src/codec/v2/index.js';
import { hashPassword } from '../../src/broker/passwords.js';
import { startGateway } from '../integration/gateway-process.js';
import { CAPACITY_OVERRIDES } from './lifted-limits.js';
import { throughput, type ThroughputRow } from './gateway.js';

const USER = 'bench';
const PASSWORD = 'bench-secret';

export interface V2BenchResult {
  rows: Array<ThroughputRow & { protocol: '1.2' | '2.0' }>;
  connects: Array<{ kind: string; clients: number; perSec: number; refused: number }>;
  /** QoS 1 at the README demo's pace with the shipped limits (nothing lifted) */
  defaults: Array<ThroughputRow & { protocol: '1.2' | '2.0' }>;
}

/** MQTT-BASIC Authentication Data [4.11]: u16-length user name, u16-length password. */
function basicAuth(user: string, password: string): v2.Auth {
  const u = Buffer.from(user, 'utf8');
  const p = Buffer.from(password, 'utf8');
  const data = Buffer.alloc(4 + u.length + p.length);
  data.writeUInt16BE(u.length, 0);
  u.copy(data, 2);
  data.writeUInt16BE(p.length, 2 + u.length);
  p.copy(data, 4 + u.length);
  return { method: 'MQTT-BASIC', data };
}

type ConnectKind = '1.2' | '2.0' | '2.0 MQTT-BASIC';

/**
 * `count` clients, each on its own socket (a 2.0 client is known by its address [4.2]), CONNECT
 * with at most `window` unanswered; connects per second counted over all answers, and how many
 * answers were refusals. Bounded: fails if no answer comes for 10 s.
 */
async function connectRate(port: number, kind: ConnectKind, count: number, window: number, prefix: string): Promise<{ perSec: number; refused: number }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    sockets.push(s);
  }
  const frame = (i: number): Buffer =>
    kind === '1.2'
      ? encode({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 600, clientId: `${prefix}${i}` })
      : v2.encode({
          type: 'CONNECT',
          cleanStart: true,
          allowNetworkAddressChanges: false,
          allowServerSuggestedValues: false,
          packetId: 1,
          protocolVersion: 2,
          keepAlive: 600,
          maxPacketSize: 0,
          ...(kind === '2.0 MQTT-BASIC' ? { auth: basicAuth(USER, PASSWORD) } : {}),
          clientId: `${prefix}${i}`,
        });
  let next = 0;
  let answered = 0;
  let refused = 0;
  const started = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      let last = Date.now();
      const send = (): void => {
        const i = next++;
        sockets[i]!.send(frame(i), port, '127.0.0.1');
      };
      const watchdog = setInterval(() => {
        if (Date.now() - last > 10_000) {
          clearInterval(watchdog);
          reject(new Error(`${kind} CONNECTs stalled at ${answered}/${count}`));
        }
      }, 500);
      for (const s of sockets) {
        s.on('message', (m) => {
          let ok: boolean | undefined;
          if (kind === '1.2') {
            const p = decode(m);
            if (!(p instanceof DecodeError) && p.type === 'CONNACK') ok = p.returnCode === 0;
          } else {
            const p = v2.decode(m);
            if (!(p instanceof v2.DecodeError) && p.type === 'CONNACK') ok = p.reasonCode === 0;
          }
          if (ok === undefined) return;
          answered++;
          if (!ok) refused++;
          last = Date.now();
          if (answered >= count) {
            clearInterval(watchdog);
            resolve();
          } else if (next < count) send();
        });
      }
      for (let i = 0; i < Math.min(window, count); i++) send();
    });
    return { perSec: (count * 1000) / (performance.now() - started), refused };
  } finally {
    for (const s of sockets) s.close();
  }
}

export async function runV2Bench(opts: { durationMs?: number; clients?: number; connects?: number } = {}): Promise<V2BenchResult> {
  const durationMs = opts.durationMs ?? 4000;
  const clients = opts.clients ?? 100;
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-bench-v2-'));
  const passwordFile = join(dir, 'passwords');
  await writeFile(passwordFile, `${USER}:${await hashPassword(PASSWORD)}\n`);
  // broker.auth as a user enables MQTT-BASIC (the local listener's users); anonymous allowed so
  // the unauthenticated rows and the MQTT counter connect as they do without it.
  // Limits lifted (CAPACITY_OVERRIDES, why in lifted-limits.ts): every load client here shares
  // 127.0.0.1, so the per-address buckets would measure the flood guard, not 1.2 against 2.0. The
  // same mix with the shipped defaults runs in the suite: the README demo with --protocol 1.2,2
  // (test/firmware-sim/readme-demo.test.ts) and the Python 2.0 client on the shipped config
  // (test/interop/python-v2-client.test.ts).
  const gw = await startGateway({ ...CAPACITY_OVERRIDES, broker: { auth: { passwordFile, allowAnonymous: true } } }, { logLevel: 'warn' });
  try {
    const rows: V2BenchResult['rows'] = [];
    for (const qos of [0, 1] as const) {
      let base = 0;
      for (const protocol of ['1.2', '2'] as const) {
        const r = await throughput(gw, qos, clients, 200_000, durationMs, `v${protocol.replace('.', '')}q${qos}`, protocol);
        if (protocol === '1.2') base = r.perSec;
        rows.push({ scenario: 'max', protocol: protocol === '2' ? '2.0' : '1.2', ...r, ratio: r.perSec / base });
      }
    }
    const n = opts.connects ?? 300;
    const connects: V2BenchResult['connects'] = [];
    for (const kind of ['1.2', '2.0', '2.0 MQTT-BASIC'] as const) {
      // 32 outstanding: under the gateway's 64 waiting MQTT-BASIC checks, so none is refused for the queue.
      const r = await connectRate(gw.udpPort, kind, n, 32, `c${kind.replace(/\W/g, '')}-`);
      connects.push({ kind, clients: n, ...r });
    }
    return { rows, connects, defaults: await defaultsRows(clients, durationMs) };
  } finally {
    await gw.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rate the README's first demo paces each node to (20 messages a second). */
const DEMO_RATE_PER_CLIENT = 20;

/**
 * The same 1.2 / 2.0 QoS 1 mix on a gateway with nothing lifted (the shipped limits), paced as
 * the README demo is: what a user running the shipped config gets, beside the lifted rows above.
 */
async function defaultsRows(clients: number, durationMs: number): Promise<V2BenchResult['defaults']> {
  const gw = await startGateway({}, { logLevel: 'warn' });
  try {
    const rows: V2BenchResult['defaults'] = [];
    let base = 0;
    for (const protocol of ['1.2', '2'] as const) {
      const r = await throughput(gw, 1, clients, clients * DEMO_RATE_PER_CLIENT, durationMs, `d${protocol.replace('.', '')}`, protocol);
      if (protocol === '1.2') base = r.perSec;
      rows.push({ scenario: 'shipped defaults', protocol: protocol === '2' ? '2.0' : '1.2', ...r, ratio: r.perSec / base });
    }
    return rows;
  } finally {
    await gw.stop();
  }
}

export function v2Tables(r: V2BenchResult): string {
  const f = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(1)} k` : n.toFixed(0));
  const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
  const lines = [
    '### MQTT-SN 2.0 beside 1.2 (same gateway process, same load generator; ratio: 2.0 over 1.2, target >= 0.90)',
    '',
    '| protocol | clients | QoS | sent | delivered | lost | delivered/s | ratio to 1.2 | p50 ms | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const x of r.rows) lines.push(`| ${x.protocol} | ${x.clients} | ${x.qos} | ${x.sent} | ${x.delivered} | ${x.lost} | ${f(x.perSec)} | ${x.ratio.toFixed(2)} | ${ms(x.p50)} | ${ms(x.p99)} |`);
  lines.push('', '| CONNECT | clients (one socket each, 32 outstanding) | CONNECTs/s | refused |', '| --- | ---: | ---: | ---: |');
  for (const c of r.connects) lines.push(`| ${c.kind} | ${c.clients} | ${f(c.perSec)} | ${c.refused} |`);
  lines.push('', `With the shipped limits (nothing lifted), QoS 1 paced to ${DEMO_RATE_PER_CLIENT} messages a second per client as in the README demo:`, '');
  lines.push('| protocol | clients | QoS | sent | delivered | lost | delivered/s | ratio to 1.2 | p50 ms | p99 ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const x of r.defaults) lines.push(`| ${x.protocol} | ${x.clients} | ${x.qos} | ${x.sent} | ${x.delivered} | ${x.lost} | ${f(x.perSec)} | ${x.ratio.toFixed(2)} | ${ms(x.p50)} | ${ms(x.p99)} |`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(v2Tables(await runV2Bench()));
}
