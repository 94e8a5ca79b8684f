/**
 * Fuzzing every de-framer into the gateway (issue 9): 100,000 random and mutated frames over UDP
 * datagrams, forwarder encapsulation, SLIP on a real pty and XBee API mode 1 and 2 on real ptys,
 * into the gateway process, while real MQTT-SN clients publish QoS 1 the whole time. Every QoS 1
 * message of theirs must arrive, the gateway must neither exit nor log a handler defect, its
 * resident memory must stay bounded, and what does not decode is counted in its stats (over UDP,
 * exactly: each burst is followed by a SEARCHGW round trip, so nothing is in flight when counted).
 *
 * The run prints its seed; MQTTSN_FUZZ_SEED=<seed> replays the same frames.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { SerialPort } from 'serialport';
import { decode, DecodeError, v2 } from '../../src/codec/index.js';
import { decapsulate } from '../../src/transport/forwarder.js';
import { SlipDecoder } from '../../src/transport/slip.js';
import type { ApiMode } from '../../src/transport/xbee-api.js';
import { freeTcpPort, freeUdpPort, SnClient, startGateway, type GatewayProcess } from '../integration/gateway-process.js';
import { until } from '../helpers/wait.js';
import { scrape, valueOf, type Sample } from '../observability/helpers.js';
import { closePort, openPort, ptyPair, Queue, writePort, XBeeModuleSim, type PtyPair } from '../transport/helpers.js';
import { FrameFuzzer } from './fuzz-frames.js';
import { awaitDelivery, MiB, rssBytes, startPublishers, subscribe, watchRss, type Publishers, type Subscriber } from './real-clients.js';
import { runSeed, seededRandom } from './random.js';

/** How the 100,000 frames are split across the media. */
const SPLIT = { udp: 40_000, forwarder: 20_000, slip: 14_000, api1: 13_000, api2: 13_000 };
/** Frames sent before each sync round trip (UDP) or written in one go (serial). */
const BURST = 250;
/** Each medium's share must be through within this: bounded in time as well as count. */
const PHASE_MAX_MS = 30_000;
/** Growth of the gateway's RSS over its value before the fuzzing, with real clients running. */
const RSS_GROWTH_CAP = 64 * MiB;
const GWINFO = '030203'; // gateway id 3 (startGateway)
const SEARCHGW = Buffer.from('030100', 'hex');
const XBEE_SOURCES = ['0013a20040a1b2c3', '0013a20040000001', '0013a2004000ffff', 'ffffffffffffffff'].map((h) => Buffer.from(h, 'hex'));

const sum = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

const sendTo = (s: Socket, b: Buffer, port: number): Promise<void> => new Promise((resolve) => s.send(b, port, '127.0.0.1', () => resolve()));

