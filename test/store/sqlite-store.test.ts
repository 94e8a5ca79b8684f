/**
 * What only the SQLite store promises: it refuses files it must not use (without changing them),
 * batches writes into one commit per event-loop turn, reports a lost batch through `flush()`,
 * keeps its file bounded, and keeps what was flushed through a SIGKILL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreError, StoreErrorCode } from '../../src/store/errors.js';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function assertStoreError(fn: () => unknown, code: StoreErrorCode, path: string): StoreError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StoreError, `expected a StoreError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.path, path);
  assert.ok(caught.message.includes(path), 'the message names the file');
  return caught;
}

const rows = (store: SqliteStore, table: string): number => (store.file.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('SqliteStore: files it must not use', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-sqlite-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses a file of random bytes, and leaves it as it was', async () => {
    const path = join(dir, 'random.db');
    const bytes = randomBytes(16_384);
    await writeFile(path, bytes);
    assertStoreError(() => SqliteStore.open(path), StoreErrorCode.CORRUPT, path);
    assert.ok((await readFile(path)).equals(bytes));
  });

  it("refuses another program's SQLite database, and leaves it as it was", async () => {
    const path = join(dir, 'foreign.db');
    const other = new Database(path);
    other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (9.5);");
    other.close();
    const before = await readFile(path);
    const err = assertStoreError(() => SqliteStore.open(path), StoreErrorCode.FOREIGN, path);
    assert.match(err.message, /invoices/);
    assert.ok((await readFile(path)).equals(before));
  });

  it('refuses a file with a foreign application id even when it has no tables', () => {
    const path = join(dir, 'other-app.db');
    const other = new Database(path);
    other.pragma('application_id = 1234');
    other.close();
    assertStoreError(() => SqliteStore.open(path), StoreErrorCode.FOREIGN, path);
  });

  it('refuses a store written by a newer gateway', async () => {
    const path = join(dir, 'newer.db');
    await SqliteStore.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const err = assertStoreError(() => SqliteStore.open(path), StoreErrorCode.TOO_NEW, path);
    assert.match(err.message, new RegExp(`version ${SCHEMA_VERSION + 1}`));
  });

  it('refuses a store whose pages are damaged', async () => {
    const path = join(dir, 'damaged.db');
    const store = SqliteStore.open(path);
    for (let i = 0; i < 2000; i++) store.enqueue('c', { topic: `t/${i}`, payload: Buffer.alloc(100, i), qos: 1, retain: false });
    await store.close();
    const bytes = await readFile(path);
    // Garbage over the pages after the first two (the header and the schema stay readable).
    randomBytes(bytes.length - 8192).copy(bytes, 8192);
    await writeFile(path, bytes);
    assertStoreError(() => SqliteStore.open(path), StoreErrorCode.CORRUPT, path);
  });

  it('refuses a file another store has open', async () => {
    const path = join(dir, 'busy.db');
    const first = SqliteStore.open(path);
    assertStoreError(() => SqliteStore.open(path, { lockTimeoutMs: 50 }), StoreErrorCode.LOCKED, path);
    await first.close();
    await SqliteStore.open(path).close();
  });

  it('says when the folder does not exist', () => {
    const path = join(dir, 'no-such-folder', 'x.db');
    assertStoreError(() => SqliteStore.open(path), StoreErrorCode.OPEN_FAILED, path);
  });

  it('takes an empty file as a new store, and marks it as ours', async () => {
    const path = join(dir, 'empty.db');
    await writeFile(path, '');
    const store = SqliteStore.open(path);
    assert.equal(store.file.db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.equal(store.file.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(store.file.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.file.db.pragma('auto_vacuum', { simple: true }), 2, 'incremental');
    await store.close();
  });
});

describe('SqliteStore: batches', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-sqlite-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('commits every write of one event-loop turn in one transaction', async () => {
    const store = SqliteStore.open(join(dir, 'batch.db'));
    const q = store.outboundQueue({ maxMessages: 10_000, maxBytes: 1 << 24 });
    const commits = store.file.stats.commits;
    for (let i = 0; i < 1000; i++) {
      store.enqueue(`c${i % 10}`, { topic: 't', payload: Buffer.from([i & 255]), qos: 1, retain: false });
      q.push({ topic: 'up', payload: Buffer.from('x'), qos: 1, retain: false });
    }
    assert.equal(store.file.stats.commits, commits, 'nothing committed within the turn');
    await store.flush();
    assert.equal(store.file.stats.commits, commits + 1);
    await store.flush();
    assert.equal(store.file.stats.commits, commits + 1, 'a flush with nothing pending commits nothing');
    await store.close();
  });

  it('a flush waits for the commit of the batch holding the writes before it', async () => {
    const store = SqliteStore.open(join(dir, 'order.db'));
    store.addQos2('c', 1);
    let done = false;
    const flushed = store.flush().then(() => (done = true));
    await Promise.resolve();
    assert.equal(done, false, 'not before the batch commits');
    const commits = store.file.stats.commits;
    const syncs = store.file.stats.syncs;
    await flushed;
    assert.equal(store.file.stats.commits, commits + 1);
    assert.equal(store.file.stats.syncs, syncs + 1, 'and the WAL synced after the commit');
    await store.close();
  });

  it('rejects the flush of a batch that could not be written, and goes on with the next', async () => {
    const store = SqliteStore.open(join(dir, 'full.db'));
    await store.flush();
    // The file may not grow any more: a large write fails as on a full disk.
    const pages = store.file.db.pragma('page_count', { simple: true }) as number;
    store.file.db.pragma(`max_page_count = ${pages}`);
    store.enqueue('c', { topic: 't', payload: Buffer.alloc(1 << 20), qos: 1, retain: false });
    await assert.rejects(store.flush(), (err: unknown) => err instanceof StoreError && err.code === StoreErrorCode.WRITE_FAILED);
    assert.equal(store.file.stats.failedBatches, 1);
    assert.equal((await store.load()).queues.size, 0, 'the batch was rolled back whole');
    store.file.db.pragma('max_page_count = 1073741823');
    store.addQos2('c', 7);
    await store.flush();
    assert.deepEqual((await store.load()).qos2.get('c'), [7]);
    await store.close();
  });

  it('after close, flush rejects and writes are ignored', async () => {
    const store = SqliteStore.open(join(dir, 'closed.db'));
    await store.close();
    await store.close();
    store.addQos2('c', 1);
    assert.equal(store.file.stats.lateWrites, 1);
    await assert.rejects(store.flush(), (err: unknown) => err instanceof StoreError && err.code === StoreErrorCode.CLOSED);
    await assert.rejects(store.load(), (err: unknown) => err instanceof StoreError && err.code === StoreErrorCode.CLOSED);
  });
});

describe('SqliteStore: the file does not grow without bound', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-sqlite-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('after many enqueue/dequeue and push/ack cycles every table is empty and the file small', async () => {
    const store = SqliteStore.open(join(dir, 'cycles.db'));
    const q = store.outboundQueue({ maxMessages: 1000, maxBytes: 1 << 20 });
    const payload = Buffer.alloc(200, 0x61);
    let peakDb = 0;
    let peakWal = 0;
    for (let round = 0; round < 200; round++) {
      const seqs: Array<[string, number]> = [];
      for (let i = 0; i < 100; i++) {
        const client = `c${i % 20}`;
        const seq = store.enqueue(client, { topic: 'dev/cmd', payload, qos: 1, retain: false });
        store.markSent(client, seq, { msgId: i + 1, stage: 'puback' });
        seqs.push([client, seq]);
        store.addQos2(client, i + 1);
        q.push({ topic: 'up/data', payload, qos: 1, retain: false });
      }
      await store.flush();
      for (const [client, seq] of seqs) store.dequeue(client, seq);
      for (let i = 0; i < 100; i++) store.removeQos2(`c${i % 20}`, i + 1);
      for (const e of q.peek(1000)) q.ack(e.seq);
      await store.flush();
      peakDb = Math.max(peakDb, statSync(store.path).size);
      peakWal = Math.max(peakWal, existsSync(`${store.path}-wal`) ? statSync(`${store.path}-wal`).size : 0);
    }
    assert.equal(rows(store, 'delivery'), 0);
    assert.equal(rows(store, 'outbound'), 0);
    assert.equal(rows(store, 'qos2'), 0);
    assert.equal(q.size, 0);
    // 20,000 messages of 200 bytes went through each table (12 MB in all); the file holds about
    // one round of them, and the WAL stays near SQLite's checkpoint threshold (1000 pages).
    assert.ok(peakDb < 1024 * 1024, `the database file peaked at ${peakDb} bytes`);
    assert.ok(peakWal < 5 * 1024 * 1024, `the WAL peaked at ${peakWal} bytes`);
    store.file.maintain();
    assert.ok(store.file.size() < 512 * 1024, `after maintenance: ${store.file.size()} bytes`);
    await store.close();
  });

  it('gives the space of a drained backlog back to the file system', async () => {
    const path = join(dir, 'backlog.db');
    const store = SqliteStore.open(path);
    const q = store.outboundQueue({ maxMessages: 100_000, maxBytes: 1 << 30 });
    const payload = Buffer.alloc(1000, 0x62);
    for (let i = 0; i < 20_000; i++) q.push({ topic: 'up/data', payload, qos: 1, retain: false });
    await store.flush();
    const full = store.file.size();
    assert.ok(full > 20_000_000, `backlog on disk: ${full}`);
    while (q.shift() !== undefined);
    await store.flush();
    for (let i = 0; i < 3; i++) store.file.maintain();
    assert.equal(rows(store, 'outbound'), 0);
    assert.ok(store.file.size() < 2 * 1024 * 1024, `drained: ${store.file.size()} bytes`);
    await store.close();
  });
});

describe('SqliteStore: a SIGKILL loses nothing that was flushed', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-sqlite-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('a process killed while writing leaves a file that opens with every flushed entry', async () => {
    const path = join(dir, 'killed.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'write-until-killed.ts'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let flushed = 0;
    const enough = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        const last = lines.filter((l) => l.startsWith('flushed ')).at(-1);
        if (last !== undefined) flushed = Number(last.slice('flushed '.length));
        if (flushed >= 3000) resolve();
      });
    });
    await enough;
    child.kill('SIGKILL');
    await once(child, 'exit');
    const store = SqliteStore.open(path);
    const state = await store.load();
    const kept = state.queues.get('writer') ?? [];
    assert.ok(kept.length >= flushed, `${kept.length} entries kept, ${flushed} were flushed`);
    // Oldest first, without gaps: what is kept is a prefix of what was written.
    kept.forEach((d, i) => assert.equal(d.payload.readUInt32BE(0), i));
    assert.equal(state.sessions[0]?.clientId, 'writer');
    await store.close();
  });
});
