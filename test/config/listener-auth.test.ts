/** `broker.auth`: the password file is found next to the config, read at load and at start. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/broker/passwords.js';
import { ConfigError, ConfigIssueCode as C, loadConfig, parseConfig, type ConfigIssue } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';

async function issuesOf(path: string): Promise<ConfigIssue[]> {
  try {
    await loadConfig(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
  assert.fail('expected the config to be refused');
}

describe('config: broker.auth', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-lsn-auth-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, broker: unknown): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], store: { type: 'memory' }, broker }, null, 2));
    return path;
  };

  it('is absent by default, and resolves the file against the config folder', async () => {
    assert.equal(parseConfig({ transports: [{ type: 'udp' }] }).broker.auth, undefined);
    await writeFile(join(dir, 'users'), `u:${await hashPassword('p')}\n`);
    const config = await loadConfig(await write('ok.json', { auth: { passwordFile: 'users' } }));
    assert.deepEqual(config.broker.auth, { passwordFile: join(dir, 'users'), allowAnonymous: false });
  });

  it('names the field when the file is missing', async () => {
    const issues = await issuesOf(await write('missing.json', { auth: { passwordFile: 'nope' } }));
    assert.deepEqual(
      issues.map((i) => [i.path, i.code]),
      [['broker.auth.passwordFile', C.FILE_NOT_FOUND]],
    );
    assert.ok(issues[0]!.message.includes(join(dir, 'nope')), issues[0]!.message);
    assert.equal(typeof issues[0]!.line, 'number', 'points into the config file');
  });

  it('names the field and each bad line of the file', async () => {
    await writeFile(join(dir, 'bad'), `# users\nok:${await hashPassword('p')}\nbroken\nx:scrypt$1$1$1$a$b\n`);
    const issues = await issuesOf(await write('bad.json', { auth: { passwordFile: 'bad' } }));
    assert.deepEqual(
      issues.map((i) => i.path),
      ['broker.auth.passwordFile', 'broker.auth.passwordFile'],
    );
    assert.match(issues[0]!.message, /bad line 3: expected username:scrypt/);
    assert.match(issues[1]!.message, /bad line 4: user "x": N = 1; expected a power of two/);
  });

  it('refuses unknown keys in the section', async () => {
    const issues = await issuesOf(await write('typo.json', { auth: { passwordFile: 'users', allowAnonymus: true } }));
    assert.ok(issues.some((i) => i.path === 'broker.auth.allowAnonymus' && i.code === C.UNKNOWN_KEY), JSON.stringify(issues));
  });

  it('refuses %c in a listener ACL filter: its rules are per user (%u)', async () => {
    const issues = await issuesOf(await write('acl.json', { auth: { passwordFile: 'users', acl: [{ user: '*', publish: ['a/%c/#', 'b/%u/#'] }] } }));
    assert.deepEqual(
      issues.map((i) => [i.path, i.code]),
      [['broker.auth.acl[0].publish[0]', C.INVALID_VALUE]],
    );
    assert.match(issues[0]!.message, /use %u for the user name/);
  });

  it('the gateway reads the file again at start: one gone since is a ConfigError naming the field', async () => {
    await writeFile(join(dir, 'gone'), `u:${await hashPassword('p')}\n`);
    const config = await loadConfig(await write('gone.json', { listen: [{ host: '127.0.0.1', port: 0 }], auth: { passwordFile: 'gone' } }));
    await unlink(join(dir, 'gone'));
    await assert.rejects(createGateway(config), (err: unknown) => err instanceof ConfigError && err.issues[0]?.path === 'broker.auth.passwordFile');
  });
});
