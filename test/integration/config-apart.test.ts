/**
 * Issue #19: the running gateway validates its config in a child process (config/load-apart.ts),
 * so zod and the config schema (about 5 MB resident that a process keeps once it has imported
 * them) never enter it, at start or on SIGHUP. What the child hands back is what loading in
 * process gives: the same config, or a ConfigError with the same issues and message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../../src/broker/passwords.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { loadConfigApart } from '../../src/config/load-apart.js';
import { GatewayChild, root } from '../cli/cli-process.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';

const moduleLog = fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url));

async function shippedConfig(): Promise<Record<string, unknown>> {
  const shipped = JSON.parse(await readFile(join(root, 'gateway.config.json'), 'utf8')) as Record<string, unknown>;
  delete shipped.$schema;
  // The shipped config, on free ports; its SQLite store lands next to the file.
  return { ...shipped, transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }], broker: { listen: [{ host: '127.0.0.1', port: await freeTcpPort() }] } };
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-apart-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The modules of process `pid`, from the log module-log.mjs wrote. */
async function modulesOf(log: string, pid: number): Promise<string[]> {
  const lines = (await readFile(log, 'utf8')).split('\n');
  return lines.filter((l) => l.startsWith(`${pid} `)).map((l) => l.slice(l.indexOf(' ') + 1));
}

describe('config: validated apart from the running gateway', () => {
  it('a gateway started by the CLI with the shipped config loads neither zod nor the config schema, at start or on SIGHUP', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'gateway.config.json');
      await writeFile(file, JSON.stringify(await shippedConfig()));
      const log = join(dir, 'modules.log');
      const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${moduleLog}`, MQTTSN_MODULE_LOG: log };
      const gw = await GatewayChild.start(file, { env });
      try {
        gw.signal('SIGHUP');
        await gw.waitFor((l) => l.includes('"configuration reloaded"'));
      } finally {
        gw.signal('SIGINT');
        assert.equal(await gw.exitCode(), 0, gw.stderr);
      }
      const loaded = await modulesOf(log, gw.proc.pid!);
      // The log does see this process's modules: the gateway's own and the packages it runs on.
      assert.ok(loaded.some((u) => u.endsWith('/src/create-gateway.ts')), 'the module log saw the gateway start');
      assert.ok(loaded.some((u) => u.includes('/node_modules/aedes/')));
      assert.deepEqual(loaded.filter((u) => u.includes('/node_modules/zod/') || u.endsWith('/src/config/schema.ts') || u.endsWith('/src/config/load.ts')), []);
      // The child that validated did load them (twice: at start and on SIGHUP).
      const all = (await readFile(log, 'utf8')).split('\n');
      const validators = new Set(all.filter((l) => l.endsWith('/src/config/load.ts')).map((l) => l.split(' ')[0]));
      assert.equal(validators.size, 2);
    });
  });

  it('hands back the config that loading in process gives, for the shipped config and a full one', async () => {
    await inTempDir(async (dir) => {
      await writeFile(join(dir, 'passwords'), `sensor:${await hashPassword('pw')}\n`);
      const full = {
        gatewayId: 7,
        transports: [
          { type: 'udp', host: '127.0.0.1', port: 1884, forwarder: true },
          { type: 'serial', path: '/dev/ttyUSB0', framing: 'xbee-api2' },
        ],
        broker: { listen: [{ host: '127.0.0.1', port: 1883 }], auth: { passwordFile: 'passwords' } },
        upstream: { url: 'mqtts://broker.example:8883', username: 'site', passwordEnv: 'UPSTREAM_PASSWORD', topics: [{ pattern: 'sensors/#', direction: 'out' }] },
        predefinedTopics: { '1': 'site/alarm' },
        store: { type: 'memory' },
        http: { enabled: true, port: 9100 },
        log: { level: 'warn' },
      };
      const env = { UPSTREAM_PASSWORD: 'secret' };
      for (const [name, config] of [['shipped', await shippedConfig()], ['full', full]] as const) {
        const file = join(dir, `${name}.json`);
        await writeFile(file, JSON.stringify(config));
        const apart = await loadConfigApart(file, env);
        assert.deepStrictEqual(apart, await loadConfig(file, env), name);
      }
    });
  });

  it('throws the ConfigError loading in process throws: same issues, same message', async () => {
    await inTempDir(async (dir) => {
      const cases: Record<string, string> = {
        missing: join(dir, 'absent.json'),
        syntax: '{ "transports": [ }',
        invalid: JSON.stringify({ transports: [{ type: 'udp', port: 70000 }], gatewayID: 1 }),
        unsetVariable: JSON.stringify({ transports: [{ type: 'udp', port: 1884 }], upstream: { url: 'mqtt://127.0.0.1', passwordEnv: 'NOT_SET_HERE' } }),
      };
      for (const [name, text] of Object.entries(cases)) {
        const file = name === 'missing' ? text : join(dir, `${name}.json`);
        if (name !== 'missing') await writeFile(file, text);
        const inProcess = await loadConfig(file, {}).then(() => assert.fail(`${name}: expected a ConfigError`), (err: unknown) => err);
        const apart = await loadConfigApart(file, {}).then(() => assert.fail(`${name}: expected a ConfigError`), (err: unknown) => err);
        assert.ok(inProcess instanceof ConfigError && apart instanceof ConfigError, name);
        assert.equal(apart.message, inProcess.message, name);
        assert.deepStrictEqual(apart.issues, inProcess.issues, name);
        assert.equal(apart.source, inProcess.source, name);
      }
    });
  });
});
