/**
 * Secrets around the CLI, the way an operator meets them: `--check-config` prints the effective
 * config with every inline secret masked (the section's password and each device's in
 * transparent mode), and both `--check-config` and a start warn, naming the field and the fix,
 * about a private key or password file every user can read, an upstream certificate that is not
 * checked, and a password sent in clear over mqtt://. Safe settings draw no warning.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword } from '../../src/broker/passwords.js';
import { freeUdpPort } from '../helpers/ports.js';
import { GatewayChild, runCli, tempDir, writeConfig } from './cli-process.js';

const SECRETS = ['section-secret-1', 'device-secret-2'];

async function privateFile(dir: string, name: string, text: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode); // explicit: the test runner's umask decides nothing
  return path;
}

/** A config with a TLS client key and a listener password file; `tls` adds to the TLS settings. */
function keyAndPasswordsConfig(dir: string, name: string, files: { key: string; cert: string; passwords: string }, tls: Record<string, unknown> = {}): Promise<string> {
  return writeConfig(dir, name, {
    transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
    broker: { listen: [], auth: { passwordFile: files.passwords } },
    upstream: { url: 'mqtts://127.0.0.1:1', tls: { cert: files.cert, key: files.key, ...tls } },
  });
}

/** stderr's warning lines, each reduced to its field. */
function warnedFields(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('warning: '))
    .map((l) => l.slice('warning: '.length).split(':')[0]!);
}

describe('cli: secrets in the config and beside it', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let passwordLine: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    passwordLine = `alice:${await hashPassword('pw')}\n`;
  });
  after(() => cleanup());

  it('--check-config masks every inline secret, the per-device passwords of transparent mode too', async () => {
    const file = await writeConfig(dir, 'transparent.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      upstream: {
        url: 'mqtts://127.0.0.1:1',
        mode: 'transparent',
        username: 'site',
        password: SECRETS[0],
        clients: [{ clientId: 'sensor-*', username: '%c', password: SECRETS[1] }],
      },
    });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    for (const s of SECRETS) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `${s} is not shown`);
    const shown = JSON.parse(r.stdout) as { upstream: { password: string; clients: Array<{ password: string; username: string }> } };
    assert.equal(shown.upstream.password, '***');
    assert.equal(shown.upstream.clients[0]!.password, '***');
    assert.equal(shown.upstream.clients[0]!.username, '%c', 'what is no secret stays readable');
    assert.deepEqual(warnedFields(r.stderr), [], 'mqtts:// with verified certificates: nothing to warn about');
  });

  it('--check-config warns about world-readable key and password files, an unchecked certificate and a password over mqtt://', async () => {
    const key = await privateFile(dir, 'open-key.pem', '-----BEGIN PRIVATE KEY-----\n', 0o644);
    const cert = await privateFile(dir, 'cert.pem', '-----BEGIN CERTIFICATE-----\n', 0o644);
    const passwords = await privateFile(dir, 'open-passwords', passwordLine, 0o604);
    const tlsFile = await keyAndPasswordsConfig(dir, 'tls.json', { key, cert, passwords }, { rejectUnauthorized: false });
    const r = await runCli(['--config', tlsFile, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(warnedFields(r.stderr).sort(), ['broker.auth.passwordFile', 'upstream.tls.key', 'upstream.tls.rejectUnauthorized']);
    assert.match(r.stderr, new RegExp(`warning: upstream\\.tls\\.key: ${key} is readable by every user of this machine \\(mode 0644\\); restrict it: chmod 600`));

    const clearFile = await writeConfig(dir, 'clear.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      upstream: { url: 'mqtt://127.0.0.1:1', mode: 'transparent', username: 'site', passwordEnv: 'MQTTSN_TEST_PW', clients: [{ clientId: 'a', username: 'a', password: 'x' }] },
    });
    const clear = await runCli(['--config', clearFile, '--check-config'], { env: { ...process.env, MQTTSN_TEST_PW: 'pw' } });
    assert.equal(clear.code, 0, clear.stderr);
    assert.deepEqual(warnedFields(clear.stderr), ['upstream.password', 'upstream.clients[0].password']);
    assert.match(clear.stderr, /is sent in clear over "mqtt:\/\/127\.0\.0\.1:1".*use an mqtts:\/\/ url/);
  });

  it('says nothing about files only their owner can read', async () => {
    const key = await privateFile(dir, 'key.pem', '-----BEGIN PRIVATE KEY-----\n', 0o600);
    const cert = await privateFile(dir, 'cert2.pem', '-----BEGIN CERTIFICATE-----\n', 0o644);
    const passwords = await privateFile(dir, 'passwords', passwordLine, 0o640);
    const file = await keyAndPasswordsConfig(dir, 'private.json', { key, cert, passwords });
    const r = await runCli(['--config', file, '--check-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(warnedFields(r.stderr), []);
  });

  it('warns at start too, in the log, naming the field', async () => {
    const passwords = await privateFile(dir, 'start-passwords', passwordLine, 0o644);
    const file = await writeConfig(dir, 'start.json', {
      transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }],
      broker: { listen: [], auth: { passwordFile: passwords } },
      // Port 1 on the loopback: nothing answers; the bridge retries in the background.
      upstream: { url: 'mqtt://127.0.0.1:1', username: 'site', password: SECRETS[0] },
    });
    const g = await GatewayChild.start(file);
    try {
      const warned = g.records().filter((r) => r.level === 40 && r.part === 'config').map((r) => r.field);
      assert.deepEqual(warned.sort(), ['broker.auth.passwordFile', 'upstream.password']);
      assert.ok(!g.lines.join('\n').includes(SECRETS[0]!), 'the password itself is never logged');
    } finally {
      await g.close();
    }
  });
});
