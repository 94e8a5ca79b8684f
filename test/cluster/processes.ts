/**
 * The processes the cluster harness runs (nats-server, nginx, gateway instances): finding the
 * Debian binaries (a missing one fails with its install command), and ending every process it
 * started, by PID, even when a test fails badly.
 */
import type { ChildProcess } from 'node:child_process';
import { findExecutable } from '../helpers/mosquitto.js';

export function executable(name: string, install: string): string {
  try {
    return findExecutable(name, ['/usr/sbin', '/usr/local/sbin']);
  } catch {
    throw new Error(`${name} is needed by the cluster harness but was not found in /usr/sbin or PATH; install it with: ${install}`);
  }
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Keeps `proc` on the list of processes SIGKILLed when this process exits. */
export function track(proc: ChildProcess): ChildProcess {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

/** Asks `proc` to stop with `signal`; SIGKILL after `graceMs`. */
export async function stopProcess(proc: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await Promise.race([gone, new Promise((r) => setTimeout(r, graceMs))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}
