/**
 * The README's first firmware-sim demo, as a user runs it: the gateway CLI on the shipped
 * gateway.config.json, then the `npm run sim -- ...` line of the README (with `extraArgs` after
 * it). The simulator's report must agree with an independent count: a real `mosquitto_sub` on the
 * gateway's local MQTT listener.
 *
 * Two things differ from the README, and only these: the ports (free ones instead of 1883/1884,
 * which may be taken on the machine running the tests), and `--duration` (5 s instead of 30 s so
 * the suite stays short on a 2-core machine; 100 nodes at 20/s for 5 s still make about 9,000
 * messages, enough for any miscount to show).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { root } from '../cli/cli-process.js';
import { until } from '../bridge/harness.js';
import { deliveryKey } from '../../firmware-sim/profiles.js';
import { startShippedProcess } from '../interop/shipped-process.js';

const DURATION_S = '5';

/** The README's demo line, split into npm's arguments (after `npm`). */
async function readmeDemo(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const line = /^npm run sim -- --gateway udp:\/\/127\.0\.0\.1:1884 .*$/m.exec(readme)?.[0];
  assert.ok(line !== undefined, 'the README shows the firmware-sim demo line');
  return line.trim().split(/\s+/).slice(1);
}

function collect(child: ChildProcess): { out: () => string } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { out: () => out };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const field = (report: string, name: string): number => {
  const m = new RegExp(`^ {2}${name} +(\\d+)$`, 'm').exec(report);
  assert.ok(m, `the report has a "${name}" line:\n${report}`);
  return Number(m[1]);
};

/** Runs the demo line (plus `extraArgs`) against the shipped gateway, checks it, resolves with the report. */
export async function runReadmeDemo(extraArgs: readonly string[] = []): Promise<string> {
  const gw = await startShippedProcess();
  let sub: ChildProcess | undefined;
  try {
    // -d prints "received SUBACK": the count starts before the first publish. stdbuf: line by
    // line into the pipe, not in 4 KB blocks.
    sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(gw.mqttPort), '-t', 'sim/#', '-q', '1', '-v', '-d', '-i', 'readme-demo-counter'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const counted = collect(sub);
    await until(() => /received SUBACK/.test(counted.out()), 10_000, `mosquitto_sub to subscribe:\n${counted.out()}`);

    const args = (await readmeDemo()).map((a) => a.replace('udp://127.0.0.1:1884', `udp://127.0.0.1:${gw.udpPort}`));
    const d = args.indexOf('--duration');
    assert.ok(d > 0, 'the demo line has a --duration');
    args[d + 1] = DURATION_S;
    const sim = spawn('npm', [...args, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let report = '';
    let progress = '';
    sim.stdout.on('data', (b: Buffer) => (report += b.toString()));
    sim.stderr.on('data', (b: Buffer) => (progress += b.toString()));
    const killer = setTimeout(() => sim.kill('SIGKILL'), 100_000);
    const [code] = (await once(sim, 'exit')) as [number | null];
    clearTimeout(killer);
    assert.equal(code, 0, `${report}\n${progress}`);

    const sent = field(report, 'sent');
    const acknowledged = field(report, 'acknowledged');
    const lost = field(report, 'lost');
    assert.match(report, /nodes +connected 100 +never connected 0/, 'the 100 demo nodes and the observer fit the shipped per-address CONNECT budget');
    assert.match(report, /^ {4}measured +end to end: /m, 'the report says loss was measured end to end');
    const e2e = /end to end +expected (\d+) +delivered (\d+) +lost (\d+)/.exec(report);
    assert.ok(e2e, report);
    const [expected, delivered, e2eLost] = [Number(e2e[1]), Number(e2e[2]), Number(e2e[3])];

    // The independent count: distinct messages (topic and seq) seen by mosquitto_sub.
    const keys = (): Set<string> => {
      const seen = new Set<string>();
      for (const l of counted.out().split('\n')) {
        const sp = l.indexOf(' ');
        if (!l.startsWith('sim/') || sp < 0) continue;
        const key = deliveryKey(l.slice(0, sp), l.slice(sp + 1));
        if (key !== undefined) seen.add(key);
      }
      return seen;
    };
    // Acknowledged means in the broker core: mosquitto_sub gets it a moment later at most.
    await until(() => keys().size >= acknowledged, 10_000, `mosquitto_sub to see ${acknowledged} messages (has ${keys().size})`).catch(() => undefined);
    const independent = keys().size;

    assert.ok(sent > 1000, `a real run: ${sent} sent\n${report}`);
    assert.equal(independent, acknowledged, 'every acknowledged message reached the local listener, and nothing else did');
    assert.equal(expected, acknowledged);
    assert.equal(delivered, independent, 'the report delivered what mosquitto_sub counted');
    assert.equal(e2eLost, expected - delivered);
    assert.equal(lost, sent - acknowledged + e2eLost);
    assert.equal(lost, 0, report);
    return report;
  } finally {
    await stop(sub);
    await gw.close();
  }
}
