/**
 * Bridge benchmark, both modes: MQTT-SN clients over UDP publish through the gateway, whose
 * bridge forwards to a mosquitto (aggregating: on one connection by topic rules; transparent: each
 * client on its own connection); an MQTT.js subscriber on that mosquitto counts what arrives. The
 * ceiling is MQTT.js publishing straight to the same mosquitto, to the same subscriber, in the
 * same run.
 *
 * Processes, so no two busy parts share an event loop: the gateway (child), the MQTT-SN load
 * (child), the direct publisher (child), mosquitto, and the subscriber here. Each round is bounded
 * by a message count and a deadline.
 *
 * MQTT-SN lets a client have one QoS 1 PUBLISH outstanding, so the MQTT-SN side's concurrency is
 * its number of clients: 256 devices, each on its own socket.
 *
 *   node --import tsx test/bench/bridge.ts
 *   BENCH_PROF=gateway node --import tsx test/bench/bridge.ts   # CPU profile of a child in /tmp/bench-prof
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { decode, DecodeError, encode } from '../../src/codec/index.js';
import { parseConfig } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { machine, table, type Row } from './measure.js';

const self = fileURLToPath(import.meta.url);

type Mode = 'aggregating' | 'transparent';

interface Round {
  mode: Mode;
  qos: 0 | 1;
  /** messages per round, at most */
  count: number;
  /** a round ends here even when not every message arrived */
  deadlineMs: number;
}

const ROUNDS: Round[] = [
  { mode: 'aggregating', qos: 0, count: 200_000, deadlineMs: 8000 },
  { mode: 'aggregating', qos: 1, count: 100_000, deadlineMs: 8000 },
  { mode: 'transparent', qos: 0, count: 200_000, deadlineMs: 8000 },
  { mode: 'transparent', qos: 1, count: 100_000, deadlineMs: 8000 },
];
/** MQTT-SN clients of the load; each its own UDP socket (source port), as devices are. */
const CLIENTS = 256;
/** QoS 0: a client sends this many PUBLISHes, then a PINGREQ, and waits for PINGRESP (flow control). */
const QOS0_BURST = 16;
/** QoS 1: the direct publisher's window; the bridge's maxInflight is the same. */
const QOS1_WINDOW = 100;
const PAYLOAD = Buffer.from('{"t":21.5,"h":40.2}\n');

// ── children ─────────────────────────────────────────────────────────────────────────────

