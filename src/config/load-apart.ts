/**
 * `loadConfig` in a short-lived child process, for the running gateway (issue #19). Validating
 * takes zod and the config schema: about 5 MB of heap and code that a process keeps for good once
 * it has imported them (ES modules are never unloaded), for a check done once at start and on
 * SIGHUP. A child process does it and exits; its memory goes with it. The outcome is the same as
 * `loadConfig`'s: the fully defaulted config, or a `ConfigError` with the same issues and message.
 *
 * This module imports nothing that loads zod (a test checks the running gateway's module cache).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { GatewayConfig } from './schema.js';

/** What load-child.ts writes: the config, the config's problems, or an unexpected failure. */
export type ApartOutcome =
  | { ok: true; config: GatewayConfig }
  | { ok: false; issues: readonly ConfigIssue[]; source: string | undefined }
  | { ok: false; failure: string };

/**
 * Node options for the child: those of this process that load code (tsx when run from source),
 * not a debugger's or profiler's, which would fight over a port or write files of their own.
 */
function childNodeOptions(execArgv: readonly string[]): string[] {
  return execArgv.filter((a) => !/^--(inspect|debug|cpu-prof|heap-prof|prof)/.test(a));
}

/**
 * Reads and validates the config file like `loadConfig(path, env)`, in a child process with `env`
 * as its environment.
 * @throws ConfigError for a missing or unreadable file, invalid JSON or an invalid config
 */
export async function loadConfigApart(path: string, env: Readonly<Record<string, string | undefined>>): Promise<GatewayConfig> {
  // The child's script beside this one: .ts when run from source, .js when built.
  const script = new URL(`./load-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  const child = spawn(process.execPath, [...childNodeOptions(process.execArgv), fileURLToPath(script), path], {
    env: { ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  let result: ApartOutcome | undefined;
  try {
    if (code === 0) result = deserialize(Buffer.concat(out)) as ApartOutcome;
  } catch {
    // reported below with what the child said
  }
  if (result === undefined) {
    const said = Buffer.concat(err).toString('utf8').trim();
    throw new Error(`the configuration check (a child process) ended with ${signal ?? `exit code ${code}`}${said === '' ? '' : `: ${said}`}`);
  }
  if (result.ok) return result.config;
  if ('issues' in result) throw new ConfigError(result.issues, result.source);
  throw new Error(`the configuration check failed: ${result.failure}`);
}
