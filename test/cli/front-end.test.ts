/** `mqttsn-gateway front-end --config FILE` as a user runs it: a bad file names the field, a good one serves and stops on SIGTERM. */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decapsulate } from '../../src/transport/forwarder.js';
import { deviceNodeId } from '../../src/transport/front-end-address.js';
import { freeUdpPort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { runCli, spawnCli, tempDir, writeConfig } from './cli-process.js';

describe('mqttsn-gateway front-end', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('refuses a bad file with exit code 2, naming each bad field', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const path = await writeConfig(dir, 'fe.json', { host: '127.0.0.1', instances: [{ host: 'gw1.lan', port: 1884 }, { host: '::1', port: 1884 }], health: { intervalMs: 1 } });
    const r = await runCli(['front-end', '--config', path]);
    assert.equal(r.code, 2);
    for (const field of ['instances[0].host', 'instances[1].host', 'health.intervalMs']) assert.match(r.stderr, new RegExp(field.replace(/[[\].]/g, '\\$&')), r.stderr);
    assert.equal((await runCli(['front-end'])).code, 2, 'no --config');
  });

  it('forwards a device datagram wrapped to its instance, and stops on SIGTERM with exit code 0', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const instance = dgram.createSocket('udp4');
    instance.bind(0, '127.0.0.1');
    await once(instance, 'listening');
    cleanups.push(() => new Promise((r) => instance.close(() => r())));
    const port = await freeUdpPort();
    const path = await writeConfig(dir, 'fe.json', { host: '127.0.0.1', port, instances: [{ host: '127.0.0.1', port: instance.address().port }] });
    const child = spawnCli(['front-end', '--config', path, '--log-level', 'warn']);
    const exited = once(child, 'exit');
    const got: Buffer[] = [];
    instance.on('message', (m) => got.push(m));
    const device = dgram.createSocket('udp4');
    device.bind(0, '127.0.0.1');
    await once(device, 'listening');
    cleanups.push(() => new Promise((r) => device.close(() => r())));
    // Sent until the front end has started (under tsx that takes a few seconds) and passed one on.
    await until(
      () => {
        device.send(Buffer.from('0216', 'hex'), port, '127.0.0.1');
        return got.some((m) => decapsulate(m)?.message.toString('hex') === '0216');
      },
      60_000,
      'a PINGREQ through the front end',
      200,
    );
    const wrapped = got.map(decapsulate).find((p) => p != null);
    assert.deepEqual(wrapped?.nodeId, deviceNodeId('127.0.0.1', device.address().port));
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
  });
});
