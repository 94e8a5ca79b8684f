/**
 * Transport throughput, each figure beside a raw baseline measured in the same run on the same
 * medium, so the ratio is the cost of the adapter itself:
 * - UDP: MQTT-SN frames received and answered through `UdpTransport` on loopback, against a
 *   plain `node:dgram` echo socket; a client keeps a window of datagrams in flight.
 * - SLIP and raw: frames received through `SlipSerialTransport` / `RawSerialTransport` from a
 *   socat pty pair, against the same bytes pumped through the same kind of pty into a raw
 *   `SerialPort`, counted as frames.
 * Every run is bounded in count and in time; the best of two rounds is kept.
 */
import dgram from 'node:dgram';
import { pathToFileURL } from 'node:url';
import { SerialPort } from 'serialport';
import { RawSerialTransport, SlipSerialTransport } from '../../src/transport/serial.js';
import type { Transport } from '../../src/transport/types.js';
import { slipEncode } from '../../src/transport/slip.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { closePort, openPort, ptyPair, publish, sleep } from '../transport/helpers.js';
import { machine, table, type Row } from './measure.js';

const ROUND_MS = 1000;
const UDP_MAX = 200_000;
const UDP_WINDOW = 32;
const SLIP_MAX = 200_000;
const SLIP_BATCH = 64;

/** A PUBLISH QoS 0 with 20 bytes of data: 27 bytes, the typical sensor reading. */
const FRAME = publish(Buffer.from('{"t":21.5,"h":40.2}\n'));

async function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  // A dropped datagram is a slower round, not a crash.
  s.on('error', () => {});
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

const close = (s: dgram.Socket): Promise<void> => new Promise((r) => s.close(() => r()));

/** Echo round trips per second against the server at `port`, with a window of datagrams in flight. */
async function echoRate(port: number): Promise<number> {
  const client = await bind();
  let replies = 0;
  let lastReply = performance.now();
  const send = (): void => client.send(FRAME, port, '127.0.0.1');
  const start = performance.now();
  const deadline = start + ROUND_MS;
  let done = false;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      done = true;
      clearInterval(refill);
      resolve();
    };
    client.on('message', () => {
      if (done) return;
      replies++;
      lastReply = performance.now();
      if (replies >= UDP_MAX || lastReply >= deadline) finish();
      else send();
    });
    // Loopback may still drop under load: refill the window rather than stall.
    const refill = setInterval(() => {
      if (performance.now() >= deadline + 200) finish();
      else if (performance.now() - lastReply > 50) for (let i = 0; i < UDP_WINDOW; i++) send();
    }, 50);
    for (let i = 0; i < UDP_WINDOW; i++) send();
  });
  const rate = (replies * 1000) / (lastReply - start);
  await close(client);
  return rate;
}

async function udpBench(): Promise<Row> {
  const raw = await bind();
  raw.on('message', (m, r) => raw.send(m, r.port, r.address));
  const t = new UdpTransport({ host: '127.0.0.1', port: 0 });
  await t.open();
  t.on('frame', (peer, frame) => {
    t.send(peer, frame).catch(() => {});
  });
  let base = 0;
  let ours = 0;
  for (let round = 0; round < 2; round++) {
    base = Math.max(base, await echoRate(raw.address().port));
    ours = Math.max(ours, await echoRate(t.address().port));
  }
  await t.close();
  await close(raw);
  return {
    name: 'UDP: PUBLISH received and answered (loopback, IPv4)',
    opsPerSec: ours,
    baseline: 'raw node:dgram echo',
    baselineOps: base,
    ratio: ours / base,
  };
}

/**
 * Frames per second from the far end of the pty to whatever counts them at the near end:
 * `count()` returns frames seen so far.
 */
async function pumpRate(far: SerialPort, wire: Buffer, count: () => number): Promise<number> {
  const batch = Buffer.concat(Array.from({ length: SLIP_BATCH }, () => wire));
  const start = performance.now();
  const deadline = start + ROUND_MS;
  let sent = 0;
  while (sent < SLIP_MAX && performance.now() < deadline) {
    await new Promise<void>((resolve, reject) => far.write(batch, (e) => (e ? reject(e) : resolve())));
    sent += SLIP_BATCH;
    // Keep the pipe from filling up with more than the receiver can take in a round.
    while (sent - count() > SLIP_BATCH * 32 && performance.now() < deadline) await sleep(1);
  }
  while (count() < sent && performance.now() < deadline + 500) await sleep(1);
  return (count() * 1000) / (performance.now() - start);
}

/** Frames of one line framing (`wire` is FRAME as that framing puts it on the line) through the adapter `make` builds. */
async function lineBench(name: string, wire: Buffer, make: (path: string) => Transport): Promise<Row> {
  const pty = ptyPair();
  await pty.start();
  const perFrame = wire.length;
  let base = 0;
  let ours = 0;
  try {
    for (let round = 0; round < 2; round++) {
      // Baseline: the same bytes into a raw port, counted as whole frames' worth of bytes.
      {
        const near = await openPort(pty.a);
        const far = await openPort(pty.b);
        let bytes = 0;
        near.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        base = Math.max(base, await pumpRate(far, wire, () => Math.floor(bytes / perFrame)));
        await closePort(near);
        await closePort(far);
      }
      {
        const t = make(pty.a);
        let frames = 0;
        t.on('frame', () => {
          frames++;
        });
        await t.open();
        const far = await openPort(pty.b);
        ours = Math.max(ours, await pumpRate(far, wire, () => frames));
        await t.close();
        await closePort(far);
      }
      // Let the pty drain whatever a round left behind before the next one opens it.
      await sleep(50);
    }
  } finally {
    await pty.dispose();
  }
  return {
    name,
    opsPerSec: ours,
    baseline: 'raw pty byte pump (same bytes)',
    baselineOps: base,
    ratio: ours / base,
  };
}

export async function runTransportBench(): Promise<Row[]> {
  return [
    await udpBench(),
    await lineBench('SLIP: PUBLISH frames received over a pty pair', slipEncode(FRAME, false), (path) => new SlipSerialTransport({ path, baudRate: 115200, checkLength: true })),
    await lineBench('raw: bare PUBLISH frames received over a pty pair', FRAME, (path) => new RawSerialTransport({ path, baudRate: 115200 })),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`${machine()}\n`);
  console.log(table('Transport', await runTransportBench()));
}
