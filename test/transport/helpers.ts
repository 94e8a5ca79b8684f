/**
 * Shared by the transport tests and the transport benchmark: a real pseudo-terminal pair made by
 * socat, a port opener, an awaitable queue, and a few MQTT-SN frames built by hand (this layer
 * must not depend on the codec).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { StreamDecoder } from '../../src/transport/slip.js';
import type { Transport } from '../../src/transport/types.js';
import { createApiDecoder, encodeApiFrame, type ApiMode } from '../../src/transport/xbee-api.js';
import { expectNothing, until } from '../helpers/wait.js';
import { track } from '../helpers/children.js';

export interface PtyPair {
  /** the end the adapter opens */
  a: string;
  /** the end the test writer opens */
  b: string;
  /** Starts socat (again) with the same link paths; resolves when both ends exist. */
  start(): Promise<void>;
  /** Kills socat by its PID and waits for it: both ends vanish, like an unplugged dongle. */
  stop(): Promise<void>;
  /** stop() and remove the temporary folder */
  dispose(): Promise<void>;
}

export function ptyPair(): PtyPair {
  const dir = mkdtempSync(join(tmpdir(), 'mqttsn-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  let proc: ChildProcess | undefined;
  const pair: PtyPair = {
    a,
    b,
    start: () =>
      new Promise((resolve, reject) => {
        const p = track(
          spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
            stdio: ['ignore', 'ignore', 'pipe'],
          }),
        );
        proc = p;
        let log = '';
        const timer = setTimeout(() => reject(new Error(`socat did not start: ${log}`)), 5000);
        p.stderr.on('data', (d: Buffer) => {
          log += d.toString();
          // socat creates both links before it logs this.
          if (log.includes('starting data transfer loop')) {
            clearTimeout(timer);
            resolve();
          }
        });
        p.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      }),
    stop: async () => {
      const p = proc;
      proc = undefined;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      process.kill(p.pid!, 'SIGTERM');
      await exited;
    },
    dispose: async () => {
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pair;
}

/**
 * A line adapter on one end of a fresh pty pair and the test's far side on the other, opened;
 * `frames` holds what the adapter delivers. `dispose` closes all three.
 */
export async function lineOnPty<T extends Transport, F extends { port: SerialPort }>(make: (path: string) => T, openFar: (path: string) => Promise<F>) {
  const pty = ptyPair();
  await pty.start();
  const t = make(pty.a);
  const frames = new Queue<Buffer>();
  t.on('frame', (_p, f) => frames.push(f));
  await t.open();
  const far = await openFar(pty.b);
  return {
    pty,
    t,
    far,
    frames,
    dispose: async (): Promise<void> => {
      await t.close();
      await closePort(far.port);
      await pty.dispose();
    },
  };
}

/**
 * Splits a byte stream into MQTT-SN messages by their Length (MQTT-SN.md §1.1), as a device or
 * mqtt-sn-serial-bridge reads a raw line; independent of the adapter's own de-framer.
 */
export function lengthReader(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let held = Buffer.alloc(0);
  return (chunk) => {
    held = Buffer.concat([held, chunk]);
    for (;;) {
      if (held.length < 1) return;
      let n = held[0]!;
      if (n === 0x01) {
        if (held.length < 3) return;
        n = held.readUInt16BE(1);
      }
      if (n < 2) throw new Error(`the far end got a bad Length: ${held.toString('hex')}`);
      if (held.length < n) return;
      onFrame(Buffer.from(held.subarray(0, n)));
      held = held.subarray(n);
    }
  };
}

/** Opens a path with the real serialport binding. */
export function openPort(path: string, baudRate = 115200): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    port.on('error', () => {});
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
}

export function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

export function writePort(port: SerialPort, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    port.write(bytes, (err) => {
      if (err) reject(err);
      // drain() on a port closed meanwhile would wait for it to reopen
      else if (!port.isOpen) resolve();
      else port.drain((e) => (e ? reject(e) : resolve()));
    });
  });
}

/** Items pushed by callbacks, awaited one by one, with a timeout so that a test fails instead of hanging. */
export class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  push = (item: T): void => {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  };

  get length(): number {
    return this.items.length;
  }

  next(timeoutMs = 2000, what = 'item'): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const waiter = (x: T): void => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * `expectNothing` on this queue: `marker` sends something down the path the unwanted item would
   * take, after it would have been sent; once an item `isMarker` accepts is held, every other item
   * held is unwanted. The marker item is taken out.
   */
  async expectNothingBefore(what: string, marker: () => Promise<unknown>, isMarker: (item: T) => boolean, timeoutMs = 3000): Promise<void> {
    await expectNothing(
      what,
      async () => {
        await marker();
        await until(() => this.items.some(isMarker), timeoutMs, `the marker sent after ${what}`);
      },
      () => this.items.filter((item) => !isMarker(item)),
    );
    this.items.splice(this.items.findIndex(isMarker), 1);
  }
}

