/**
 * The upstream section's secrets, resolved by the config layer: the bridge gets values (passwords,
 * PEM bytes, the Azure device key), and every variable or file that is missing is one ConfigError
 * naming its field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigIssueCode as C, parseConfig, resolveUpstreamSecrets } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';

const base = { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] } };

describe('config: upstream secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-secrets-'));
    for (const name of ['ca.pem', 'gw.pem', 'gw.key', 'dev.pem', 'dev.key']) await writeFile(join(dir, name), `PEM ${name}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const transparent = {
    url: 'mqtts://broker.example:8883',
    mode: 'transparent',
    clientId: 'gw',
    username: 'gw',
    passwordEnv: 'GW_PW',
    tls: { ca: 'ca.pem', cert: 'gw.pem', key: 'gw.key', passphraseEnv: 'KEY_PW' },
    clients: [
      { clientId: 'dev-*', username: '%c', passwordEnv: 'DEV_PW', cert: 'dev.pem', key: 'dev.key' },
      { clientId: 'other', username: 'o', password: 'inline' },
    ],
  };

  it('reads every variable and file the section names, relative to the config file', async () => {
    const u = parseConfig({ ...base, upstream: transparent }, 'x', dir).upstream!;
    const s = await resolveUpstreamSecrets(u, { GW_PW: 'gw-secret', KEY_PW: 'kp', DEV_PW: 'dev-secret' });
    assert.equal(s.password, 'gw-secret');
    assert.equal(s.tls?.passphrase, 'kp');
    assert.deepEqual([s.tls?.ca, s.tls?.cert, s.tls?.key].map((b) => b?.toString()), ['PEM ca.pem\n', 'PEM gw.pem\n', 'PEM gw.key\n']);
    assert.equal(s.azureDeviceKey, undefined);
    const [dev, other] = s.clients;
    assert.ok(dev !== undefined && other !== undefined);
    assert.ok(dev.match.test('dev-17') && !dev.match.test('xdev-1'), 'clientId is a glob');
    assert.deepEqual([dev.username, dev.password, dev.cert?.toString(), dev.key?.toString()], ['%c', 'dev-secret', 'PEM dev.pem\n', 'PEM dev.key\n']);
    assert.deepEqual([other.password, other.cert, other.key], ['inline', undefined, undefined]);
  });

  it('names every unset variable and every file gone since the config was loaded, in one error', async () => {
    const u = parseConfig({ ...base, upstream: transparent }, 'x', dir).upstream!;
    await rm(join(dir, 'dev.key'));
    try {
      await assert.rejects(resolveUpstreamSecrets(u, { KEY_PW: 'kp' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map((i) => [i.path, i.code]), [
          ['upstream.passwordEnv', C.MISSING],
          ['upstream.clients[0].key', C.FILE_UNREADABLE],
          ['upstream.clients[0].passwordEnv', C.MISSING],
        ]);
        assert.match(err.message, /GW_PW is not set/);
        assert.match(err.message, /DEV_PW is not set/);
        return true;
      });
    } finally {
      await writeFile(join(dir, 'dev.key'), 'PEM dev.key\n');
    }
  });

  it("makes createGateway fail on a device's unset variable in transparent mode, leaving nothing running", async () => {
    const upstream = { url: 'mqtt://127.0.0.1:1883', mode: 'transparent', clientId: 'gw', clients: [{ clientId: 'dev-a', username: 'a', passwordEnv: 'MQTTSN_TEST_UNSET_DEVICE_PW' }] };
    const config = parseConfig({ ...base, upstream });
    await assert.rejects(createGateway(config, { env: {} }), (err: unknown) => err instanceof ConfigError && /upstream\.clients\[0\]\.passwordEnv/.test(err.message));
  });
});
