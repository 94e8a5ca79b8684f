/**
 * V8 flags the gateway process starts with: `npm start` and the systemd unit that
 * `--print-systemd-unit` writes put them on node's command line (a test checks both).
 *
 * `--max-semi-space-size`: V8 sizes the young generation for throughput by default (up to
 * 16 MiB per semi-space on 64-bit), and keeps what start-up grew it to: about 7 MB resident at
 * rest for nothing. The gateway's hot path allocates little that lives, so a small young
 * generation costs no throughput (`npm run bench` shows both side by side) and caps the part of
 * the peak that the young generation is under load (issue #19).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The node options a systemd unit runs the CLI with: those of this process (tsx when run from
 * source; debugging ones are left out) plus each gateway flag the user did not set already.
 */
export function unitNodeOptions(execArgv: readonly string[]): string[] {
  const kept = execArgv.filter((a) => !a.startsWith('--inspect'));
  const named = new Set(kept.map((a) => a.split('=')[0]));
  return [...GATEWAY_NODE_FLAGS.filter((f) => !named.has(f.split('=')[0])), ...kept];
}
