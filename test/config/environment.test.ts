/**
 * Secrets named by environment variable: with an environment given (the CLI gives process.env)
 * every `*Env` field whose variable is not set is one issue naming the field and the variable,
 * found when the config is loaded, before anything starts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigIssueCode as C, configJsonSchema, parseConfig, type ConfigIssue } from '../../src/config/index.js';

const transports = [{ type: 'udp', host: '127.0.0.1', port: 0 }];

function issuesOf(config: unknown, env: Record<string, string>, baseDir?: string): ConfigIssue[] {
  try {
    parseConfig(config, 'test.json', baseDir, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
  return [];
}

/** Every property name ending in "Env" anywhere in the JSON Schema: the fields this check must cover. */
function envFieldsOfSchema(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) envFieldsOfSchema(n, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && typeof value === 'object' && value !== null) {
        for (const name of Object.keys(value as object)) if (name.endsWith('Env')) out.add(name);
      }
      envFieldsOfSchema(value, out);
    }
  }
  return out;
}

describe('config: environment variables named by *Env fields', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-env-'));
    for (const f of ['gw.pem', 'gw.key']) await writeFile(join(dir, f), `-----BEGIN ${f}-----\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cases: Array<{ field: string; path: string; variable: string; upstream?: Record<string, unknown>; http?: Record<string, unknown> }> = [
    {
      field: 'passwordEnv',
      path: 'upstream.passwordEnv',
      variable: 'MQTTSN_TEST_PASSWORD',
      upstream: { url: 'mqtt://127.0.0.1:1883', username: 'gw', passwordEnv: 'MQTTSN_TEST_PASSWORD' },
    },
    {
      field: 'passphraseEnv',
      path: 'upstream.tls.passphraseEnv',
      variable: 'MQTTSN_TEST_PASSPHRASE',
      upstream: { url: 'mqtts://broker.example', tls: { cert: 'gw.pem', key: 'gw.key', passphraseEnv: 'MQTTSN_TEST_PASSPHRASE' } },
    },
    {
      field: 'deviceKeyEnv',
      path: 'upstream.azure.deviceKeyEnv',
      variable: 'MQTTSN_TEST_DEVICE_KEY',
      upstream: { profile: 'azure-iot-hub', url: 'mqtts://hub.azure-devices.net', clientId: 'dev1', azure: { deviceKeyEnv: 'MQTTSN_TEST_DEVICE_KEY' } },
    },
    {
      field: 'passwordEnv',
      path: 'upstream.clients[1].passwordEnv',
      variable: 'MQTTSN_TEST_BOILER',
      upstream: {
        url: 'mqtt://127.0.0.1:1883',
        mode: 'transparent',
        clients: [{ clientId: 'door-*' }, { clientId: 'boiler-*', username: '%c', passwordEnv: 'MQTTSN_TEST_BOILER' }],
      },
    },
    // The dashboard's admin token (an empty one is refused when the gateway starts: dashboard.test.ts).
    { field: 'adminTokenEnv', path: 'http.adminTokenEnv', variable: 'MQTTSN_TEST_ADMIN', http: { port: 0, adminTokenEnv: 'MQTTSN_TEST_ADMIN' } },
  ];

  for (const c of cases) {
    it(`${c.path}: unset is one issue naming the field and the variable; set is fine`, () => {
      const config = { transports, ...(c.upstream === undefined ? {} : { upstream: c.upstream }), ...(c.http === undefined ? {} : { http: c.http }) };
      const issues = issuesOf(config, {}, dir);
      assert.deepEqual(issues.map((i) => [i.path, i.code]), [[c.path, C.MISSING]]);
      assert.match(issues[0]!.message, new RegExp(`environment variable ${c.variable} is not set`));
      assert.deepEqual(issuesOf(config, { [c.variable]: 'c2VjcmV0' }, dir), []);
      // Set but empty is set: an empty password is the user's choice.
      assert.deepEqual(issuesOf(config, { [c.variable]: '' }, dir), []);
    });
  }

  it('covers every *Env field the schema has', () => {
    assert.deepEqual([...envFieldsOfSchema(configJsonSchema())].sort(), [...new Set(cases.map((c) => c.field))].sort());
  });

  it('reports unset variables together with the other mistakes, and looks up nothing under an unknown key', () => {
    const issues = issuesOf(
      { transports, gatewayId: 999, upstream: { url: 'mqtt://127.0.0.1:1883', username: 'gw', passwordEnv: 'MQTTSN_TEST_UNSET', secretEnv: 'MQTTSN_TEST_OTHER' } },
      {},
    );
    assert.deepEqual(issues.map((i) => [i.path, i.code]), [
      ['gatewayId', C.OUT_OF_RANGE],
      ['upstream.secretEnv', C.UNKNOWN_KEY],
      ['upstream.passwordEnv', C.MISSING],
    ]);
  });

  it('does not look anything up without an environment (a config parsed in code; the bridge checks at start)', () => {
    const u = parseConfig({ transports, upstream: { url: 'mqtt://127.0.0.1:1883', username: 'gw', passwordEnv: 'MQTTSN_TEST_UNSET' } }).upstream;
    assert.equal(u?.passwordEnv, 'MQTTSN_TEST_UNSET');
  });

  it('does not echo what was put in a *Env field that is no variable name (it is often the secret itself)', () => {
    const secret = 'c2VjcmV0+a2V5/==';
    const issues = issuesOf({ transports, upstream: { url: 'mqtt://127.0.0.1:1883', username: 'gw', passwordEnv: secret } }, {});
    assert.deepEqual(issues.map((i) => [i.path, i.code]), [['upstream.passwordEnv', C.INVALID_VALUE]]);
    assert.ok(!issues[0]!.message.includes(secret), issues[0]!.message);
    assert.match(issues[0]!.message, /not an environment variable name/);
  });
});
