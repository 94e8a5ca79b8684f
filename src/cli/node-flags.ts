/**
 * How the gateway process is started: `npm start` and the systemd unit that
 * `--print-systemd-unit` writes put these V8 flags on node's command line and these variables in
 * its environment (a test checks both), and the memory bench starts it the same way (issue #19).
 *
 * `--max-semi-space-size=1`: V8 sizes the young generation for throughput by default (up to
 * 16 MiB per semi-space on 64-bit), and keeps what start-up grew it to: about 7 MB resident at
 * rest for nothing. The gateway's hot path allocates little that lives, so a small young
 * generation costs no throughput (`npm run bench` shows both side by side) and caps the part of
 * the peak that the young generation is under load.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (V8's compiler and GC helpers,
 * libuv's pool) a malloc arena of its own, up to 8 per core, and keeps what each grew to. Two
 * arenas are enough for one JavaScript thread and its helpers. glibc reads it once, before
 * `main`, so it must be in the environment the process starts with, not set by the gateway.
 */
export const GATEWAY_NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/**
 * The node options a systemd unit runs the CLI with: those of this process (tsx when run from
 * source; debugging ones are left out) plus each gateway flag the user did not set already.
 */
export function unitNodeOptions(execArgv: readonly string[]): string[] {
  const kept = execArgv.filter((a) => !a.startsWith('--inspect'));
  const named = new Set(kept.map((a) => a.split('=')[0]));
  return [...GATEWAY_NODE_FLAGS.filter((f) => !named.has(f.split('=')[0])), ...kept];
}

/** The environment a systemd unit sets: the gateway's variables, a value this process has winning. */
export function unitEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(GATEWAY_NODE_ENV).map(([k, v]) => [k, env[k] ?? v]));
}
