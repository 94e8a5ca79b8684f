/** scrypt password hashes and the password file format of the local MQTT listener. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { formatHash, hashPassword, parseHash, parsePasswordFile, PasswordTable, SCRYPT_DEFAULTS, verifyPassword, type ScryptHash } from '../../src/broker/passwords.js';

const parsed = (text: string): ScryptHash => {
  const h = parseHash(text);
  assert.ok(typeof h !== 'string', `not parsed: ${typeof h === 'string' ? h : ''}`);
  return h;
};

/** Milliseconds `rounds` wrong checks take for the known user alice and for an unknown name. */
async function knownVsUnknown(table: PasswordTable, rounds: number): Promise<{ known: number; unknown: number }> {
  const time = async (name: string): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) await table.check(name, Buffer.from('wrong'));
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  await time('alice'); // warm up
  return { known: await time('alice'), unknown: await time('nobody') };
}

describe('passwords: hash and verify', () => {
  it('hashes with the default parameters and a fresh salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.notEqual(a, b, 'a new salt each time');
    const h = parsed(a);
    assert.equal(h.salt.length, SCRYPT_DEFAULTS.saltBytes);
    assert.equal(h.key.length, SCRYPT_DEFAULTS.keyBytes);
    assert.equal(await verifyPassword(Buffer.from('correct horse'), h), true);
    assert.equal(await verifyPassword(Buffer.from('correct horsE'), h), false);
    assert.equal(await verifyPassword(Buffer.alloc(0), h), false);
  });

  it('is plain scrypt: a hash made elsewhere with other parameters verifies', async () => {
    const salt = randomBytes(12);
    const key = scryptSync('pw', salt, 24, { N: 1024, r: 4, p: 2 });
    const text = `scrypt$1024$4$2$${salt.toString('base64')}$${key.toString('base64')}`;
    const h = parsed(text);
    assert.equal(formatHash(h), text, 'formats back to the same text');
    assert.equal(await verifyPassword(Buffer.from('pw'), h), true);
    assert.equal(await verifyPassword(Buffer.from('pW'), h), false);
  });

  it('refuses hashes it cannot or must not check, saying why', () => {
    const salt = randomBytes(16).toString('base64');
    const key = randomBytes(32).toString('base64');
    for (const [text, words] of [
      ['plain-text', 'scrypt$N$r$p$salt$key'],
      [`bcrypt$16384$8$1$${salt}$${key}`, 'scrypt$N$r$p$salt$key'],
      [`scrypt$1000$8$1$${salt}$${key}`, 'power of two'],
      [`scrypt$512$8$1$${salt}$${key}`, 'power of two from 2^10'],
      [`scrypt$2097152$8$1$${salt}$${key}`, 'power of two'],
      [`scrypt$1048576$8$1$${salt}$${key}`, 'MiB per check'],
      [`scrypt$16384$0$1$${salt}$${key}`, 'positive decimal'],
      [`scrypt$16384$8$99$${salt}$${key}`, 'p = 99'],
      [`scrypt$16384$8$1$not*base64$${key}`, 'base64'],
      [`scrypt$16384$8$1$${randomBytes(4).toString('base64')}$${key}`, 'salt has 4 bytes'],
      [`scrypt$16384$8$1$${salt}$${randomBytes(8).toString('base64')}`, 'key has 8 bytes'],
    ] as const) {
      const h = parseHash(text);
      assert.equal(typeof h, 'string', text);
      assert.ok((h as string).includes(words), `${text}: ${h as string}`);
    }
  });
});

describe('passwords: the file', () => {
  it('reads users, skipping blank lines and comments, with CRLF too', async () => {
    const alice = await hashPassword('a');
    const bob = await hashPassword('b');
    const { users, problems } = parsePasswordFile(`# listener users\r\nalice:${alice}\r\n\r\n  # bob below\nbob:${bob}\n`);
    assert.deepEqual(problems, []);
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    const table = new PasswordTable(users);
    assert.equal(await table.check('alice', Buffer.from('a')), true);
    assert.equal(await table.check('alice', Buffer.from('b')), false, "another user's password");
    assert.equal(await table.check('bob', Buffer.from('b')), true);
    assert.equal(await table.check('carol', Buffer.from('a')), false, 'unknown user');
  });

  it('reports every bad line with its number', async () => {
    const ok = await hashPassword('x');
    const text = [`alice:${ok}`, 'no colon here', `:${ok}`, `bad name:${ok}`, 'carol:scrypt$1$2', `alice:${ok}`, `dave:${ok}`].join('\n');
    const { users, problems } = parsePasswordFile(text);
    assert.deepEqual(
      problems.map((p) => p.line),
      [2, 3, 4, 5, 6],
    );
    assert.match(problems[0]!.message, /expected username:scrypt/);
    assert.match(problems[1]!.message, /user name is empty/);
    assert.match(problems[2]!.message, /white space/);
    assert.match(problems[3]!.message, /user "carol": expected a hash/);
    assert.match(problems[4]!.message, /already on line 1/);
    assert.deepEqual([...users.keys()], ['alice', 'dave']);
  });

  it('an empty file is a problem: nobody could connect', () => {
    const { problems } = parsePasswordFile('# nothing yet\n\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /no users/);
  });

  it('an unknown user costs about as much as a known one', async () => {
    const table = new PasswordTable(parsePasswordFile(`alice:${await hashPassword('a')}`).users);
    const { known, unknown } = await knownVsUnknown(table, 4);
    // A lookup that skipped scrypt for unknown names would take microseconds, not milliseconds.
    assert.ok(unknown > known / 3, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
  });

  it("checks an unknown user with the file's parameters, not the defaults", async () => {
    // Cheap hashes (N = 2^10): a stand-in with the defaults (2^14) would make unknown names 16 times slower.
    const salt = randomBytes(16);
    const cheap = `scrypt$1024$8$1$${salt.toString('base64')}$${scryptSync('a', salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')}`;
    const table = new PasswordTable(parsePasswordFile(`alice:${cheap}`).users);
    assert.equal(await table.check('alice', Buffer.from('a')), true);
    const { known, unknown } = await knownVsUnknown(table, 20);
    assert.ok(unknown < known * 4 && unknown > known / 4, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`);
  });
});
