/**
 * Issue #19: `npm start`, the systemd unit and the package's `bin` run the CLI bundled by
 * `npm run build` (dist/gateway, src/build/bundle-cli.ts): a handful of files instead of ~230
 * modules, which kept V8's optimizing compiler out of start-up. The bundle must be the same
 * gateway: it starts on the shipped config and answers a CONNECT, validates its config in the
 * child process, serves the dashboard, and still loads the optional packages only when the config
 * uses them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decode, DecodeError, encode } from '../../src/codec/index.js';
import { GATEWAY_NODE_ENV, GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { freeTcpPort } from '../helpers/ports.js';
import { scaled } from '../helpers/time-scale.js';
import { GatewayChild, root, runCli, shippedConfigOnFreePorts, tempDir, writeConfig } from './cli-process.js';

const run = promisify(execFile);
const moduleLog = fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url));
const BUNDLE = 'dist/gateway/cli.js';
/** node's arguments as `npm start` has them */
const STARTED = [...GATEWAY_NODE_FLAGS, join(root, BUNDLE)];

/** The modules process `pid` imported (module-log.mjs), as file paths. */
async function modulesOf(log: string, pid: number): Promise<string[]> {
  const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith(`${pid} file://`));
  return lines.map((l) => fileURLToPath(l.slice(l.indexOf(' ') + 1)));
}

/** The packages whose code those files hold: esbuild heads each bundled file with its path. */
async function packagesIn(files: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const file of files) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m !== null) found.add(m[1]!);
    else for (const c of (await readFile(file, 'utf8')).matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) found.add(c[1]!);
  }
  return found;
}

/** CONNECT over UDP (MQTT-SN 1.2 §5.4.4) and the CONNACK's return code. */
async function connack(port: number): Promise<number> {
  const s = createSocket('udp4');
  try {
    s.send(encode({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'bundle-test' }), port, '127.0.0.1');
    const timer = setTimeout(() => s.emit('error', new Error('no CONNACK')), scaled(10_000));
    const [msg] = (await once(s, 'message')) as [Buffer];
    clearTimeout(timer);
    const p = decode(msg);
    if (p instanceof DecodeError || p.type !== 'CONNACK') throw new Error(`not a CONNACK: ${msg.toString('hex')}`);
    return p.returnCode;
  } finally {
    s.close();
  }
}

describe('cli: the bundled CLI (dist/gateway) that npm start runs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await run('npm', ['run', 'build'], { cwd: root, timeout: 300_000 });
  });
  after(() => cleanup());

  it('is what npm start, the package bin and the printed systemd unit run', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: { start: string } };
    assert.equal(pkg.bin['mqttsn-gateway'], BUNDLE);
    assert.ok(pkg.scripts.start.split(' ').includes(BUNDLE), pkg.scripts.start);
    const config = await writeConfig(dir, 'unit.json', await shippedConfigOnFreePorts());
    const r = await runCli(['--config', config, '--print-systemd-unit'], { cli: STARTED });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ExecStart=\\S+ ${GATEWAY_NODE_FLAGS.join(' ')} ${join(root, BUNDLE)} --config ${config}$`, 'm'));
  });

  it('starts on the shipped config as npm start runs it, answers a CONNECT, and loads only the bundle (no zod, no optional package)', async () => {
    const config = await shippedConfigOnFreePorts();
    const file = await writeConfig(dir, 'gateway.config.json', config);
    const log = join(dir, 'modules.log');
    const env = { ...process.env, ...GATEWAY_NODE_ENV, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${moduleLog}`, MQTTSN_MODULE_LOG: log };
    const gw = await GatewayChild.start(file, { cli: STARTED, env });
    try {
      assert.equal(await connack((config.transports as Array<{ port: number }>)[0]!.port), 0);
    } finally {
      gw.signal('SIGINT');
      assert.equal(await gw.exitCode(), 0, gw.stderr);
    }
    const files = await modulesOf(log, gw.proc.pid!);
    assert.ok(files.includes(join(root, BUNDLE)), 'the module log saw the bundle start');
    // Our code and the pure-JS packages come from the bundle; only the native addon is loaded apart.
    const apart = files.filter((f) => !f.startsWith(join(root, 'dist/gateway/')) && !f.includes('/node_modules/better-sqlite3/'));
    assert.deepEqual(apart, []);
    const packages = await packagesIn(files);
    assert.ok(packages.has('pino') && packages.has('aedes'), `the bundle holds the packages the gateway runs on: ${[...packages].join(', ')}`);
    // zod stays in the config check's child process; the rest in chunks the config did not need.
    for (const lazy of ['zod', 'mqtt', 'prom-client', 'pino-pretty', 'serialport']) assert.ok(!packages.has(lazy), `${lazy} was loaded`);
  });

  it('loads MQTT.js for an upstream and prom-client for HTTP, and serves the dashboard', async () => {
    const httpPort = await freeTcpPort();
    const file = await writeConfig(dir, 'upstream.json', {
      ...(await shippedConfigOnFreePorts()),
      // Nothing listens there: the bridge keeps retrying in the background, which is all this needs.
      upstream: { url: `mqtt://127.0.0.1:${await freeTcpPort()}` },
      http: { enabled: true, host: '127.0.0.1', port: httpPort },
    });
    const log = join(dir, 'modules-upstream.log');
    const env = { ...process.env, ...GATEWAY_NODE_ENV, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${moduleLog}`, MQTTSN_MODULE_LOG: log };
    const gw = await GatewayChild.start(file, { cli: STARTED, env });
    try {
      const page = await fetch(`http://127.0.0.1:${httpPort}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /MQTT-SN gateway/);
    } finally {
      gw.signal('SIGINT');
      assert.equal(await gw.exitCode(), 0, gw.stderr);
    }
    const packages = await packagesIn(await modulesOf(log, gw.proc.pid!));
    assert.ok(packages.has('mqtt'), 'MQTT.js');
    assert.ok(packages.has('prom-client'), 'prom-client');
  });
});
