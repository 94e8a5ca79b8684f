/**
 * The CLI refuses to start on a store file it must not use, says so in one line with the code and
 * the file, exits 1, and leaves the file as it was: a damaged or foreign file is never silently
 * replaced by an empty store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreErrorCode } from '../../src/store/errors.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { GatewayChild, runCli, writeConfig } from '../cli/cli-process.js';

describe('durability: the gateway refuses a store file it must not use', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-refuse-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const config = (name: string, store: string): Promise<string> =>
    writeConfig(dir, `${name}.json`, { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] }, store: { path: store } });

  const cases: Array<[string, StoreErrorCode, (path: string) => Promise<void> | void]> = [
    ['a file of random bytes', StoreErrorCode.CORRUPT, (path) => writeFile(path, randomBytes(8192))],
    [
      "another program's SQLite database",
      StoreErrorCode.FOREIGN,
      (path) => {
        const db = new Database(path);
        db.exec('CREATE TABLE readings (at INTEGER, value REAL)');
        db.close();
      },
    ],
    [
      'a store of a newer gateway',
      StoreErrorCode.TOO_NEW,
      async (path) => {
        await SqliteStore.open(path).close();
        const db = new Database(path);
        db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
        db.close();
      },
    ],
  ];

  for (const [what, code, make] of cases) {
    it(`${what}: exit 1, one line naming the file and ${code}, file untouched`, async () => {
      const store = join(dir, `${code}.db`);
      await make(store);
      const before = await readFile(store);
      const r = await runCli(['--config', await config(code, `${code}.db`)]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.includes(code) && lines[0]!.includes(store), lines[0]);
      assert.ok((await readFile(store)).equals(before), 'the file is as it was');
    });
  }

  it('a store another gateway has open: the second one exits 1 with MQTTSN_ERR_STORE_LOCKED', async () => {
    const file = await config('shared', 'shared.db');
    const first = await GatewayChild.start(file);
    try {
      const r = await runCli(['--config', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(StoreErrorCode.LOCKED), r.stderr);
      assert.ok(first.running, 'the first gateway runs on');
    } finally {
      first.signal('SIGINT');
      assert.equal(await first.exitCode(), 0);
    }
  });
});
