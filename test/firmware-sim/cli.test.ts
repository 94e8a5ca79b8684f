/**
 * The CLI as a user runs it: a child process against a gateway on 127.0.0.1 for a couple of
 * seconds, its report checked number by number; bad options exit 2 with a message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HELP, main, parseCli } from '../../firmware-sim/cli.js';
import type { SimReport } from '../../firmware-sim/stats.js';
import { startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.js';
import { ScriptedGateway } from './scripted-gateway.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'firmware-sim/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('firmware-sim CLI', () => {
  let gw: GatewayUnderTest;
  before(async () => {
    gw = await startGatewayUnderTest();
  });
  after(() => gw.close());

  it('runs nodes for a while and reports sent, acknowledged, received, lost, duplicates and latency', async () => {
    const { code, stdout, stderr } = await runCli([
      '--gateway', gw.url, '--nodes', '4', '--profile', 'temperature,door', '--rate', '10', '--qos', '1',
      '--duration', '1.5', '--observe', '--json', '--ramp', '0', '--retry-ms', '500', '--drain', '3', '--expect-no-loss',
    ]);
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout) as SimReport;
    assert.equal(r.nodes.total, 4);
    assert.equal(r.nodes.connected, 4);
    // 4 nodes: 2 at 10/s and 2 door nodes at a mean 10 events/s, for 1.5 s: about 60.
    assert.ok(r.sent >= 20 && r.sent <= 120, `sent ${r.sent}`);
    assert.equal(r.publish['1'].sent, r.sent);
    assert.equal(r.acknowledged, r.sent);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.deepEqual(r.endToEnd, { expected: r.sent, delivered: r.sent, lost: 0, duplicates: 0 });
    assert.equal(r.received, r.sent);
    assert.equal(r.latency.publish1?.count, r.sent);
    assert.ok(r.latency.publish1.p50 <= r.latency.publish1.p99);
    assert.equal(r.latency.connect?.count, 5);
    // Plain progress lines on a non-TTY stderr.
    assert.match(stderr, /sent \d+ {2}acked \d+/);
  });

  it('prints a human report by default', async () => {
    const { code, stdout } = await runCli(['--gateway', gw.url, '--nodes', '2', '--profile', 'beacon', '--rate', '20', '--qos', '-1', '--duration', '0.5', '--quiet', '--ramp', '0']);
    assert.equal(code, 0);
    assert.match(stdout, /^firmware-sim report: 2 node\(s\) \[beacon\]/);
    assert.match(stdout, /QoS -1 +\d+/);
  });

  it('exits 1 under --expect-no-loss when acknowledgements never come', async () => {
    const mute = await ScriptedGateway.start();
    mute.auto = (r) => {
      if (r.packet.type === 'CONNECT') void mute.send(r, { type: 'CONNACK', returnCode: 0 });
      else if (r.packet.type === 'REGISTER') void mute.send(r, { type: 'REGACK', topicId: 1, msgId: r.packet.msgId, returnCode: 0 });
      else if (r.packet.type === 'DISCONNECT') void mute.send(r, { type: 'DISCONNECT' });
      return true;
    };
    try {
      const { code, stdout, stderr } = await runCli(['--gateway', mute.url, '--rate', '5', '--qos', '1', '--duration', '0.5', '--retry-ms', '100', '--retries', '1', '--drain', '1', '--json', '--quiet', '--expect-no-loss']);
      assert.equal(code, 1);
      const r = JSON.parse(stdout) as SimReport;
      assert.ok(r.lost >= 1);
      assert.equal(r.acknowledged, 0);
      assert.ok(r.retransmissions >= 1);
      assert.match(stderr, /lost, never acknowledged \(--expect-no-loss\)/);
      // The mute gateway never answers SUBSCRIBE: the run went on without an observer and said so.
      assert.equal(r.lossMeasured, 'acknowledgements');
      assert.match(r.observerNote ?? '', /did not let the observer subscribe/);

      const required = await runCli(['--gateway', mute.url, '--rate', '1', '--qos', '0', '--duration', '0.3', '--retry-ms', '100', '--retries', '1', '--quiet', '--observe']);
      assert.equal(required.code, 1, 'an observer asked for and refused fails the run');
      assert.match(required.stderr, /--observe: delivery could not be observed/);
    } finally {
      await mute.close();
    }
  });

  it('observes delivery by default and says so; without an observer a perfect run loses nothing', async () => {
    const observed = await runCli(['--gateway', gw.url, '--nodes', '2', '--rate', '10', '--qos', '1', '--duration', '1', '--quiet', '--ramp', '0', '--expect-no-loss']);
    assert.equal(observed.code, 0, observed.stderr);
    assert.match(observed.stdout, /\n {2}lost {11}0\n {4}measured {5}end to end: .* under sim\/\)\n/);
    assert.match(observed.stdout, /end to end {5}expected (\d+) {3}delivered \1 {3}lost 0/);

    // Every publish acknowledged and nobody watching: nothing is known lost, and --expect-no-loss passes.
    const blind = await runCli(['--gateway', gw.url, '--nodes', '2', '--rate', '10', '--qos', '1', '--duration', '1', '--quiet', '--ramp', '0', '--no-observe', '--expect-no-loss', '--json']);
    assert.equal(blind.code, 0, blind.stderr);
    const r = JSON.parse(blind.stdout) as SimReport;
    assert.ok(r.acknowledged > 0 && r.acknowledged === r.sent, JSON.stringify(r));
    assert.equal(r.lost, 0);
    assert.equal(r.received, 0);
    assert.equal(r.endToEnd, undefined);
    assert.deepEqual([r.lossMeasured, r.observerNote], ['acknowledgements', '--no-observe']);
  });

  it('rejects bad options with a clear message and exit code 2', async () => {
    const spawned = await runCli(['--gateway', 'udp://127.0.0.1:1884', '--qos', '3']);
    assert.equal(spawned.code, 2);
    assert.match(spawned.stderr, /--qos "3": expected -1, 0, 1 or 2\nRun with --help/);
    for (const [args, msg] of [
      [['--nodes', '2'], /say where the gateway is/],
      [['--gateway', 'udp://a:1', '--serial', '/dev/x'], /exclude each other/],
      [['--gateway', 'tcp://x:1'], /only udp:\/\//],
      [['--gateway', 'udp://127.0.0.1'], /needs a host and a port/],
      [['--gateway', 'udp://127.0.0.1:1884', '--profile', 'toaster'], /--profile "toaster": expected one of/],
      [['--gateway', 'udp://127.0.0.1:1884', '--bogus'], /Unknown option '--bogus'/],
      [['--gateway', 'udp://127.0.0.1:1884', '--rate', 'fast'], /--rate "fast": expected/],
      [['--gateway', 'udp://127.0.0.1:1884', '--framing', 'slip'], /--framing applies to --serial only/],
      [['--serial', '/dev/null', '--nodes', '3'], /SLIP carries one node per line/],
      [['--serial', '/dev/null', '--framing', 'xmodem'], /--framing "xmodem": expected one of slip, xbee-api1, xbee-api2/],
    ] as const) {
      let err = '';
      const code = await main([...args], { stdout: { write: () => true }, stderr: { write: (t: string) => (err += t) } });
      assert.equal(code, 2, `${args.join(' ')}: ${err}`);
      assert.match(err, msg);
      assert.match(err, /Run with --help/);
    }
  });

  it('--help explains every option it accepts', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    assert.equal(stdout, HELP);
    const opts = ['gateway', 'search', 'serial', 'framing', 'baud', 'xbee-role', 'forwarder', 'nodes', 'profile', 'rate', 'qos', 'duration', 'count', 'keep-alive', 'persistent-session', 'will', 'sleep', 'predefined-id', 'protocol', 'username', 'password', 'session-expiry', 'client-prefix', 'topic-prefix', 'observe', 'no-observe', 'retry-ms', 'retries', 'ramp', 'drain', 'seed', 'json', 'quiet', 'expect-no-loss', 'help'];
    for (const o of opts) assert.ok(HELP.includes(`--${o}`), `--${o} missing from --help`);
  });

  it('parses serial options', () => {
    const cfg = parseCli(['--serial', '/dev/ttyUSB0', '--framing', 'xbee-api2', '--baud', '9600', '--nodes', '5']);
    assert.ok(cfg);
    assert.deepEqual(cfg.fleet.target, { kind: 'serial', path: '/dev/ttyUSB0', framing: 'xbee-api2', baudRate: 9600, xbeeRole: 'module', forwarder: false });
    assert.equal(cfg.fleet.nodes, 5);
  });
});
