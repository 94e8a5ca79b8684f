/**
 * Issue #19: the shipped config (UDP, local listener, SQLite store, no upstream, no HTTP) must not
 * load MQTT.js, serialport, prom-client or pino-pretty: together they are most of the resident
 * memory a gateway at rest had over what it needs. A config that uses them loads them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function loadedBy(config: Record<string, unknown>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mqttsn-lazy-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/integration/loaded-packages-child.ts'), JSON.stringify(config), dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, err);
    return JSON.parse(out.trim()) as string[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function shippedConfig(): Promise<Record<string, unknown>> {
  const shipped = JSON.parse(await readFile(join(root, 'gateway.config.json'), 'utf8')) as Record<string, unknown>;
  delete shipped.$schema;
  // The shipped config, on free ports.
  return { ...shipped, transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }], broker: { listen: [{ host: '127.0.0.1', port: await freeTcpPort() }] } };
}

describe('gateway: packages loaded only when the config uses them', () => {
  it('the shipped config loads none of MQTT.js, serialport, prom-client and pino-pretty', async () => {
    assert.deepEqual(await loadedBy(await shippedConfig()), []);
  });

  it('an upstream loads MQTT.js, and HTTP loads prom-client', async () => {
    const config = {
      ...(await shippedConfig()),
      // Nothing listens there: the bridge keeps retrying in the background, which is all this needs.
      upstream: { url: `mqtt://127.0.0.1:${await freeTcpPort()}` },
      http: { enabled: true, host: '127.0.0.1', port: await freeTcpPort() },
    };
    assert.deepEqual(await loadedBy(config), ['mqtt', 'prom-client']);
  });
});
