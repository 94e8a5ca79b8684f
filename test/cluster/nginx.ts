/**
 * Debian's nginx with its stream module, run for the cluster harness only: its own prefix (-p),
 * config (-c) and pid file in a temp folder, `daemon off`, started and stopped by PID. The system
 * nginx is never touched.
 *
 * Two uses: the UDP front end that spreads devices over gateway instances (consistent hash of the
 * device's address and port, so a device stays on one instance while it lives), and a TCP
 * balancer in front of the broker cluster's MQTT listeners (the gateway takes one upstream url).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executable, stopProcess, track } from './processes.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** Debian puts the dynamic stream module here (libnginx-mod-stream). */
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/**
 * The UDP front end's stream block. `hash ... consistent`: ketama hashing, so an instance's death
 * moves only its own devices. No proxy_responses: replies (and gateway-initiated datagrams) flow
 * for as long as the session lives. proxy_timeout: a UDP session idle longer is forgotten, and the
 * gateway can no longer reach the device through it, so it must exceed keep-alive x 1.5 (the
 * gateway's own supervision, MQTT-SN 1.2 §6.13) and a sleeper's sleep duration.
 * max_fails=1 fail_timeout=30s: the first datagram refused by a dead instance (ICMP port
 * unreachable) takes it out of the ring for 30 s, so the device's retry lands on another.
 */
export function udpFrontEndBlock(listen: Endpoint, instances: readonly Endpoint[], proxyTimeoutSec: number): string {
  return [
    'upstream mqttsn_gateways {',
    '  hash $remote_addr$remote_port consistent;',
    ...instances.map((i) => `  server ${i.host}:${i.port} max_fails=1 fail_timeout=30s;`),
    '}',
    'server {',
    `  listen ${listen.host}:${listen.port} udp;`,
    '  proxy_pass mqttsn_gateways;',
    `  proxy_timeout ${proxyTimeoutSec}s;`,
    '}',
  ].join('\n');
}

/**
 * The TCP balancer in front of the broker nodes' MQTT listeners: a connection goes to the least
 * busy node that takes it; a node that refuses is skipped (proxy_next_upstream, on by default).
 */
export function tcpBalancerBlock(listen: Endpoint, nodes: readonly Endpoint[]): string {
  return [
    'upstream mqtt_brokers {',
    '  least_conn;',
    ...nodes.map((n) => `  server ${n.host}:${n.port} max_fails=1 fail_timeout=10s;`),
    '}',
    'server {',
    `  listen ${listen.host}:${listen.port};`,
    '  proxy_pass mqtt_brokers;',
    '  proxy_connect_timeout 2s;',
    // MQTT connections are long-lived; the keep-alive traffic keeps them well under this.
    '  proxy_timeout 1h;',
    '}',
  ].join('\n');
}

export class Nginx {
  readonly dir: string;
  #proc: ChildProcess | undefined;
  log = '';

  private constructor(dir: string) {
    this.dir = dir;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Starts nginx with one stream block; resolves once it runs (its error log says why when not). */
  static async start(streamBlock: string): Promise<Nginx> {
    const binary = executable('nginx', 'apt-get install -y nginx libnginx-mod-stream');
    if (!existsSync(STREAM_MODULE)) throw new Error(`nginx's stream module ${STREAM_MODULE} is missing; install it with: apt-get install -y libnginx-mod-stream`);
    const dir = await mkdtemp(join(tmpdir(), 'nginx-cluster-'));
    await mkdir(join(dir, 'logs'));
    const conf = [
      `load_module ${STREAM_MODULE};`,
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'logs', 'error.log')} warn;`,
      'events { worker_connections 8192; }',
      'stream {',
      streamBlock,
      '}',
      '',
    ].join('\n');
    await writeFile(join(dir, 'nginx.conf'), conf);
    const n = new Nginx(dir);
    const proc = track(spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs', 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    proc.stdout?.on('data', (b: Buffer) => (n.log = (n.log + b.toString()).slice(-10_000)));
    proc.stderr?.on('data', (b: Buffer) => (n.log = (n.log + b.toString()).slice(-10_000)));
    n.#proc = proc;
    // nginx binds before it writes its pid file; a bad config exits at once.
    const end = Date.now() + 10_000;
    while (!existsSync(join(dir, 'nginx.pid'))) {
      if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${n.log}`);
      if (Date.now() > end) throw new Error(`nginx did not start within 10 s: ${n.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return n;
  }

  async stop(): Promise<void> {
    await stopProcess(this.#proc, 'SIGQUIT', 3000);
    await rm(this.dir, { recursive: true, force: true });
  }
}
