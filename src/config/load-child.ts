/**
 * The child process of `loadConfigApart` (load-apart.ts): validates the config file named in
 * argv[2] with this process's environment, writes the outcome to stdout with `v8.serialize` (so
 * `undefined`, `Infinity` and the like survive, which JSON would not) and exits.
 */
import { serialize } from 'node:v8';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import type { ApartOutcome } from './load-apart.js';

async function outcome(path: string): Promise<ApartOutcome> {
  try {
    return { ok: true, config: await loadConfig(path, process.env) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, issues: err.issues, source: err.source };
    return { ok: false, failure: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: load-child <config file>\n');
  process.exitCode = 2;
} else {
  process.stdout.write(serialize(await outcome(path)));
}
