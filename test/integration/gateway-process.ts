/**
 * Runs the gateway the way a user does (`mqttsn-gateway --config FILE`, here through tsx so no
 * build is needed) on free loopback ports, and gives tests a raw MQTT-SN UDP client and an
 * MQTT client on the broker listener.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { scaled } from '../helpers/time-scale.js';
import { decode, DecodeError, encode, type Packet, type PacketOf, type PacketType } from '../../src/codec/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The port pickers live with the other shared test helpers; re-exported for the tests that import them from here.
export { freeTcpPort, freeUdpPort };

export interface GatewayProcess {
  proc: ChildProcess;
  udpPort: number;
  mqttPort: number;
  /** every stdout line so far (pino JSON) */
  lines: string[];
  stderr: () => string;
  /** SIGINT, then the exit code */
  stop(): Promise<number | null>;
}

/**
 * Starts the gateway CLI with a config built from the free ports; resolves once it answers
 * SEARCHGW. `nodeArgs` go to node before the script (e.g. `--max-old-space-size`).
 */
export async function startGateway(
  extra: Record<string, unknown> = {},
  opts: { udpHost?: string; logLevel?: string; extraTransports?: unknown[]; nodeArgs?: string[]; udpFields?: Record<string, unknown> } = {},
): Promise<GatewayProcess> {
  const udpHost = opts.udpHost ?? '127.0.0.1';
  const udpPort = await freeUdpPort(udpHost);
  const mqttPort = await freeTcpPort();
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-e2e-'));
  const file = join(dir, 'gateway.config.json');
  const config = {
    gatewayId: 3,
    transports: [{ type: 'udp', host: udpHost, port: udpPort, ...opts.udpFields }, ...(opts.extraTransports ?? [])],
    broker: { listen: [{ host: '127.0.0.1', port: mqttPort }] },
    ...extra,
  };
  await writeFile(file, JSON.stringify(config));
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/cli.ts', '--config', file, '--log-level', opts.logLevel ?? 'info'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  // Ready when it answers SEARCHGW: independent of the log level.
  const running = new Promise<void>((resolve, reject) => {
    const probe = createSocket(udpHost.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      proc.off('exit', onExit);
      clearInterval(timer);
      clearTimeout(deadline);
      probe.close();
      if (err) reject(err);
      else resolve();
    };
    probe.on('message', (m) => {
      if (m[1] === 0x02) done();
    });
    const timer = setInterval(() => probe.send(Buffer.from([3, 1, 0]), udpPort, udpHost), 100);
    // A bound on a hang, not a speed check: a start under tsx on a busy 2-core machine takes seconds.
    const deadline = setTimeout(() => done(new Error(`gateway did not start in ${scaled(60_000) / 1000} s: ${err}`)), scaled(60_000));
    const onExit = (code: number | null): void => done(new Error(`gateway exited with ${code} before running: ${err}`));
    proc.once('exit', onExit);
  });
  try {
    await running;
  } catch (e) {
    proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    proc,
    udpPort,
    mqttPort,
    lines,
    stderr: () => err,
    async stop() {
      // A process killed by a signal has no exit code but has exited: waiting for 'exit' would hang.
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        await once(proc, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
      return proc.exitCode;
    },
  };
}

/** A bare MQTT-SN client on its own UDP socket: sends packets, waits for the next one of a type. */
export class SnClient {
  readonly socket: Socket;
  /** frames from the gateway that did not decode: a test asserts this stays empty */
  readonly badFrames: string[] = [];
  #queue: Packet[] = [];
  #waiters: Array<() => void> = [];

  private constructor(
    socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    this.socket = socket;
    socket.on('message', (msg) => {
      const p = decode(msg);
      if (p instanceof DecodeError) {
        this.badFrames.push(msg.toString('hex'));
        return;
      }
      this.#queue.push(p);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** A client of the gateway at `host`:`port`, on a socket bound to `bindHost` (another loopback address: another device's address). */
  static async open(port: number, host = '127.0.0.1', bindHost = host): Promise<SnClient> {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.bind(0, bindHost);
    await once(s, 'listening');
    return new SnClient(s, host, port);
  }

  send(p: Packet): void {
    this.socket.send(encode(p), this.port, this.host);
  }

  sendRaw(bytes: Buffer): void {
    this.socket.send(bytes, this.port, this.host);
  }

  /** The next packet of this type (others before it are discarded), or a timeout error. */
  async next<T extends PacketType>(type: T, timeoutMs = scaled(5000)): Promise<PacketOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#queue.findIndex((p) => p.type === type);
      if (i >= 0) {
        const [p] = this.#queue.splice(0, i + 1).slice(-1);
        return p as PacketOf<T>;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.#queue.map((p) => p.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Packets received and not yet taken. */
  pending(): Packet[] {
    return this.#queue.splice(0);
  }

  async connect(clientId: string, opts: { cleanSession?: boolean; keepAlive?: number } = {}): Promise<void> {
    this.send({ type: 'CONNECT', will: false, cleanSession: opts.cleanSession ?? true, protocolId: 1, duration: opts.keepAlive ?? 60, clientId });
    const ack = await this.next('CONNACK');
    if (ack.returnCode !== 0) throw new Error(`CONNACK ${ack.returnCode}`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
