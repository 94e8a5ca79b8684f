/** The CLI's options and their exit codes: help, version, bad arguments, --check-config. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, root, tempDir, writeConfig } from './cli-process.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

describe('cli: options', () => {
  it('--help prints the usage with every option and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const option of ['--config', '--check-config', '--list-serial-ports', '--print-systemd-unit', '--log-level', '--help', '--version']) {
      assert.ok(r.stdout.includes(option), `usage mentions ${option}`);
    }
    assert.match(r.stdout, /Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or arguments/);
  });

  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['-v']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  for (const [label, args, words] of [
    ['an unknown option', ['--confg', 'x.json'], "Unknown option '--confg'"],
    ['a stray argument', ['gateway.config.json'], 'gateway.config.json'],
    ['an option without its value', ['--config'], '--config <value>'],
    ['an unknown log level', ['--log-level', 'loud'], '--log-level "loud" is not one of trace, debug, info'],
    ['two actions at once', ['--check-config', '--list-serial-ports'], 'choose one of --check-config, --list-serial-ports'],
  ] as const) {
    it(`${label}: exit 2 with the reason on stderr`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(words), r.stderr);
      assert.match(r.stderr, /Try "mqttsn-gateway --help"/);
      assert.equal(r.stdout, '');
    });
  }
});

describe('cli: --check-config', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('prints the effective config with defaults filled in and exits 0', async () => {
    const file = await writeConfig(dir, 'ok.json', {
      $schema: './dist/gateway.config.schema.json',
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      http: { enabled: true },
    });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    assert.deepEqual(printed.http, { enabled: true, host: '127.0.0.1', port: 9464 });
    assert.deepEqual(printed.shutdown, { graceMs: 5000 });
    assert.equal(printed.timers?.retryMs, 10_000);
    assert.equal('$schema' in printed, false, 'the editor hint is not part of the effective config');
    assert.ok(r.stderr.includes(`configuration ${file} is valid`));
  });

  it('masks secrets', async () => {
    const file = await writeConfig(dir, 'secret.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      upstream: { url: 'mqtt://127.0.0.1:1883', clientId: 'gw', username: 'gw', password: 'hunter2-secret', topics: [{ pattern: '#' }] },
    });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.includes('hunter2-secret'), false, 'the password is not printed');
    assert.match(r.stdout, /"password": "\*\*\*"/);
  });

  it('warns about a serial device that is not there, and still exits 0 (it may be plugged in later)', async () => {
    const file = await writeConfig(dir, 'serial.json', { transports: [{ type: 'serial', path: join(dir, 'ttyNOPE') }] });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: serial device .*ttyNOPE not found: plug the radio in, or find its path with "mqttsn-gateway --list-serial-ports"/);
  });

  it('a bad config: exit 2, nothing on stdout', async () => {
    const file = await writeConfig(dir, 'bad.json', { transports: [] });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /: transports: got an empty array, expected at least 1 item/);
  });
});
