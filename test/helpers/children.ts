/**
 * The child processes test helpers start (gateways, mosquitto, socat, the CLI, flooders), kept so
 * that a test that fails before its own cleanup cannot leave one running. A live child (or the
 * pipes to it) keeps the test file's process from ending, and the whole run waited for it.
 *
 * They are killed (SIGKILL) when the file's tests are over (a root `after` hook, after every
 * suite's own), when the file's process exits, and when it is told to stop: the runner sends
 * SIGTERM to a file that overran its time (test/run.mjs, --test-timeout), and a child is not
 * killed with its parent on its own.
 */
import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';

const children = new Set<ChildProcess>();

/** Keeps `child` until it exits; returns it. */
export function track<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills every tracked child still running. */
export function killTracked(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
}

process.once('exit', killTracked);
for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  process.once(signal, () => {
    killTracked();
    process.exit(code);
  });
}

// Only in a test file: a root hook makes node:test report, which a bench importing a helper must not.
if (process.env.NODE_TEST_CONTEXT !== undefined || /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) after(killTracked);