// The one polling helper, re-exported for the transport tests that import it from here.
export { until };

/** Paces the transport benchmark. Not for tests: they wait for events (`until`, `expectNothingBefore`). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** PINGREQ `02 16`. */
export const PINGREQ = hex('0216');

/**
 * A PUBLISH QoS 0 to topic id 1 whose data is `data` (MQTT-SN.md §2.4), 1- or 3-byte Length.
 * Built by hand: the transport tests must not depend on the codec.
 */
export function publish(data: Buffer): Buffer {
  const body = 6 + data.length; // MsgType, Flags, TopicId(2), MsgId(2), Data
  const long = body + 1 > 255;
  const out = Buffer.alloc(body + (long ? 3 : 1));
  let i = 0;
  if (long) {
    out[i++] = 0x01;
    out.writeUInt16BE(out.length, i);
    i += 2;
  } else {
    out[i++] = out.length;
  }
  out[i++] = 0x0c;
  out[i++] = 0x00;
  out.writeUInt16BE(1, i);
  i += 2;
  out.writeUInt16BE(0, i);
  i += 2;
  data.copy(out, i);
  return out;
}

/** A PUBLISH whose data holds every byte a framer must escape (SLIP C0 DB, XBee 7E 7D 11 13). */
export function nasty(n: number): Buffer {
  return publish(Buffer.from([0xc0, 0xdb, 0x7e, 0x7d, 0x11, 0x13, 0xdc, 0xdd, n & 0xff, (n >> 8) & 0xff]));
}

export interface Vector {
  name: string;
  layer: 'mqtt-sn' | 'slip' | 'xbee-api1' | 'xbee-api2';
  hex: string;
  decoded: Record<string, unknown>;
}

/** The fixture copy of the shared vectors (never ../shared, which CI does not have). */
export function vectors(layer: Vector['layer']): Vector[] {
  const url = new URL('../fixtures/vectors.json', import.meta.url);
  const all = (JSON.parse(readFileSync(url, 'utf8')) as { vectors: Vector[] }).vectors;
  return all.filter((v) => v.layer === layer);
}

/**
 * The far side of an XBee module's UART, for tests: it reads 0x10 Transmit Requests written by
 * the adapter, answers each with a 0x8B Transmit Status (success unless told otherwise), and
 * writes 0x90 Receive Packets as if nodes had sent them.
 */
export class XBeeModuleSim {
  /** RF data of each 0x10 received, in order */
  readonly data = new Queue<Buffer>();
  /** every 0x10 frame data received (type byte onwards) */
  readonly requests = new Queue<Buffer>();
  /** delivery status to answer with; `null` = do not answer */
  status: number | null = 0;
  /** anything wrong in what the adapter wrote; tests expect it empty */
  readonly bad: string[] = [];
  private readonly decoder: StreamDecoder;

  constructor(
    readonly port: SerialPort,
    readonly mode: ApiMode,
  ) {
    this.decoder = createApiDecoder(mode, 1024, {
      frame: (fd) => this.onFrame(fd),
      drop: (reason) => this.bad.push(reason),
    });
    port.on('data', (chunk: Buffer) => this.decoder.push(chunk));
  }

  /** a 0x90 from `addr64` (§2.5) */
  receive(data: Buffer, addr64 = '0013a20040a1b2c3', addr16 = 0x1113, options = 0x01): Promise<void> {
    const fd = Buffer.concat([Buffer.from([0x90]), hex(addr64), Buffer.from([addr16 >> 8, addr16 & 0xff, options]), data]);
    return writePort(this.port, encodeApiFrame(fd, this.mode));
  }

  private onFrame(fd: Buffer): void {
    if (fd[0] !== 0x10) return;
    this.requests.push(fd);
    this.data.push(fd.subarray(14)); // RF data after the 14-byte 0x10 header (§2.4)
    const frameId = fd[1]!;
    if (frameId !== 0 && this.status !== null) {
      // 0x8B (§2.6): frame id, 16-bit address, retries, delivery status, discovery status
      const status = encodeApiFrame(Buffer.from([0x8b, frameId, 0x11, 0x13, 0x00, this.status, 0x00]), this.mode);
      void writePort(this.port, status).catch(() => {});
    }
  }
}
