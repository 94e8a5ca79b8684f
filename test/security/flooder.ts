/**
 * The flooding host of the flood test, in a process of its own: one CONNECT from
 * each of many distinct source ports, and random or plausible garbage from one socket, as fast as
 * the sockets take them. Bounded in count and time; the garbage also stops when told to.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { encode } from '../../src/codec/index.js';
import { seededRandom } from './random.js';

export interface FloodOrders {
  target: number;
  ports: number;
  garbageMax: number;
  maxMs: number;
  seed: number;
}

export interface FloodReport {
  ports: number;
  tried: number;
  garbage: number;
  ms: number;
}

/** Sockets open at once: each is bound, sends, and is closed before the next batch. */
const BATCH = 256;

const connectFrame = (n: number): Buffer =>
  encode({ type: 'CONNECT', will: n % 7 === 0, cleanSession: true, protocolId: 1, duration: 60, clientId: `flood-${n}` });

function bindAt(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined); // in use by someone else: the next port
    });
    s.bind(port, '127.0.0.1', () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined); // replies to a socket about to close: nothing to do
      resolve(s);
    });
  });
}

const sendOn = (s: Socket, frame: Buffer, port: number): Promise<void> => new Promise((resolve) => s.send(frame, port, '127.0.0.1', () => resolve()));
const closeSocket = (s: Socket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/**
 * One CONNECT from each of `total` distinct source ports. Explicit ports, lowest first, below the
 * kernel's ephemeral range where possible: that range alone (32768-60999) has fewer than 50,000.
 */
export async function floodConnects(target: number, total: number, until: number): Promise<{ ports: number; tried: number }> {
  let used = 0;
  let port = 1024;
  let tried = 0;
  while (used < total && port <= 65_535 && Date.now() < until) {
    const batch: number[] = [];
    while (batch.length < BATCH && port <= 65_535) batch.push(port++);
    tried += batch.length;
    const sockets = (await Promise.all(batch.map(bindAt))).filter((s): s is Socket => s !== undefined);
    // The last batch may bind more than are needed: those send nothing, but are closed all the same.
    const sending = sockets.slice(0, total - used);
    await Promise.all(sending.map((s, i) => sendOn(s, connectFrame(used + i), target)));
    used += sending.length;
    await Promise.all(sockets.map(closeSocket));
  }
  return { ports: used, tried };
}

/** Random and plausible frames from one socket, as fast as the socket takes them. */
export async function floodGarbage(target: number, max: number, until: () => boolean, random: () => number): Promise<number> {
  const s = createSocket('udp4');
  s.on('error', () => undefined);
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  let sent = 0;
  while (sent < max && !until()) {
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 64; i++, sent++) {
      const len = 1 + Math.floor(random() * 48);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(random() * 256);
      // Half of them look like MQTT-SN: a right length byte and a known type.
      if (i % 2 === 0) {
        b[0] = len;
        if (len > 1) b[1] = [0x04, 0x0a, 0x0c, 0x12, 0x14, 0x16, 0x18][Math.floor(random() * 7)]!;
      }
      burst.push(sendOn(s, b, target));
    }
    await Promise.all(burst);
  }
  await closeSocket(s);
  return sent;
}


/** Runs the orders; the garbage goes on until the connects are done and a `stop` message came, or time is up. */
async function run(o: FloodOrders, stopAsked: () => boolean): Promise<FloodReport> {
  const started = Date.now();
  const until = started + o.maxMs;
  let connectsDone = false;
  const [connects, garbage] = await Promise.all([
    floodConnects(o.target, o.ports, until).finally(() => (connectsDone = true)),
    floodGarbage(o.target, o.garbageMax, () => (connectsDone && stopAsked()) || Date.now() >= until, seededRandom(o.seed)),
  ]);
  return { ...connects, garbage, ms: Date.now() - started };
}

// Run as a forked child: orders come as the first IPC message, `stop` as a later one.
if (process.send !== undefined) {
  let stop = false;
  process.on('message', (m: FloodOrders | 'stop') => {
    if (m === 'stop') {
      stop = true;
      return;
    }
    run(m, () => stop).then(
      (r) => process.send!(r, () => process.disconnect()),
      (err: unknown) => process.send!({ error: String(err) }, () => process.disconnect()),
    );
  });
}