/** The gateway, bridged to `url`; prints its UDP port, runs until stdin closes. */
async function gatewayChild(o: { url: string; qos: 0 | 1; mode: Mode }): Promise<void> {
  const upstream =
    o.mode === 'aggregating'
      ? { url: o.url, clientId: 'bench-gw', topics: [{ pattern: 'bench/#', direction: 'out', qos: o.qos }], maxInflight: QOS1_WINDOW }
      : { url: o.url, clientId: 'bench-gw', mode: 'transparent' };
  const config = parseConfig({
    transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
    broker: { listen: [] },
    timers: { advertiseIntervalSec: 0 },
    // Throughput is measured, not a connect storm: all 256 load clients share 127.0.0.1.
    limits: { rate: { connectPerAddress: { perSecond: 1e6, burst: 1e6 } } },
    upstream,
  });
  const gw = await createGateway(config);
  const udp = gw.transports[0];
  if (!(udp instanceof UdpTransport)) throw new Error('expected a UDP transport');
  const start = Date.now();
  while (!gw.bridge?.connected) {
    if (Date.now() - start > 10_000) throw new Error('the bridge did not connect');
    await new Promise((r) => setTimeout(r, 10));
  }
  process.stdout.write(`${JSON.stringify({ port: udp.address().port })}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await gw.close();
}

/** MQTT-SN load: CLIENTS sockets, `count` PUBLISHes in all, flow-controlled. Prints {sent}. */
async function loadChild(o: { port: number; qos: 0 | 1; count: number; deadlineMs: number }): Promise<void> {
  const perClient = Math.floor(o.count / CLIENTS);
  const deadline = performance.now() + o.deadlineMs;
  let sent = 0;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => openClient(o.port, i)));
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          let n = 0;
          let msgId = 0;
          const frame = encode({ type: 'PUBLISH', dup: false, qos: o.qos, retain: false, msgId: o.qos === 0 ? 0 : 1, topicIdType: 'normal', topicId: c.topicId, payload: PAYLOAD });
          const ping = encode({ type: 'PINGREQ' });
          const next = (): void => {
            if (n >= perClient || performance.now() > deadline) {
              resolve();
              return;
            }
            if (o.qos === 0) {
              for (let k = 0; k < QOS0_BURST && n < perClient; k++, n++, sent++) c.socket.send(frame);
              c.socket.send(ping);
            } else {
              // MQTT-SN allows one outstanding QoS 1 PUBLISH per client: the next goes on PUBACK.
              msgId = (msgId % 0xffff) + 1;
              frame.writeUInt16BE(msgId, 5);
              c.socket.send(frame);
              n++;
              sent++;
            }
          };
          c.onReply = (type) => {
            if ((o.qos === 0 && type === 'PINGRESP') || (o.qos === 1 && type === 'PUBACK')) next();
          };
          next();
        }),
    ),
  );
  for (const c of clients) c.socket.close();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

interface LoadClient {
  socket: Socket;
  topicId: number;
  onReply: (type: string) => void;
}

async function openClient(port: number, i: number): Promise<LoadClient> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => socket.connect(port, '127.0.0.1', r));
  const c: LoadClient = { socket, topicId: 0, onReply: () => {} };
  const waiting = new Map<string, (p: ReturnType<typeof decode>) => void>();
  socket.on('message', (m) => {
    const p = decode(m);
    if (p instanceof DecodeError) return;
    const w = waiting.get(p.type);
    if (w !== undefined) {
      waiting.delete(p.type);
      w(p);
    } else c.onReply(p.type);
  });
  const ask = (packet: Parameters<typeof encode>[0], answer: string): Promise<ReturnType<typeof decode>> =>
    new Promise((resolve) => {
      waiting.set(answer, resolve);
      socket.send(encode(packet));
    });
  await ask({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 600, clientId: `bench-${i}` }, 'CONNACK');
  const reg = await ask({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: `bench/${i}` }, 'REGACK');
  if (reg instanceof DecodeError || reg.type !== 'REGACK' || reg.returnCode !== 0) throw new Error('REGISTER failed');
  c.topicId = reg.topicId;
  return c;
}

/** The ceiling: MQTT.js straight to mosquitto, `count` messages (QoS 1 with a window). Prints {sent}. */
async function directChild(o: { url: string; qos: 0 | 1; count: number; deadlineMs: number }): Promise<void> {
  const client = await mqtt.connectAsync(o.url, { protocolVersion: 4, reconnectPeriod: 0 });
  const deadline = performance.now() + o.deadlineMs;
  let sent = 0;
  const finished = (): boolean => sent >= o.count || performance.now() > deadline;
  if (o.qos === 0) {
    // As fast as the socket takes it: write until Node says the buffer is full, then wait for it.
    const stream = client.stream as unknown as NodeJS.WritableStream & { writableNeedDrain: boolean };
    while (!finished()) {
      for (let k = 0; k < 1000 && !finished(); k++, sent++) client.publish(`bench/${sent % CLIENTS}`, PAYLOAD, { qos: 0 });
      if (stream.writableNeedDrain) await once(stream, 'drain');
      else await new Promise((r) => setImmediate(r));
    }
  } else {
    // A window of unacknowledged publishes, as the bridge keeps (maxInflight).
    let done = 0;
    await new Promise<void>((resolve) => {
      let scheduled = false;
      const pump = (): void => {
        scheduled = false;
        while (sent - done < QOS1_WINDOW && !finished()) {
          client.publish(`bench/${sent % CLIENTS}`, PAYLOAD, { qos: 1 }, onAck);
          sent++;
        }
        if (done === sent) resolve();
      };
      const onAck = (): void => {
        done++;
        if (finished()) {
          if (done === sent) resolve();
        } else if (!scheduled && sent - done <= QOS1_WINDOW / 2) {
          scheduled = true;
          setImmediate(pump);
        }
      };
      pump();
    });
  }
  await client.endAsync();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

// ── parent ───────────────────────────────────────────────────────────────────────────────

interface Child {
  firstLine: Promise<Record<string, number>>;
  exited: Promise<void>;
  stop(): void;
}

function child(role: string, options: object): Child {
  const prof = process.env.BENCH_PROF === role ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-prof'] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', self, '--child', role, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const firstLine = new Promise<Record<string, number>>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) resolve(JSON.parse(out.slice(0, i)) as Record<string, number>);
    });
    proc.once('exit', (code) => reject(new Error(`${role} child exited with ${code}`)));
  });
  firstLine.catch(() => {}); // a caller that stops early does not read it
  return {
    firstLine,
    exited: once(proc, 'exit').then(() => {}),
    stop: () => proc.stdin.end(),
  };
}

/** Counts messages on bench/#; the rate runs from the first to the last arrival. */
async function counter(url: string, qos: 0 | 1) {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  let count = 0;
  let first = 0;
  let last = 0;
  client.on('message', () => {
    const now = performance.now();
    if (count === 0) first = now;
    last = now;
    count++;
  });
  await client.subscribeAsync('bench/#', { qos });
  return {
    get count() {
      return count;
    },
    rate: () => (count > 1 ? ((count - 1) * 1000) / (last - first) : 0),
    reset: () => {
      count = 0;
    },
    close: () => client.endAsync(),
  };
}

/** Waits until `n` arrived, or nothing arrived for `quietMs`. */
async function settle(c: { count: number }, n: number, quietMs = 1000): Promise<void> {
  let seen = c.count;
  let since = performance.now();
  while (c.count < n) {
    await new Promise((r) => setTimeout(r, 20));
    if (c.count !== seen) {
      seen = c.count;
      since = performance.now();
    } else if (performance.now() - since > quietMs) return;
  }
}

export interface BridgeBenchDetail {
  mode: Mode;
  qos: 0 | 1;
  bridged: { sent: number; delivered: number; perSec: number };
  direct: { sent: number; delivered: number; perSec: number };
}

/** Every round: the direct ceiling, then the bridged path, against one mosquitto. */
export async function runBridgeBenchDetailed(rounds: Round[] = ROUNDS): Promise<BridgeBenchDetail[]> {
  // mosquitto lets 20 QoS 1 messages be in flight to a subscriber by default, which would cap
  // both paths alike at the subscriber; unlimited, the publish side is what is measured.
  const mosq = await Mosquitto.start({ extraConfig: ['max_inflight_messages 0'] });
  const out: BridgeBenchDetail[] = [];
  try {
    for (const r of rounds) {
      const sub = await counter(mosq.url, r.qos);
      try {
        const d = child('direct', { url: mosq.url, qos: r.qos, count: r.count, deadlineMs: r.deadlineMs });
        const dSent = (await d.firstLine).sent!;
        await d.exited;
        await settle(sub, dSent);
        const direct = { sent: dSent, delivered: sub.count, perSec: sub.rate() };
        sub.reset();

        const gw = child('gateway', { url: mosq.url, qos: r.qos, mode: r.mode });
        try {
          const { port } = await gw.firstLine;
          const load = child('load', { port, qos: r.qos, count: r.count, deadlineMs: r.deadlineMs });
          const bSent = (await load.firstLine).sent!;
          await load.exited;
          await settle(sub, bSent);
          out.push({ mode: r.mode, qos: r.qos, direct, bridged: { sent: bSent, delivered: sub.count, perSec: sub.rate() } });
        } finally {
          gw.stop();
          await gw.exited;
        }
      } finally {
        await sub.close();
      }
    }
  } finally {
    await mosq.close();
  }
  return out;
}

/** For `npm run bench`: one row per mode and QoS, bridged throughput against the direct ceiling. */
export async function runBridgeBench(): Promise<Row[]> {
  return (await runBridgeBenchDetailed()).map((d) => ({
    name: `${d.mode}, QoS ${d.qos}: ${CLIENTS} UDP MQTT-SN clients -> gateway -> ${d.mode === 'transparent' ? `${CLIENTS} connections` : 'one connection'} -> mosquitto -> subscriber (${d.bridged.delivered}/${d.bridged.sent} delivered)`,
    opsPerSec: d.bridged.perSec,
    baseline: `MQTT.js -> mosquitto -> subscriber (${d.direct.delivered}/${d.direct.sent})`,
    baselineOps: d.direct.perSec,
    ratio: d.direct.perSec > 0 ? d.bridged.perSec / d.direct.perSec : 0,
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const role = process.argv[i + 1];
    const options = JSON.parse(process.argv[i + 2] ?? '{}') as never;
    if (role === 'gateway') await gatewayChild(options);
    else if (role === 'load') await loadChild(options);
    else if (role === 'direct') await directChild(options);
    else throw new Error(`unknown child role ${role}`);
    process.exit(0);
  } else {
    console.log(`${machine()}\n`);
    console.log(table('Bridge, aggregating and transparent mode (loopback, mosquitto)', await runBridgeBench()));
  }
}
