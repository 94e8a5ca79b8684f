/**
 * The `store` section and its default: SQLite next to the config file when there is one, memory
 * for a config built in code that does not ask for a store. Also `openStore` and how
 * `createGateway` uses it: a file it must not use stops the start, leaving nothing running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ConfigError, ConfigIssueCode, configJsonSchema, loadConfig, parseConfig } from '../../src/config/index.js';
import { createGateway } from '../../src/index.js';
import { StoreError, StoreErrorCode } from '../../src/store/errors.js';
import { MemoryOutboundQueue } from '../../src/store/memory-queue.js';
import { openStore } from '../../src/store/open-store.js';
import { SqliteOutboundQueue } from '../../src/store/sqlite-queue.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const UDP = { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] } };

function issues(fn: () => unknown): Array<[string, string]> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => [i.path, i.code]);
  }
  assert.fail('expected a ConfigError');
}

describe('config: store', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-store-config-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('from a file: SQLite next to the file by default, wherever the gateway runs from', async () => {
    const file = join(dir, 'gateway.config.json');
    await writeFile(file, JSON.stringify(UDP));
    assert.deepEqual((await loadConfig(file)).store, { type: 'sqlite', path: join(dir, 'mqttsn-gateway.db') });
  });

  it("the repository's own gateway.config.json keeps its state next to it", async () => {
    const config = await loadConfig(join(root, 'gateway.config.json'));
    assert.deepEqual(config.store, { type: 'sqlite', path: join(root, 'mqttsn-gateway.db') });
  });

  it('a relative path is relative to the config file, an absolute one is kept', async () => {
    const file = join(dir, 'relative.json');
    await writeFile(file, JSON.stringify({ ...UDP, store: { path: 'state/gw.db' } }));
    assert.deepEqual((await loadConfig(file)).store, { type: 'sqlite', path: join(dir, 'state', 'gw.db') });
    assert.equal(parseConfig({ ...UDP, store: { path: '/var/lib/mqttsn/gw.db' } }, 'x', dir).store.path, '/var/lib/mqttsn/gw.db');
  });

  it('memory when asked for, file or not', () => {
    assert.equal(parseConfig({ ...UDP, store: { type: 'memory' } }, 'x', dir).store.type, 'memory');
    assert.equal(parseConfig({ ...UDP, store: { type: 'memory' } }).store.type, 'memory');
  });

  it('built in code without a store: memory, so nothing lands in the working directory', () => {
    assert.equal(parseConfig(UDP).store.type, 'memory');
  });

  it('built in code with a store: as asked, a relative path against the working directory', () => {
    assert.deepEqual(parseConfig({ ...UDP, store: {} }).store, { type: 'sqlite', path: resolve('mqttsn-gateway.db') });
  });

  it('names the field and what is expected when the section is wrong', () => {
    assert.deepEqual(issues(() => parseConfig({ ...UDP, store: { type: 'postgres' } })), [['store.type', ConfigIssueCode.INVALID_VALUE]]);
    assert.deepEqual(issues(() => parseConfig({ ...UDP, store: { pth: 'x.db' } })), [['store.pth', ConfigIssueCode.UNKNOWN_KEY]]);
    assert.deepEqual(issues(() => parseConfig({ ...UDP, store: { path: '' } })), [['store.path', ConfigIssueCode.INVALID_LENGTH]]);
    assert.deepEqual(issues(() => parseConfig({ ...UDP, store: 'sqlite' })), [['store', ConfigIssueCode.INVALID_TYPE]]);
  });

  it('is in the JSON Schema with its defaults and descriptions', () => {
    const schema = configJsonSchema() as { properties: Record<string, { properties: Record<string, { default?: unknown; description?: string }> }> };
    const store = schema.properties.store!.properties;
    assert.equal(store.type!.default, 'sqlite');
    assert.equal(store.path!.default, './mqttsn-gateway.db');
    assert.ok((store.path!.description ?? '').includes('relative to the folder of this config file'));
  });
});

describe('openStore', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-open-store-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('memory: no session store for the core, memory queues', async () => {
    const store = openStore({ type: 'memory' });
    assert.equal(store.sessions, undefined);
    assert.ok(store.outboundQueue({ maxMessages: 1, maxBytes: 10 }) instanceof MemoryOutboundQueue);
    await store.close();
  });

  it('sqlite: the session store and the queues share one file', async () => {
    const path = join(dir, 'shared.db');
    const store = openStore({ type: 'sqlite', path });
    assert.ok(store.sessions instanceof SqliteStore);
    const q = store.outboundQueue({ maxMessages: 10, maxBytes: 100 });
    assert.ok(q instanceof SqliteOutboundQueue);
    q.push({ topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    store.sessions.addQos2('c', 1);
    await store.close();
    const again = SqliteStore.open(path);
    assert.equal(again.outboundQueue({ maxMessages: 10, maxBytes: 100 }).size, 1);
    assert.deepEqual((await again.load()).qos2.get('c'), [1]);
    await again.close();
  });
});

describe('createGateway with a store', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-gw-store-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('opens the SQLite file and closes it with the gateway (the lock is gone after close)', async () => {
    const path = join(dir, 'gw.db');
    const running = await createGateway(parseConfig({ ...UDP, store: { type: 'sqlite', path } }));
    assert.equal(running.store.type, 'sqlite');
    assert.ok(existsSync(path));
    await running.close();
    const store = SqliteStore.open(path);
    await store.close();
  });

  it('refuses to start on a file it must not use, and leaves nothing listening', async () => {
    const path = join(dir, 'foreign.db');
    const other = new Database(path);
    other.exec('CREATE TABLE t (x)');
    other.close();
    const probe = createSocket('udp4');
    probe.bind(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = probe.address().port;
    probe.close();
    await assert.rejects(
      createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port }], broker: { listen: [] }, store: { type: 'sqlite', path } })),
      (err: unknown) => err instanceof StoreError && err.code === StoreErrorCode.FOREIGN,
    );
    const again = createSocket('udp4');
    again.bind(port, '127.0.0.1');
    await once(again, 'listening');
    again.close();
  });
});
