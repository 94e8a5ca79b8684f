/** Loading from disk: the repository's own file, and every way a file can fail before validation. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ConfigIssueCode as C, loadConfig, type ConfigIssue } from '../../src/config/index.js';
import { describeReadError } from '../../src/config/load.js';

const repoConfig = fileURLToPath(new URL('../../gateway.config.json', import.meta.url));

async function loadIssues(path: string): Promise<{ error: ConfigError; issues: readonly ConfigIssue[] }> {
  try {
    await loadConfig(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return { error: err, issues: err.issues };
  }
  assert.fail(`expected ${path} to be rejected`);
}

describe('config: loading files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses the repository's gateway.config.json", async () => {
    const config = await loadConfig(repoConfig);
    assert.ok(config.transports.length >= 1);
  });

  it('loads a valid file', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ $schema: './x.json', gatewayId: 7, transports: [{ type: 'udp', port: 0 }] }));
    const config = await loadConfig(file);
    assert.equal(config.gatewayId, 7);
    assert.deepEqual(config.transports[0], { type: 'udp', host: '0.0.0.0', port: 0, forwarder: true, frontEnds: [], maxFrameSize: 1400, receiveBufferBytes: 4194304, sendBufferBytes: 1048576 });
  });

  it('a missing file', async () => {
    const { error, issues } = await loadIssues(join(dir, 'absent.json'));
    assert.equal(error.code, 'MQTTSN_ERR_CONFIG');
    assert.deepEqual(issues.map((i) => i.code), [C.FILE_NOT_FOUND]);
    assert.match(error.message, /absent\.json/);
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
  });

  it('a directory', async () => {
    const { issues } = await loadIssues(dir);
    assert.deepEqual(issues.map((i) => i.code), [C.FILE_UNREADABLE]);
  });

  it('maps EACCES and EPERM to a permission message', () => {
    for (const code of ['EACCES', 'EPERM']) {
      const issue = describeReadError(Object.assign(new Error('x'), { code }), 'a.json');
      assert.equal(issue.code, C.FILE_UNREADABLE);
      assert.match(issue.message, /permission denied/);
    }
  });

  it('a file that is not UTF-8', async () => {
    const file = join(dir, 'latin1.json');
    await writeFile(file, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    const { issues } = await loadIssues(file);
    assert.deepEqual(issues.map((i) => i.code), [C.FILE_UNREADABLE]);
  });

  it('invalid JSON names file, line and column', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{\n  "gatewayId": 1\n  "transports": []\n}\n');
    const { error, issues } = await loadIssues(file);
    assert.deepEqual(issues.map((i) => [i.code, i.line, i.column]), [[C.INVALID_JSON, 3, 3]]);
    assert.ok(error.message.includes(`${file}:3:3: `), error.message);
  });

  it('validation issues name file, line and column', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{\n  "transports": [\n    { "type": "udp", "prot": 1884 }\n  ]\n}\n');
    const { error, issues } = await loadIssues(file);
    assert.deepEqual(issues.map((i) => [i.path, i.code, i.line]), [['transports[0].prot', C.UNKNOWN_KEY, 3]]);
    assert.ok(error.message.includes(`${file}:3:22: transports[0].prot: `), error.message);
    assert.match(error.message, /did you mean "port"\?/);
  });
});
