/**
 * One gateway instance of the cluster, a process of its own (so it can be SIGKILLed by PID as a
 * machine is lost): the shipped CLI with a config in its own temp folder, transparent mode, its
 * own gatewayId and upstream.clientId, the SQLite store (the default) in that folder.
 *
 * Every instance takes the same upstream.clientIdPrefix: a device's upstream session (its
 * subscriptions and queued QoS 1 messages in the broker) must be the same whichever instance
 * carries it, or failover would open an empty session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/wait.js';
import type { Endpoint } from './nginx.js';
import { stopProcess, track } from './processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface InstanceOptions {
  gatewayId: number;
  /** the UDP address the instance listens on (the front end sends there) */
  udp: Endpoint;
  /** the gateway's transport entry for `udp`: plain UDP, or what the front end needs */
  transport: Record<string, unknown>;
  brokerUrl: string;
  clientIdPrefix: string;
  /** the HTTP port of /api/sessions and /metrics */
  httpPort: number;
  /** config keys beyond the minimal ones (each use says why) */
  extra?: Record<string, unknown>;
}

/** The config file of one instance (the README's Deployment section shows the same). */
export function instanceConfig(o: InstanceOptions): Record<string, unknown> {
  return {
    gatewayId: o.gatewayId,
    transports: [o.transport],
    // no local MQTT listener: the instances share a host here, and the broker is the cluster
    broker: { listen: [] },
    http: { port: o.httpPort },
    upstream: { url: o.brokerUrl, mode: 'transparent', clientId: `mqttsn-gw-${o.gatewayId}`, clientIdPrefix: o.clientIdPrefix },
    ...o.extra,
  };
}

export class GatewayInstance {
  readonly options: InstanceOptions;
  readonly dir: string;
  #proc: ChildProcess | undefined;
  out = '';

  private constructor(options: InstanceOptions, dir: string) {
    this.options = options;
    this.dir = dir;
  }

  get pid(): number | undefined {
    return this.#proc?.exitCode === null ? this.#proc.pid : undefined;
  }

  get alive(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  static async start(o: InstanceOptions): Promise<GatewayInstance> {
    const dir = await mkdtemp(join(tmpdir(), `mqttsn-gw${o.gatewayId}-`));
    await writeFile(join(dir, 'gateway.config.json'), JSON.stringify(instanceConfig(o), null, 2));
    const g = new GatewayInstance(o, dir);
    await g.#spawn();
    return g;
  }

  async #spawn(): Promise<void> {
    const o = this.options;
    this.out = '';
    const proc = track(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), '--config', join(this.dir, 'gateway.config.json')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    proc.stdout?.on('data', (b: Buffer) => (this.out = (this.out + b.toString()).slice(-20_000)));
    proc.stderr?.on('data', (b: Buffer) => (this.out = (this.out + b.toString()).slice(-20_000)));
    this.#proc = proc;
    await until(() => /gateway running/.test(this.out) || proc.exitCode !== null, 60_000, `gateway ${o.gatewayId} to start`, 50);
    if (proc.exitCode !== null) throw new Error(`gateway ${o.gatewayId} exited ${proc.exitCode}: ${this.out}`);
  }

  /** Starts the instance again after kill(), as systemd would: same config, same port, same store. */
  async restart(): Promise<void> {
    if (this.alive) throw new Error(`gateway ${this.options.gatewayId} is still running`);
    await this.#spawn();
  }

  /** The client ids of the sessions this instance holds, from its /api/sessions (paged). */
  async sessionIds(): Promise<string[]> {
    const ids: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const q = after === undefined ? '' : `&after=${encodeURIComponent(after)}`;
      const res = await fetch(`http://127.0.0.1:${this.options.httpPort}/api/sessions?limit=500${q}`);
      const body = (await res.json()) as { next: string | null; sessions: { clientId: string }[] };
      ids.push(...body.sessions.map((x) => x.clientId));
      if (body.next === null || body.next === undefined) return ids;
      after = body.next;
    }
    return ids;
  }

  /** Its devices' upstream connections standing now (/metrics `mqttsn_upstream_connections`; its own one not counted). */
  async upstreamConnections(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.options.httpPort}/metrics`);
    const m = /^mqttsn_upstream_connections (\d+)$/m.exec(await res.text());
    if (m === null) throw new Error(`gateway ${this.options.gatewayId}: no mqttsn_upstream_connections in /metrics`);
    return Number(m[1]);
  }

  /** Resident memory of the process, from /proc (Linux). */
  rssBytes(): number | undefined {
    if (this.pid === undefined) return undefined;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? undefined : Number(m[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  /** SIGKILL by PID: the machine is lost, nothing is drained or said goodbye to. */
  kill(): void {
    if (this.pid === undefined) throw new Error(`gateway ${this.options.gatewayId} is not running`);
    this.#proc?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await stopProcess(this.#proc, 'SIGTERM', 10_000);
    await rm(this.dir, { recursive: true, force: true });
  }
}
