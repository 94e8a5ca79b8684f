/**
 * The real clock's timers (`systemClock`), which every session keeps one of: they fire, a
 * cancelled one never does (twice is harmless), and they never keep the process alive.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/clock.js';
import { expectNothing, until } from './helpers/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('clock: systemClock timers', () => {
  it('fire once; a cancelled one never fires, and cancelling again or after firing is harmless', async () => {
    // The timers under test are unref'd: something must keep this test's event loop running.
    const alive = setInterval(() => undefined, 1000);
    try {
      const fired: string[] = [];
      const kept = systemClock.setTimeout(() => fired.push('kept'), 1);
      const cancelled = systemClock.setTimeout(() => fired.push('cancelled'), 1);
      cancelled.cancel();
      cancelled.cancel();
      await until(() => fired.includes('kept'), 5000, 'the kept timer');
      kept.cancel();
      // Barrier: a timer set after the cancelled one, due later, has fired; the cancelled one was due first.
      await expectNothing('the cancelled timer', () => new Promise((r) => systemClock.setTimeout(() => r(undefined), 5)), () => fired.filter((f) => f !== 'kept'));
      assert.deepEqual(fired, ['kept']);
    } finally {
      clearInterval(alive);
    }
  });

  it('does not keep the process alive', async () => {
    // A process whose only work left is a one-minute systemClock timer ends at once, without it firing.
    const script = "import('./src/clock.ts').then(({ systemClock }) => systemClock.setTimeout(() => console.log('fired'), 60_000))";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Bounds a hang only; the timer would fire after 60 s.
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    assert.equal(signal, null, 'the process had to be killed: the timer kept it alive');
    assert.equal(code, 0);
    assert.equal(out, '');
  });
});
