/**
 * The CLI as a child process (`node --import tsx src/cli.ts ...`), the way a user or systemd
 * runs it: exit codes, stdout, stderr and signals are the interface under test.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from '../helpers/children.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { scaled } from '../helpers/time-scale.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = ['--import', 'tsx', 'src/cli.ts'];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Run as root without the capabilities that let root open any file (util-linux `setpriv`), so
   * file permissions apply to it as to an ordinary user while it can still read this checkout.
   */
  withoutFileOverride?: boolean;
  /** written to the child's stdin, which is then closed; without it stdin is not connected */
  input?: string;
  /** node's arguments before the CLI's own (default CLI: the source under tsx) */
  cli?: readonly string[];
}

/** Runs the CLI to its end; a run that outlives `timeoutMs` is killed and fails the test. */
export async function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A bound on a hang, not a speed check: a start under tsx on a busy 2-core machine takes seconds.
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? scaled(60_000));
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`mqttsn-gateway ${args.join(' ')} did not end in time; stderr: ${stderr}`);
  return { code, signal, stdout, stderr };
}

export function spawnCli(args: readonly string[], opts: RunOptions = {}): ChildProcess {
  const options: SpawnOptions = { cwd: root, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env };
  if (opts.uid !== undefined) options.uid = opts.uid;
  if (opts.gid !== undefined) options.gid = opts.gid;
  if (opts.withoutFileOverride === true) {
    return track(spawn('setpriv', ['--bounding-set', '-dac_override,-dac_read_search', '--', process.execPath, ...(opts.cli ?? CLI), ...args], options));
  }
  return track(spawn(process.execPath, [...(opts.cli ?? CLI), ...args], options));
}

/** A temporary folder, readable by anyone (tests may run the CLI as another user). */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-cli-'));
  await chmod(dir, 0o755);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a config (an object is written as JSON, a string as is) and returns its path. */
export async function writeConfig(dir: string, name: string, config: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  await chmod(path, 0o644);
  return path;
}

/** Runs `items` through `fn`, at most `limit` at once, results in input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * A running gateway CLI: its stdout lines (pino JSON) as they come, signals, and its exit.
 * `close()` kills it if a test left it running.
 */
export class GatewayChild {
  readonly lines: string[] = [];
  stderr = '';
  readonly #exit: Promise<number | null>;
  #waiters: Array<() => void> = [];

  private constructor(readonly proc: ChildProcess) {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.#exit = new Promise((resolve) => proc.once('exit', (code) => {
      for (const w of this.#waiters.splice(0)) w();
      resolve(code);
    }));
  }

  /** Starts the CLI on a config file and waits for "gateway running". */
  static async start(configPath: string, opts: RunOptions & { args?: string[] } = {}): Promise<GatewayChild> {
    const g = new GatewayChild(spawnCli(['--config', configPath, ...(opts.args ?? [])], opts));
    try {
      await g.waitFor((l) => l.includes('"gateway running"'), opts.timeoutMs ?? scaled(60_000));
    } catch (err) {
      await g.close();
      throw err;
    }
    return g;
  }

  /** Spawns without waiting for anything. */
  static spawn(configPath: string, opts: RunOptions & { args?: string[] } = {}): GatewayChild {
    return new GatewayChild(spawnCli(['--config', configPath, ...(opts.args ?? [])], opts));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Parsed JSON log lines (non-JSON lines are skipped). */
  records(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a JSON line
      }
    }
    return out;
  }

  /** The first line, from the start, that matches; waits for it. */
  async waitFor(match: (line: string) => boolean, timeoutMs = scaled(30_000)): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`the gateway exited (${this.proc.exitCode}) before the line came; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such line within ${timeoutMs} ms; lines: ${this.lines.join('\n')}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** The exit code, waiting at most `timeoutMs` (then SIGKILL and an error). */
  async exitCode(timeoutMs = scaled(30_000)): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const r = await Promise.race([this.#exit, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.#exit;
      throw new Error(`the gateway did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`);
    }
    return r;
  }

  async close(): Promise<void> {
    if (this.running) this.proc.kill('SIGKILL');
    await this.#exit;
  }
}

/** The shipped gateway.config.json on free ports (its SQLite store lands next to the file). */
export async function shippedConfigOnFreePorts(): Promise<Record<string, unknown>> {
  const shipped = JSON.parse(await readFile(join(root, 'gateway.config.json'), 'utf8')) as Record<string, unknown>;
  delete shipped.$schema;
  return { ...shipped, transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }], broker: { listen: [{ host: '127.0.0.1', port: await freeTcpPort() }] } };
}
