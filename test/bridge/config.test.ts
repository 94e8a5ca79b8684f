/**
 * The `upstream` section: defaults, every kind of mistake with its path and code, TLS files found
 * relative to the config file, secrets from the environment, masking.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mqttOptionsFromConfig } from '../../src/bridge/connect-options.js';
import { ConfigError, ConfigIssueCode as C, configJsonSchema, loadConfig, maskSecrets, parseConfig, resolveUpstreamSecrets, type ConfigIssue, type UpstreamConfig } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';

const base = { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] } };
const minimal = { url: 'mqtt://127.0.0.1:1883', clientId: 'gw-test', topics: [{ pattern: 'sensors/#' }] };
const withUpstream = (upstream: Record<string, unknown>): Record<string, unknown> => ({ ...base, upstream });

function issuesOf(input: unknown, baseDir?: string): readonly ConfigIssue[] {
  try {
    parseConfig(input, 'test.json', baseDir);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

const upstreamIssues = (upstream: Record<string, unknown>): Array<[string, string]> => issuesOf(withUpstream(upstream)).map((i) => [i.path, i.code]);

describe('config: upstream', () => {
  it('is null when absent: the gateway runs on its broker core alone', () => {
    assert.equal(parseConfig(base).upstream, null);
    assert.equal(parseConfig({ ...base, upstream: null }).upstream, null);
  });

  it('fills every default', () => {
    const u = parseConfig(withUpstream(minimal)).upstream;
    const expected: UpstreamConfig = {
      url: 'mqtt://127.0.0.1:1883',
      mode: 'aggregating',
      clientIdPrefix: '',
      clients: [],
      clientId: 'gw-test',
      topics: [{ pattern: 'sensors/#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '' }],
      maxInflight: 100,
      queue: { maxMessages: 100_000, maxBytes: 64 * 1024 * 1024 },
      keepAlive: 60,
      cleanSession: true,
      connectTimeoutMs: 30_000,
      maxPacketBytes: 1024 * 1024,
      reconnect: { initialMs: 1000, maxMs: 60_000 },
    };
    assert.deepEqual(u, expected);
  });

  it('needs only a url: the client id is mqttsn-<host name>-<gatewayId>, and every topic crosses both ways', () => {
    const u = parseConfig({ ...base, gatewayId: 7, upstream: { url: 'mqtt://127.0.0.1:1883' } }).upstream;
    assert.equal(u?.clientId, `mqttsn-${hostname()}-7`);
    assert.equal(u?.mode, 'aggregating');
    assert.deepEqual(u?.topics, [{ pattern: '#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' }]);
    // Transparent mode has no rules; a profile sends every topic out (what a service lets a client subscribe to differs).
    assert.deepEqual(parseConfig(withUpstream({ url: 'mqtt://127.0.0.1:1883', mode: 'transparent' })).upstream?.topics, []);
    const aio = { profile: 'adafruit-io', url: 'mqtts://io.adafruit.com', username: 'me', passwordEnv: 'AIO_KEY' };
    assert.deepEqual(parseConfig(withUpstream(aio)).upstream?.topics, [{ pattern: '#', direction: 'out', qos: 1, localPrefix: '', remotePrefix: '' }]);
    assert.equal(parseConfig(withUpstream(aio)).upstream?.clientId, `mqttsn-${hostname()}-1`);
  });

  it('keeps the client id required where a service takes it as an identity (aws-iot, azure-iot-hub)', () => {
    const aws = { profile: 'aws-iot', url: 'mqtts://abc-ats.iot.eu-west-1.amazonaws.com', tls: { cert: 'c.pem', key: 'k.pem' } };
    assert.deepEqual(
      issuesOf(withUpstream(aws)).filter((i) => i.path === 'upstream.clientId').map((i) => i.code),
      [C.MISSING],
    );
    const azure = { profile: 'azure-iot-hub', url: 'mqtts://hub.azure-devices.net', azure: { deviceKeyEnv: 'K' } };
    const missing = issuesOf(withUpstream(azure));
    assert.deepEqual(missing.map((i) => [i.path, i.code]), [['upstream.clientId', C.MISSING]]);
    assert.match(missing[0]!.message, /device id/);
  });

  it('rejects a URL that is not mqtt:// or mqtts://, has credentials, a path, or no host', () => {
    for (const url of ['http://broker', 'ws://broker:8080', 'broker:1883', 'mqtt://user:pw@broker', 'mqtt://broker/topic', 'mqtt://broker?x=1', 'not a url']) {
      assert.deepEqual(upstreamIssues({ ...minimal, url }), [['upstream.url', C.INVALID_VALUE]], url);
    }
    assert.match(issuesOf(withUpstream({ ...minimal, url: 'mqtt://u:p@h' }))[0]!.message, /passwordEnv/);
    assert.equal(parseConfig(withUpstream({ ...minimal, url: 'mqtts://broker.example:8883' })).upstream?.url, 'mqtts://broker.example:8883');
    assert.equal(parseConfig(withUpstream({ ...minimal, url: 'mqtt://[::1]:1883/' })).upstream?.url, 'mqtt://[::1]:1883/');
  });

  it('takes transparent mode without topic rules, and says which settings belong to which mode', () => {
    const { topics: _rules, ...noRules } = minimal;
    const t = parseConfig(withUpstream({ ...noRules, mode: 'transparent', clientIdPrefix: 'site1-', clients: [{ clientId: 'dev-*', username: '%c' }] })).upstream;
    assert.equal(t?.mode, 'transparent');
    assert.equal(t?.clientIdPrefix, 'site1-');
    const withRules = issuesOf(withUpstream({ ...minimal, mode: 'transparent' }));
    assert.deepEqual(withRules.map((i) => [i.path, i.code]), [['upstream.topics', C.INCONSISTENT]]);
    assert.match(withRules[0]!.message, /transparent mode/);
    const misplaced = issuesOf(withUpstream({ ...minimal, clientIdPrefix: 'x-', clients: [{ clientId: 'a' }] }));
    assert.deepEqual(misplaced.map((i) => [i.path, i.code]), [
      ['upstream.clientIdPrefix', C.INCONSISTENT],
      ['upstream.clients', C.INCONSISTENT],
    ]);
    const badClient = issuesOf(withUpstream({ ...noRules, mode: 'transparent', clients: [{ clientId: 'a', passwordEnv: 'X', cert: 'c.pem' }] }));
    assert.deepEqual(badClient.map((i) => [i.path, i.code]), [
      ['upstream.clients[0].username', C.INCONSISTENT],
      ['upstream.clients[0].key', C.INCONSISTENT],
      ['upstream.clients[0].cert', C.FILE_NOT_FOUND],
    ]);
  });

  it('reports missing keys and typos with their path', () => {
    assert.deepEqual(upstreamIssues({}), [['upstream.url', C.MISSING]]);
    const typo = issuesOf(withUpstream({ ...minimal, topics: [{ pattern: '#', remotePrefx: 'a/' }] }));
    assert.deepEqual(typo.map((i) => [i.path, i.code]), [['upstream.topics[0].remotePrefx', C.UNKNOWN_KEY]]);
    assert.match(typo[0]!.message, /did you mean "remotePrefix"/);
    assert.deepEqual(upstreamIssues({ ...minimal, topics: [] }), [['upstream.topics', C.MISSING]]);
  });

  it('checks every topic rule', () => {
    const rules = [
      { pattern: 'a/#/b' },
      { pattern: '#', localPrefix: 'x/+/' },
      { pattern: '#', remotePrefix: 'site#' },
      { pattern: '', localPrefix: 'only/local' },
      { pattern: '#', qos: 3 },
      { pattern: '#', direction: 'up' },
      { pattern: '', localPrefix: 'a/b', remotePrefix: 'c/d' },
    ];
    assert.deepEqual(upstreamIssues({ ...minimal, topics: rules }), [
      ['upstream.topics[0].pattern', C.INVALID_TOPIC_NAME],
      ['upstream.topics[0].pattern', C.INVALID_TOPIC_NAME],
      ['upstream.topics[1].localPrefix', C.INVALID_TOPIC_NAME],
      ['upstream.topics[2].remotePrefix', C.INVALID_TOPIC_NAME],
      ['upstream.topics[3].remotePrefix', C.INVALID_TOPIC_NAME],
      ['upstream.topics[4].qos', C.OUT_OF_RANGE],
      ['upstream.topics[5].direction', C.INVALID_VALUE],
    ]);
  });

  it('checks fields that depend on each other', () => {
    assert.deepEqual(upstreamIssues({ ...minimal, username: 'u', password: 'p', passwordEnv: 'PW' }), [['upstream.password', C.INCONSISTENT]]);
    assert.deepEqual(upstreamIssues({ ...minimal, passwordEnv: 'PW' }), [['upstream.username', C.INCONSISTENT]]);
    assert.deepEqual(upstreamIssues({ ...minimal, tls: {} }), [['upstream.tls', C.INCONSISTENT]]);
    assert.deepEqual(upstreamIssues({ ...minimal, url: 'mqtts://h', tls: { cert: 'c.pem' } }), [
      ['upstream.tls.key', C.INCONSISTENT],
      ['upstream.tls.cert', C.FILE_NOT_FOUND],
    ]);
    assert.deepEqual(upstreamIssues({ ...minimal, url: 'mqtts://h', tls: { passphraseEnv: 'X' } }), [['upstream.tls.passphraseEnv', C.INCONSISTENT]]);
    assert.deepEqual(upstreamIssues({ ...minimal, username: 'u', passwordEnv: '1BAD-NAME' }), [['upstream.passwordEnv', C.INVALID_VALUE]]);
    assert.deepEqual(upstreamIssues({ ...minimal, reconnect: { initialMs: 5000, maxMs: 1000 } }), [['upstream.reconnect.initialMs', C.INCONSISTENT]]);
    assert.deepEqual(upstreamIssues({ ...minimal, maxInflight: 0, keepAlive: 70_000 }), [
      ['upstream.maxInflight', C.OUT_OF_RANGE],
      ['upstream.keepAlive', C.OUT_OF_RANGE],
    ]);
  });

  it('masks an inline password, and only that', () => {
    const config = parseConfig(withUpstream({ ...minimal, username: 'site1', password: 's3cret' }));
    const masked = maskSecrets(config);
    assert.equal(masked.upstream?.password, '***');
    assert.equal(masked.upstream?.username, 'site1');
    assert.equal(config.upstream?.password, 's3cret', 'the original is untouched');
    assert.equal(maskSecrets(parseConfig(base)).upstream, null);
    assert.equal(maskSecrets(parseConfig(withUpstream({ ...minimal, username: 'u', passwordEnv: 'PW' }))).upstream?.passwordEnv, 'PW');
  });

  it('documents every upstream field in the JSON Schema', () => {
    const root = configJsonSchema() as { properties: Record<string, { anyOf?: unknown[]; description?: string }> };
    const upstream = root.properties.upstream!;
    assert.ok(typeof upstream.description === 'string' && upstream.description.length > 0);
    const object = (upstream.anyOf ?? []).find((s) => (s as { type?: string }).type === 'object') as Record<string, unknown> | undefined;
    assert.ok(object, 'upstream is an object or null');
    const walk = (schema: Record<string, unknown>, path: string): void => {
      for (const [key, value] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        assert.ok(typeof value.description === 'string' && value.description !== '', `${path}.${key} has no description`);
        walk(value, `${path}.${key}`);
        if (value.items !== undefined) walk(value.items as Record<string, unknown>, `${path}.${key}[]`);
      }
    };
    walk(object, 'upstream');
  });
});

describe('config: upstream TLS files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-upstream-config-'));
    await mkdir(join(dir, 'certs'));
    for (const name of ['ca.pem', 'gw.pem', 'gw.key']) await writeFile(join(dir, 'certs', name), `-----BEGIN ${name}-----\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tlsUpstream = (tls: Record<string, unknown>): Record<string, unknown> => ({ ...minimal, url: 'mqtts://broker.example:8883', tls });

  it('finds them relative to the config file, wherever the gateway is started from', async () => {
    const file = join(dir, 'gateway.config.json');
    await writeFile(file, JSON.stringify(withUpstream(tlsUpstream({ ca: 'certs/ca.pem', cert: './certs/gw.pem', key: join(dir, 'certs', 'gw.key') }))));
    const config = await loadConfig(file);
    assert.deepEqual(config.upstream?.tls, {
      ca: join(dir, 'certs', 'ca.pem'),
      cert: join(dir, 'certs', 'gw.pem'),
      key: join(dir, 'certs', 'gw.key'),
      rejectUnauthorized: true,
    });
  });

  it('reports a missing file, or a folder, on its field, with line numbers from the file', async () => {
    const file = join(dir, 'missing.json');
    await writeFile(file, JSON.stringify(withUpstream(tlsUpstream({ ca: 'certs/nope.pem', cert: 'certs', key: 'certs/gw.key' })), null, 2));
    try {
      await loadConfig(file);
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => [i.path, i.code]), [
        ['upstream.tls.ca', C.FILE_NOT_FOUND],
        ['upstream.tls.cert', C.FILE_UNREADABLE],
      ]);
      assert.ok(err.issues.every((i) => typeof i.line === 'number'));
      assert.match(err.message, /certs[/\\]nope\.pem/);
    }
  });

  it('reports file problems together with the other mistakes', () => {
    const issues = issuesOf({ ...base, gatewayId: 999, upstream: tlsUpstream({ ca: 'nope.pem' }) }, dir);
    assert.deepEqual(issues.map((i) => [i.path, i.code]), [
      ['gatewayId', C.OUT_OF_RANGE],
      ['upstream.tls.ca', C.FILE_NOT_FOUND],
    ]);
  });

  it('reads the files and the secrets from the environment when the bridge starts', async () => {
    const u = parseConfig(withUpstream({ ...tlsUpstream({ ca: 'certs/ca.pem', cert: 'certs/gw.pem', key: 'certs/gw.key', passphraseEnv: 'KEY_PASS' }), username: 'site1', passwordEnv: 'UP_PASS' }), 'x', dir).upstream!;
    const options = mqttOptionsFromConfig(u, await resolveUpstreamSecrets(u, { UP_PASS: 'pw', KEY_PASS: 'kp' }));
    assert.equal(options.password, 'pw');
    assert.equal(options.username, 'site1');
    assert.equal(options.tls?.passphrase, 'kp');
    assert.equal(options.tls?.ca?.toString(), '-----BEGIN ca.pem-----\n');
    assert.equal(options.tls?.rejectUnauthorized, true);
    try {
      await resolveUpstreamSecrets(u, {});
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.issues.map((i) => [i.path, i.code]), [
        ['upstream.passwordEnv', C.MISSING],
        ['upstream.tls.passphraseEnv', C.MISSING],
      ]);
      assert.match(err.message, /UP_PASS is not set/);
    }
  });

  it('makes createGateway fail with the config code, leaving nothing running', async () => {
    const config = parseConfig(withUpstream({ ...minimal, username: 'site1', passwordEnv: 'MQTTSN_TEST_UNSET_PASSWORD' }));
    await assert.rejects(createGateway(config, { env: {} }), (err: unknown) => err instanceof ConfigError && err.code === 'MQTTSN_ERR_CONFIG' && /passwordEnv/.test(err.message));
  });
});
