/**
 * Every kind of config mistake, through the real CLI: exit code 2, nothing started, and a
 * message on stderr naming the field (and the file, line and column) rather than a stack trace.
 */
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigIssueCode as C } from '../../src/config/index.js';
import { pool, runCli, tempDir, writeConfig, type CliResult } from './cli-process.js';

const udp = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'udp', host: '127.0.0.1', port: 0, ...extra });
const valid = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ transports: [udp()], broker: { listen: [] }, ...extra });

interface Case {
  /** the issue code this case produces (for the coverage check), or a label */
  code: string;
  /** the file content: an object is written as JSON */
  config: unknown;
  /** what stderr must contain: the path as the message shows it, then any further words */
  names: string[];
}

const cases: Case[] = [
  { code: C.INVALID_JSON, config: '{\n  "transports": [\n}', names: ['invalid JSON', ':3:1'] },
  { code: C.DUPLICATE_KEY, config: '{ "transports": [], \n "gatewayId": 1,\n "gatewayId": 2 }', names: [': gatewayId: ', 'appears twice'] },
  { code: C.UNKNOWN_KEY, config: { ...valid(), transport: [] }, names: [': transport: ', 'did you mean "transports"'] },
  { code: C.MISSING, config: {}, names: [': transports: ', 'missing'] },
  { code: C.INVALID_TYPE, config: valid({ gatewayId: 'one' }), names: [': gatewayId: ', '"one"'] },
  { code: C.OUT_OF_RANGE, config: { transports: [udp({ port: 70_000 })] }, names: [': transports[0].port: ', '70000', 'from 0 to 65535'] },
  { code: C.INVALID_LENGTH, config: { transports: [] }, names: [': transports: ', 'at least 1'] },
  { code: C.INVALID_VALUE, config: valid({ log: { level: 'loud' } }), names: [': log.level: ', '"loud"', '"info"'] },
  { code: C.INVALID_HOST, config: { transports: [udp({ host: 'bad host!' })] }, names: [': transports[0].host: ', 'bad host!'] },
  { code: C.DUPLICATE_ADDRESS, config: { transports: [udp({ port: 3000 }), udp({ port: 3000 })] }, names: [': transports[1]: ', 'collides with transports[0]'] },
  {
    code: C.ADDRESS_FAMILY,
    config: { transports: [udp({ advertise: { address: 'ff02::1' } })] },
    names: [': transports[0].advertise.address: ', 'ff02::1'],
  },
  {
    code: C.INCONSISTENT,
    config: { transports: [{ type: 'serial', path: '/dev/ttyUSB0', reconnect: { initialMs: 5000, maxMs: 1000 } }] },
    names: [': transports[0].reconnect.initialMs: ', 'maxMs'],
  },
  { code: C.INVALID_TOPIC_ID, config: valid({ predefinedTopics: { x: 'a/b' } }), names: [': predefinedTopics.x: ', 'not a topic id'] },
  { code: C.TOPIC_ID_OUT_OF_RANGE, config: valid({ predefinedTopics: { '0': 'a/b' } }), names: [': predefinedTopics["0"]: ', 'out of range'] },
  {
    code: C.DUPLICATE_TOPIC_ID,
    config: '{ "transports": [{ "type": "udp", "port": 0 }],\n  "predefinedTopics": { "1": "a",\n "1": "b" } }',
    names: [': predefinedTopics["1"]: ', 'predefined twice'],
  },
  { code: C.DUPLICATE_TOPIC_NAME, config: valid({ predefinedTopics: { '1': 'a/b', '2': 'a/b' } }), names: [': predefinedTopics["2"]: ', 'already predefined'] },
  { code: C.INVALID_TOPIC_NAME, config: valid({ predefinedTopics: { '1': 'a/#' } }), names: [': predefinedTopics["1"]: ', 'wildcard'] },
  // The sections this feature adds.
  { code: 'http.port', config: valid({ http: { enabled: true, port: 99_999 } }), names: [': http.port: ', '99999'] },
  { code: 'http.host', config: valid({ http: { enabled: true, host: 'not a host' } }), names: [': http.host: ', 'not a host'] },
  { code: 'http.enabled', config: valid({ http: { enabled: 'yes' } }), names: [': http.enabled: ', 'true or false'] },
  { code: 'http key', config: valid({ http: { prot: 9464 } }), names: [': http.prot: ', 'did you mean "port"'] },
  { code: 'shutdown.graceMs', config: valid({ shutdown: { graceMs: -1 } }), names: [': shutdown.graceMs: ', '-1'] },
];

describe('cli: every config mistake exits 2 and names the field', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const results = new Map<Case, CliResult & { file: string }>();

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    // Each run is a fresh Node process: run them side by side, one per core.
    await pool(cases, Math.max(1, availableParallelism()), async (c) => {
      const file = await writeConfig(dir, `${c.code.replace(/\W/g, '_')}.json`, c.config);
      results.set(c, { ...(await runCli(['--config', file])), file });
    });
  });
  after(() => cleanup());

  for (const c of cases) {
    it(c.code, () => {
      const r = results.get(c)!;
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      for (const words of c.names) assert.ok(r.stderr.includes(words), `stderr should contain ${JSON.stringify(words)}:\n${r.stderr}`);
      assert.ok(r.stderr.includes(r.file), 'the message names the file');
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.stdout, '', 'nothing was started, so nothing was logged');
    });
  }

  it('covers every issue code the config layer can report from a file', () => {
    const covered = new Set(cases.map((c) => c.code));
    // FILE_NOT_FOUND and FILE_UNREADABLE are below, INVALID is the "cannot happen" fallback.
    const others = new Set<string>([C.FILE_NOT_FOUND, C.FILE_UNREADABLE, C.INVALID]);
    for (const code of Object.values(C)) assert.ok(covered.has(code) || others.has(code), `no CLI case for ${code}`);
  });
});

describe('cli: config files that cannot be read', () => {
  it('a missing file: exit 2, naming the full path', async () => {
    const r = await runCli(['--config', '/nonexistent/gateway.config.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /file not found \(\/nonexistent\/gateway\.config\.json\)/);
  });

  it('a folder instead of a file: exit 2', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const folder = join(dir, 'gateway.config.json');
      await mkdir(folder);
      const r = await runCli(['--config', folder]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /is a directory; expected a JSON file/);
    } finally {
      await cleanup();
    }
  });

  it('reports every mistake of one file in one run', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = await writeConfig(dir, 'many.json', {
        gatewayId: 300,
        transports: [udp({ port: 70_000 })],
        log: { level: 'loud' },
        http: { port: -1 },
        shutdown: { graceMs: 'long' },
      });
      const r = await runCli(['--config', file]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /\(5 problems\)/);
      for (const path of ['gatewayId', 'transports[0].port', 'log.level', 'http.port', 'shutdown.graceMs']) {
        assert.ok(r.stderr.includes(`: ${path}: `), `${path} in:\n${r.stderr}`);
      }
    } finally {
      await cleanup();
    }
  });
});