async function udpSockets(n: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const s = createSocket('udp4');
      s.on('error', () => undefined);
      s.bind(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
}

/**
 * Sends `count` datagrams made by `make` from a few sockets, in bursts; after each burst a
 * SEARCHGW from `sync` must be answered, so the gateway has read everything sent before it.
 * Returns how many of them the gateway must count as decode errors at least (`expected`) and may at most (`atMost`).
 */
async function fuzzDatagrams(port: number, count: number, make: () => Buffer, expectDecodeError: (b: Buffer) => Undecodable): Promise<{ expected: number; atMost: number; sent: number }> {
  const sockets = await udpSockets(4);
  const sync = await SnClient.open(port);
  const deadline = Date.now() + PHASE_MAX_MS;
  let expected = 0;
  let atMost = 0;
  let sent = 0;
  try {
    while (sent < count && Date.now() < deadline) {
      const burst: Promise<void>[] = [];
      for (let i = 0; i < BURST && sent < count; i++, sent++) {
        const b = make();
        const u = expectDecodeError(b);
        if (u === 'both') expected++;
        if (u !== 'neither') atMost++;
        burst.push(sendTo(sockets[sent % sockets.length]!, b, port));
      }
      await Promise.all(burst);
      sync.send({ type: 'SEARCHGW', radius: 0 });
      await sync.next('GWINFO', 5000);
    }
  } finally {
    await sync.close();
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return { expected, atMost, sent };
}

/**
 * Which codecs refuse a frame. The gateway reads a frame in one version, chosen by what it knows
 * of the sender (codec/demux.ts): a fuzzed CONNECT that is accepted gives a socket a session of
 * either version, and its later frames are read in that one. So a frame both codecs refuse is
 * counted for certain, one that either refuses may be, and one neither refuses is not.
 */
type Undecodable = 'both' | 'one' | 'neither';

function undecodable(b: Buffer): Undecodable {
  const v12 = decode(b) instanceof DecodeError;
  const v20 = v2.decode(b) instanceof DecodeError;
  return v12 && v20 ? 'both' : v12 || v20 ? 'one' : 'neither';
}

/**
 * What a UDP port does with a datagram (every one unwraps forwarder encapsulation by default):
 * bare frames are decoded, broken encapsulations (and empty datagrams, which a mutation may
 * leave) dropped by the transport as malformed.
 */
function forwardedUndecodable(b: Buffer): Undecodable {
  if (b.length === 0) return 'neither';
  const parts = decapsulate(b);
  if (parts === undefined) return undecodable(b);
  return parts === null ? 'neither' : undecodable(parts.message);
}

/** Writes `count` units made by `make` to a serial line, `BURST` at a time; the pty's buffer paces it. */
async function fuzzSerial(port: SerialPort, count: number, make: () => Buffer): Promise<{ sent: number; bytes: number }> {
  const deadline = Date.now() + PHASE_MAX_MS;
  let sent = 0;
  let bytes = 0;
  while (sent < count && Date.now() < deadline) {
    const parts: Buffer[] = [];
    for (let i = 0; i < BURST && sent < count; i++, sent++) parts.push(make());
    const chunk = Buffer.concat(parts);
    bytes += chunk.length;
    await writePort(port, chunk);
  }
  return { sent, bytes };
}

/** Waits (bounded) for an answer to SEARCHGW sent now and then: the line's de-framer has found its feet again. */
async function answers(ask: () => Promise<void>, replies: Queue<Buffer>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    await ask();
    const stopAt = Date.now() + 500;
    while (Date.now() < stopAt) {
      const got = await replies.next(Math.max(1, stopAt - Date.now())).catch(() => undefined);
      if (got?.toString('hex') === GWINFO) return;
    }
  }
  assert.fail(`${what}: no GWINFO after the fuzzing`);
}

describe('security: fuzzing every de-framer into the gateway process', () => {
  const ptys: Record<'slip' | 'api1' | 'api2', PtyPair> = { slip: ptyPair(), api1: ptyPair(), api2: ptyPair() };
  let gw: GatewayProcess;
  let httpPort: number;
  let v6Port: number;
  let fwdPort: number;
  let pubs: Publishers | undefined;
  let sub: Subscriber | undefined;

  before(async () => {
    await Promise.all(Object.values(ptys).map((p) => p.start()));
    httpPort = await freeTcpPort();
    v6Port = await freeUdpPort('::1');
    fwdPort = await freeUdpPort();
    gw = await startGateway(
      { timers: { advertiseIntervalSec: 0 }, http: { enabled: true, port: httpPort } },
      {
        logLevel: 'warn',
        extraTransports: [
          { type: 'udp', host: '::1', port: v6Port },
          { type: 'udp', host: '127.0.0.1', port: fwdPort, forwarder: true },
          { type: 'serial', path: ptys.slip.a, framing: 'slip' },
          { type: 'serial', path: ptys.api1.a, framing: 'xbee-api1' },
          { type: 'serial', path: ptys.api2.a, framing: 'xbee-api2' },
        ],
      },
    );
  });

  after(async () => {
    await pubs?.stop().catch(() => undefined);
    await sub?.close();
    await gw?.stop();
    await Promise.all(Object.values(ptys).map((p) => p.dispose()));
  });

  it('survives 100,000 fuzzed frames, counts what does not decode, and delivers every real QoS 1 message', async (t) => {
    const seed = runSeed();
    t.diagnostic(`seed ${seed} (MQTTSN_FUZZ_SEED=${seed} replays this run)`);
    const fuzz = new FrameFuzzer(seededRandom(seed));
    sub = await subscribe(gw.mqttPort, 'sec/#');
    pubs = await startPublishers({ gateway: { host: '::1', port: v6Port, family: 6 }, count: 20, prefix: 'fuzz-real', intervalMs: 100, maxPerClient: 2000 });
    // The RSS baseline is taken with the real clients' traffic under way: each had a message acknowledged.
    await until(() => pubs!.acked.size >= 20, 10_000, 'a message acknowledged per real client');
    const baseline = rssBytes(gw.proc.pid!);
    const rss = watchRss(gw.proc.pid!);
    const started = Date.now();
    const decodeErrors = async (): Promise<{ total: number; samples: Sample[] }> => {
      const { samples } = await scrape(httpPort);
      return { total: sum(samples, 'mqttsn_decode_errors_total'), samples };
    };
    const report: string[] = [];

    // UDP datagrams, then forwarder encapsulation: exact counts.
    let before = (await decodeErrors()).total;
    // Every UDP port unwraps forwarder encapsulation by default, so its datagrams count as a forwarder port's do.
    const udp = await fuzzDatagrams(gw.udpPort, SPLIT.udp, () => fuzz.frame(), forwardedUndecodable);
    let now = await decodeErrors();
    assert.equal(udp.sent, SPLIT.udp, 'UDP share sent in time');
    assert.ok(now.total - before >= udp.expected && now.total - before <= udp.atMost, `every UDP datagram that does not decode is counted: ${now.total - before} in [${udp.expected}, ${udp.atMost}]`);
    report.push(`udp ${udp.sent} (${now.total - before} undecodable)`);

    const fwdName = `udp:127.0.0.1:${fwdPort}`;
    const malformedBefore = valueOf(now.samples, 'mqttsn_transport_dropped_total', { transport: fwdName, reason: 'malformed' }) ?? 0;
    let brokenEncapsulations = 0;
    before = now.total;
    const fwd = await fuzzDatagrams(fwdPort, SPLIT.forwarder, () => fuzz.forwarded(), (b) => {
      if (b.length === 0 || decapsulate(b) === null) brokenEncapsulations++;
      return forwardedUndecodable(b);
    });
    now = await decodeErrors();
    assert.equal(fwd.sent, SPLIT.forwarder, 'forwarder share sent in time');
    assert.ok(now.total - before >= fwd.expected && now.total - before <= fwd.atMost, `every forwarded frame that does not decode is counted: ${now.total - before} in [${fwd.expected}, ${fwd.atMost}]`);
    assert.equal((valueOf(now.samples, 'mqttsn_transport_dropped_total', { transport: fwdName, reason: 'malformed' }) ?? 0) - malformedBefore, brokenEncapsulations);
    report.push(`forwarder ${fwd.sent} (${now.total - before} undecodable, ${brokenEncapsulations} broken encapsulations)`);

    // SLIP on a pty: what the line makes of the bytes is the de-framer's business; it must
    // count what it throws away, the gateway what does not decode, and answer afterwards.
    {
      const port = await openPort(ptys.slip.b);
      const replies = new Queue<Buffer>();
      const slip = new SlipDecoder(1024, { frame: replies.push, drop: () => undefined });
      port.on('data', (c: Buffer) => slip.push(c));
      try {
        before = now.total;
        const w = await fuzzSerial(port, SPLIT.slip, () => fuzz.slip());
        assert.equal(w.sent, SPLIT.slip, 'SLIP share written in time');
        await answers(() => writePort(port, Buffer.concat([Buffer.from([0xc0]), SEARCHGW, Buffer.from([0xc0])])), replies, 'SLIP');
        now = await decodeErrors();
        const name = `serial:${ptys.slip.a}`;
        assert.ok(now.total - before > 0, 'SLIP frames that do not decode are counted');
        assert.ok(sum(now.samples, 'mqttsn_transport_dropped_total', { transport: name }) > 0, 'the SLIP de-framer counts what it drops');
        report.push(`slip ${w.sent} (${w.bytes} bytes, ${now.total - before} undecodable)`);
      } finally {
        await closePort(port);
      }
    }

    // XBee API, both modes: the far end of the module answers Transmit Status as a module would.
    for (const [key, mode] of [['api1', 1], ['api2', 2]] as Array<['api1' | 'api2', ApiMode]>) {
      const port = await openPort(ptys[key].b);
      const module = new XBeeModuleSim(port, mode);
      try {
        before = now.total;
        const w = await fuzzSerial(port, SPLIT[key], () => fuzz.xbee(mode, XBEE_SOURCES));
        assert.equal(w.sent, SPLIT[key], `XBee AP=${mode} share written in time`);
        await answers(() => module.receive(SEARCHGW, '0013a20040a1b2c3'), module.data, `XBee AP=${mode}`);
        now = await decodeErrors();
        const name = `serial:${ptys[key].a}`;
        assert.ok(now.total - before > 0, `XBee AP=${mode} frames that do not decode are counted`);
        assert.ok(sum(now.samples, 'mqttsn_transport_dropped_total', { transport: name }) > 0, `the XBee AP=${mode} de-framer counts what it drops`);
        report.push(`xbee AP=${mode} ${w.sent} (${w.bytes} bytes, ${now.total - before} undecodable)`);
      } finally {
        await closePort(port);
      }
    }
    const fuzzMs = Date.now() - started;

    const total = udp.sent + fwd.sent + SPLIT.slip + SPLIT.api1 + SPLIT.api2;
    await pubs.stop();
    const lost = await awaitDelivery(pubs, sub, 10_000);
    rss.stop();
    const defects = gw.lines.filter((l) => l.includes('"handler failed"') || l.includes('"a transport listener threw"'));
    t.diagnostic(
      `${total} frames in ${fuzzMs} ms (${Math.round((total / fuzzMs) * 1000)} frames/s): ${report.join('; ')}; ` +
        `decode errors counted ${now.total}; real clients: ${pubs.acked.size} QoS 1 acknowledged, ${pubs.failures} retried, ${sub.duplicates} duplicates; ` +
        `RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(rss.peak() / MiB).toFixed(0)} MiB`,
    );

    assert.ok(total >= 100_000);
    assert.equal(gw.proc.exitCode, null, `the gateway exited: ${gw.stderr()}`);
    assert.deepEqual(defects.slice(0, 3), [], 'no handler or listener defect was logged');
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged QoS 1 messages never arrived`);
    assert.ok(pubs.acked.size >= 20 * 10, `the real clients were served: ${pubs.acked.size}`);
    assert.ok(rss.peak() - baseline < RSS_GROWTH_CAP, `RSS grew ${((rss.peak() - baseline) / MiB).toFixed(0)} MiB`);
  });
});
