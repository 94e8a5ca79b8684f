/**
 * What a Raspberry Pi install uses: --list-serial-ports and --print-systemd-unit, the latter
 * checked by systemd itself where `systemd-analyze` exists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { GATEWAY_NODE_ENV, GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { CONFIG_SCHEMA_PATH } from '../../src/config/index.js';
import { join } from 'node:path';
import { GatewayChild, runCli, root, tempDir, writeConfig } from './cli-process.js';

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

describe('cli: --list-serial-ports', () => {
  it('lists what the machine has (or says there is nothing) and exits 0', async () => {
    const r = await runCli(['--list-serial-ports']);
    assert.equal(r.code, 0, r.stderr);
    // Either ports, each with the config line to paste, or the plain "none" answer.
    assert.match(r.stdout, /config: \{ "type": "serial", "path": "\/dev\/|No serial ports found\./);
  });
});

describe('cli: --print-systemd-unit', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let unit: string;
  let config: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    config = await writeConfig(dir, 'gateway.config.json', { transports: [{ type: 'udp', port: 0 }], shutdown: { graceMs: 20_000 } });
    const r = await runCli(['--config', config, '--print-systemd-unit']);
    assert.equal(r.code, 0, r.stderr);
    unit = r.stdout;
  });
  after(() => cleanup());

  it('fills in the paths of this install', () => {
    assert.ok(unit.includes(`WorkingDirectory=${root.replace(/\/$/, '')}\n`), unit);
    assert.match(unit, /^ExecStart=\S+node\S* /m);
    assert.ok(unit.includes(`${join(root, 'src', 'cli.ts')} --config ${config}\n`), 'runs this CLI on this config');
    assert.ok(unit.includes('--import tsx'), 'run from source, the unit loads tsx too');
  });

  it('starts node with the gateway\'s V8 flags, as npm start does (issue #19: memory at rest)', () => {
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    assert.ok(GATEWAY_NODE_FLAGS.length > 0);
    for (const flag of GATEWAY_NODE_FLAGS) {
      assert.ok(exec.split(' ').includes(flag), `ExecStart has ${flag}: ${exec}`);
      assert.ok(start.split(' ').includes(flag), `npm start has ${flag}: ${start}`);
    }
  });

  it('starts node with the gateway\'s environment (MALLOC_ARENA_MAX), as npm start does (issue #19)', () => {
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    // glibc reads it before node runs: only the command that starts the process can set it.
    const node = start.split(' ').indexOf('node');
    assert.ok(Object.keys(GATEWAY_NODE_ENV).length > 0);
    for (const [name, value] of Object.entries(GATEWAY_NODE_ENV)) {
      // A value the caller's environment has wins in the unit (the unit is printed from it).
      assert.match(unit, new RegExp(`^Environment=${name}=${process.env[name] ?? value}$`, 'm'));
      assert.ok(start.split(' ').slice(0, node).includes(`${name}=${value}`), `npm start sets ${name}=${value} before node: ${start}`);
    }
  });

  it('stops gracefully within the configured grace period, reloads on SIGHUP, and does not restart on a bad config', () => {
    assert.match(unit, /^KillSignal=SIGTERM$/m);
    assert.match(unit, /^TimeoutStopSec=30$/m, '20 s grace + 10 s to close');
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^RestartPreventExitStatus=2$/m);
    assert.match(unit, /^SupplementaryGroups=dialout$/m);
    assert.match(unit, /^User=\S+$/m);
  });

  it('keeps the SQLite store it creates private to the service user (UMask)', async () => {
    const umask = /^UMask=(0[0-7]{3})$/m.exec(unit)?.[1];
    assert.equal(umask, '0077', 'the unit sets a umask that leaves group and others out');
    // The gateway started as the unit starts it, under that umask: the store file it creates
    // must not be opened up again (by a chmod of its own or SQLite's defaults).
    const storePath = join(dir, 'private.db');
    const file = await writeConfig(dir, 'store.config.json', { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], store: { type: 'sqlite', path: storePath } });
    const before = process.umask(parseInt(umask, 8));
    let gw: GatewayChild;
    try {
      gw = GatewayChild.spawn(file);
    } finally {
      process.umask(before);
    }
    try {
      await gw.waitFor((l) => l.includes('"gateway running"'), 15_000);
      assert.equal(statSync(storePath).mode & 0o777, 0o600, 'the store is readable by its owner only');
    } finally {
      await gw.close();
    }
  });

  it('has the sections in order', () => {
    const sections = unit.split('\n').filter((l) => /^\[.*\]$/.test(l));
    assert.deepEqual(sections, ['[Unit]', '[Service]', '[Install]']);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
  });

  it('passes systemd-analyze verify (where systemd is installed)', () => {
    if (!hasCommand('systemd-analyze')) {
      // No systemd on this machine: check what verify would check first, every line a key=value
      // of a known section, and ExecStart an absolute path that exists.
      for (const line of unit.split('\n')) {
        if (line === '' || line.startsWith('#') || /^\[(Unit|Service|Install)\]$/.test(line)) continue;
        assert.match(line, /^[A-Z][A-Za-z]+=/, `not a unit setting: ${line}`);
      }
      const exec = /^ExecStart=(\S+)/m.exec(unit)?.[1];
      assert.ok(exec !== undefined && exec.startsWith('/'), 'ExecStart is an absolute path');
      return;
    }
    const file = join(dir, 'mqttsn-gateway.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
    const about = (r.stderr + r.stdout)
      .split('\n')
      .filter((l) => l.includes('mqttsn-gateway.service'));
    assert.deepEqual(about, [], 'no complaint about the unit');
    assert.equal(r.status, 0, r.stderr);
  });

  it('quotes paths with spaces and escapes % and $ so systemd reads them literally', async () => {
    const odd = join(dir, 'my gateway 100%');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(odd, { recursive: true });
    const file = await writeConfig(odd, 'cost$.json', { transports: [{ type: 'udp', port: 0 }] });
    const r = await runCli(['--config', file, '--print-systemd-unit']);
    assert.equal(r.code, 0, r.stderr);
    const escaped = file.replace(/%/g, '%%').replace(/\$/g, '$$$$');
    assert.ok(r.stdout.includes(` --config "${escaped}"\n`), r.stdout);
  });
});

describe('package: the JSON Schema ships', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
  const defaults = JSON.parse(readFileSync(join(root, 'gateway.config.json'), 'utf8')) as { $schema?: string };

  it('is written by the build, where the default config points, and is in the package', () => {
    assert.equal(CONFIG_SCHEMA_PATH, 'dist/gateway.config.schema.json');
    assert.match(pkg.scripts.build ?? '', /^tsc -p tsconfig\.build\.json && .*writeConfigSchema\(\)/);
    assert.ok(pkg.files.includes(CONFIG_SCHEMA_PATH));
    assert.equal(defaults.$schema, `./${CONFIG_SCHEMA_PATH}`);
  });
});
