/**
 * The store file holds every device's queued messages, wills and sessions: the gateway creates
 * it (and SQLite its WAL) readable by its owner alone, whatever the umask, with the shipped
 * config's default store (`mqttsn-gateway.db` next to the config file). A file that is already
 * there keeps the mode its owner gave it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { openStore } from '../../src/store/open-store.js';

describe('store file mode', () => {
  let dir: string;
  let oldMask: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-mode-'));
    // The usual umask of a service account: left to itself, SQLite would create 0644.
    oldMask = process.umask(0o022);
  });
  after(async () => {
    process.umask(oldMask);
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the database and its WAL 0600 with the shipped config', async () => {
    const shipped = JSON.parse(await readFile(new URL('../../gateway.config.json', import.meta.url), 'utf8')) as unknown;
    const config = parseConfig(shipped, 'gateway.config.json', dir);
    assert.equal(config.store.type, 'sqlite');
    assert.equal(config.store.path, join(dir, 'mqttsn-gateway.db'));
    const store = openStore(config.store);
    try {
      assert.equal((await stat(config.store.path)).mode & 0o777, 0o600);
      assert.equal((await stat(`${config.store.path}-wal`)).mode & 0o777, 0o600);
    } finally {
      await store.close();
    }
  });

  it('leaves the mode of a file that is already there', async () => {
    const path = join(dir, 'given.db');
    await writeFile(path, '');
    await chmod(path, 0o640);
    const store = openStore({ type: 'sqlite', path });
    await store.close();
    assert.equal((await stat(path)).mode & 0o777, 0o640);
  });
});
