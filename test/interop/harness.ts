/**
 * Interop replays: the gateway as shipped (gateway.config.json: its UDP transport, its limits,
 * its default SQLite store) on free loopback ports, driven by datagrams written byte for byte as
 * other people's MQTT-SN clients write them. A replay client keeps every frame in arrival order,
 * so a test can say what came first.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, DecodeError, type Packet, type PacketOf, type PacketType } from '../../src/codec/index.js';
import type { BrokerMessage } from '../../src/broker/types.js';
import { createGateway, parseConfig, type RunningGateway } from '../../src/index.js';
import { recordingLogger } from '../gateway/harness.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { until as waitUntil } from '../helpers/wait.js';

const SHIPPED = new URL('../../gateway.config.json', import.meta.url);

export interface ShippedGateway {
  running: RunningGateway;
  udpPort: number;
  /** what the gateway logged at info and above */
  lines: ReturnType<typeof recordingLogger>['lines'];
  /** every message that reached the broker core */
  published: BrokerMessage[];
  close(): Promise<void>;
}

/**
 * Starts the shipped config with its ports replaced by free ones and its store file in a temp
 * folder. `change` edits the parsed JSON first; a test that uses it says why.
 */
export type ShippedJson = { transports: Array<Record<string, unknown>>; broker: { listen: Array<{ port: number }> } } & Record<string, unknown>;

export async function startShipped(change: (json: ShippedJson) => void = () => undefined): Promise<ShippedGateway> {
  const json = JSON.parse(await readFile(SHIPPED, 'utf8')) as ShippedJson;
  assert.equal(json.transports.length, 1, 'the shipped config has one UDP transport');
  const udpPort = await freeUdpPort();
  json.transports[0]!.port = udpPort;
  for (const l of json.broker.listen) l.port = await freeTcpPort();
  change(json);
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-interop-'));
  const config = parseConfig(json, 'gateway.config.json', dir);
  const { logger, lines } = recordingLogger();
  const running = await createGateway(config, { logger });
  const published: BrokerMessage[] = [];
  const off = await running.broker.subscribe('#', (m) => void published.push(m));
  return {
    running,
    udpPort,
    lines,
    published,
    close: async () => {
      await off();
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Hex with spaces (as a capture reads) to bytes. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** One UDP client socket replaying recorded bytes and keeping the gateway's answers in order. */
export class Replay {
  readonly #socket: Socket;
  readonly #frames: Buffer[] = [];
  #wake: (() => void) | undefined;

  private constructor(
    socket: Socket,
    readonly port: number,
  ) {
    this.#socket = socket;
    socket.on('message', (msg) => {
      this.#frames.push(msg);
      this.#wake?.();
    });
  }

  static async open(port: number): Promise<Replay> {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return new Replay(s, port);
  }

  send(bytes: Buffer | string): void {
    this.#socket.send(typeof bytes === 'string' ? hex(bytes) : bytes, this.port, '127.0.0.1');
  }

  /** The next frame the gateway sent, in arrival order; fails after `timeoutMs`. */
  async frame(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from the gateway within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.#frames.shift()!;
  }

  /** The next frame, decoded, which must be of this type. */
  async next<T extends PacketType>(type: T, timeoutMs = 5000): Promise<PacketOf<T>> {
    const f = await this.frame(timeoutMs);
    const p: Packet | DecodeError = decode(f);
    assert.ok(!(p instanceof DecodeError), `the gateway sent an undecodable frame ${f.toString('hex')}`);
    assert.equal(p.type, type, `expected ${type}, got ${p.type} (${f.toString('hex')})`);
    return p as PacketOf<T>;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** Polls until `cond` holds (bounded), for what the gateway does without answering; the shared wait with its arguments in this file's order. */
export function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  return waitUntil(cond, ms, what);
}

/** A UTF-8 string as hex, for writing frames next to their fields. */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** Two bytes, big endian, as hex. */
export const u16 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * One MQTT-SN message in the 1-byte length form: the Length byte is counted here, everything
 * after it is given as hex (MsgType first), as a capture shows it.
 */
export function msg(...parts: string[]): Buffer {
  const body = hex(parts.join(''));
  assert.ok(body.length + 1 <= 255, 'a 1-byte length form message');
  return Buffer.concat([Buffer.from([body.length + 1]), body]);
}

/**
 * The shipped gateway for one `describe`: started before its tests, closed after them with every
 * replay client it opened.
 */
export function shippedSuite(change?: (json: Record<string, unknown>) => void): { gw: () => ShippedGateway; client: () => Promise<Replay> } {
  let gw: ShippedGateway | undefined;
  const open: Replay[] = [];
  before(async () => {
    gw = await startShipped(change);
  });
  after(async () => {
    for (const r of open) await r.close();
    await gw?.close();
  });
  return {
    gw: () => gw!,
    client: async () => {
      const r = await Replay.open(gw!.udpPort);
      open.push(r);
      return r;
    },
  };
}
