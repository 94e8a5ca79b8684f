/**
 * A NATS cluster from Debian's nats-server for the cluster tests: N nodes on loopback, each with
 * JetStream (the MQTT listener keeps its sessions and QoS 1 messages in JetStream streams) and an
 * MQTT listener, routes between all of them, every MQTT stream and consumer replicated on all
 * nodes so one node's loss loses no session. Started and killed by PID; its own temp folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { executable, stopProcess, track } from './processes.js';

export interface NatsNode {
  name: string;
  clientPort: number;
  clusterPort: number;
  mqttPort: number;
  proc: ChildProcess | undefined;
  log: string;
}

/** The nats-server.conf of one node (also what the README's Deployment section shows). */
export function natsNodeConfig(node: NatsNode, all: readonly NatsNode[], dir: string, replicas: number): string {
  const routes = all.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.clusterPort}`);
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.clientPort}`,
    // JetStream holds the MQTT sessions, retained messages and QoS 1 messages.
    `jetstream { store_dir: "${join(dir, node.name)}", max_memory_store: 64MB, max_file_store: 1GB }`,
    `cluster { name: mqttsn, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes.join(', ')}] }`,
    // stream_replicas: every MQTT stream (sessions, messages, retained) on `replicas` nodes.
    // consumer_replicas: 0 means "as the stream"; set explicitly so a QoS 1 subscription's
    // consumer (what is queued for an absent clean-session-false client) survives a node too.
    `mqtt { listen: 127.0.0.1:${node.mqttPort}, stream_replicas: ${replicas}, consumer_replicas: ${replicas}, ack_wait: "10s" }`,
    '',
  ].join('\n');
}

export class NatsCluster {
  readonly nodes: NatsNode[];
  readonly dir: string;
  readonly #binary: string;
  readonly #replicas: number;

  private constructor(binary: string, dir: string, nodes: NatsNode[], replicas: number) {
    this.#binary = binary;
    this.dir = dir;
    this.nodes = nodes;
    this.#replicas = replicas;
  }

  static async start(size = 3): Promise<NatsCluster> {
    const binary = executable('nats-server', 'apt-get install -y nats-server');
    const dir = await mkdtemp(join(tmpdir(), 'nats-cluster-'));
    const nodes: NatsNode[] = [];
    for (let i = 1; i <= size; i++) {
      nodes.push({ name: `n${i}`, clientPort: await freeTcpPort(), clusterPort: await freeTcpPort(), mqttPort: await freeTcpPort(), proc: undefined, log: '' });
    }
    const c = new NatsCluster(binary, dir, nodes, size);
    for (const n of nodes) await c.startNode(n);
    await c.ready();
    return c;
  }

  async startNode(n: NatsNode): Promise<void> {
    const conf = join(this.dir, `${n.name}.conf`);
    await writeFile(conf, natsNodeConfig(n, this.nodes, this.dir, this.#replicas));
    const proc = track(spawn(this.#binary, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    n.log = '';
    const keep = (b: Buffer): void => {
      n.log = (n.log + b.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    n.proc = proc;
  }

  /** Every live node's MQTT listener takes a connection and the JetStream meta group has a leader. */
  async ready(timeoutMs = 60_000): Promise<void> {
    for (const n of this.nodes.filter((x) => x.proc !== undefined)) {
      await until(() => tcpOpen(n.mqttPort), timeoutMs, `nats ${n.name} MQTT listener`, 100);
    }
    await until(() => this.nodes.some((n) => /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(n.log)), timeoutMs, 'a JetStream meta leader', 100);
  }

  /** SIGKILL one node by its PID (no goodbye to the cluster: a machine lost). */
  kill(name: string): void {
    const n = this.nodes.find((x) => x.name === name);
    if (n?.proc?.pid === undefined) throw new Error(`no running node ${name}`);
    n.proc.kill('SIGKILL');
    n.proc = undefined;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await stopProcess(n.proc, 'SIGTERM', 5000);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
