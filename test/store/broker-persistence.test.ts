/**
 * The local broker core's persistences against aedes-persistence's abstract suite (the contract
 * aedes relies on), the SQLite one on a real file per test and the memory one the `memory` store
 * uses; then what only the SQLite one promises: everything comes back from the file after it was
 * closed without a goodbye, and its writes join the store's batch, so one `flush()` covers them.
 */
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import abstractPersistence from 'aedes-persistence/abstract.js';
import MemoryPersistence, { type StoredPacket } from 'aedes-persistence/asyncPersistence.js';
import { SqliteBrokerPersistence } from '../../src/store/sqlite-broker-persistence.js';
import { SqliteFile } from '../../src/store/sqlite-file.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'broker-persistence-'));
const files: SqliteFile[] = [];
let n = 0;
const openFile = (name = `abstract-${n++}.db`): SqliteFile => {
  const f = SqliteFile.open(join(dir, name), { check: false });
  files.push(f);
  return f;
};

after(async () => {
  await Promise.allSettled(files.map((f) => f.close()));
  rmSync(dir, { recursive: true, force: true });
});

const named = (prefix: string) => (name: string, fn: unknown) => (test as (name: string, fn: unknown) => unknown)(`${prefix}: ${name}`, fn);

abstractPersistence({ test: named('sqlite'), persistence: () => new SqliteBrokerPersistence(openFile()), testAsync: true });
abstractPersistence({ test: named('memory'), persistence: () => new MemoryPersistence(), testAsync: true });

const collect = async (s: AsyncIterable<unknown>): Promise<StoredPacket[]> => {
  const out: StoredPacket[] = [];
  for await (const x of s) out.push(x as StoredPacket);
  return out;
};

const fakeBroker = (id: string) => ({ id, counter: 0 });

describe('SqliteBrokerPersistence: what the file keeps', () => {
  it('gives back subscriptions, queues (with ids and a PUBREL), QoS 2 ids and wills after a reopen, and nothing of what was removed', async () => {
    const path = 'reopen.db';
    const file = openFile(path);
    const p = new SqliteBrokerPersistence(file);
    await p.setup(fakeBroker('before'));
    const dash = { id: 'dash' };
    await p.addSubscriptions(dash, [
      { topic: 'sensors/#', qos: 1, rh: 0, rap: false, nl: false },
      { topic: 'cmd/+', qos: 2, rh: 0, rap: false, nl: false },
      { topic: 'gone', qos: 1 },
      { topic: 'zero', qos: 0 },
    ]);
    await p.removeSubscriptions(dash, ['gone']);
    await p.addSubscriptions({ id: 'other' }, [{ topic: 'sensors/#', qos: 1 }]);
    await p.cleanSubscriptions({ id: 'other' });
    const pub = (i: number, qos: 1 | 2): StoredPacket => new MemoryPersistence.Packet({ cmd: 'publish', topic: `sensors/${i}`, payload: Buffer.from(`m${i}`), qos, retain: false, dup: false }, p.broker);
    const subs = await p.subscriptionsByTopic('sensors/1');
    assert.deepEqual(subs.map((s) => s.clientId), ['dash']);
    for (let i = 0; i < 5; i++) await p.outgoingEnqueueCombi(subs, pub(i, i === 3 ? 2 : 1));
    const queued = await collect(p.outgoingStream(dash));
    // Sent: #0 acknowledged, #1 in flight, #3 (QoS 2) got PUBREC, so a PUBREL stands in its place.
    for (const [i, id] of [[0, 10], [1, 11], [3, 13]] as const) await p.outgoingUpdate(dash, { ...queued[i]!, messageId: id });
    await p.outgoingClearMessageId(dash, { cmd: 'puback', messageId: 10 });
    await p.outgoingUpdate(dash, { cmd: 'pubrel', messageId: 13 });
    await p.incomingStorePacket(dash, { cmd: 'publish', topic: 'up', payload: Buffer.from('q2'), qos: 2, retain: false, dup: false, messageId: 7 });
    await p.incomingStorePacket(dash, { cmd: 'publish', topic: 'up', payload: Buffer.from('q2b'), qos: 2, retain: false, dup: false, messageId: 8 });
    await p.incomingDelPacket(dash, { messageId: 8 });
    await p.putWill(dash, { cmd: 'publish', topic: 'dash/status', payload: Buffer.from('gone'), qos: 1, retain: true });
    await p.putWill({ id: 'w2' }, { cmd: 'publish', topic: 'w2/status', payload: Buffer.from('x'), qos: 0, retain: false });
    await p.delWill({ id: 'w2' });
    // The SIGKILL of the whole process is test/durability/broker-kill.test.ts; here the file is closed.
    await file.close();
    files.splice(files.indexOf(file), 1);

    const again = openFile(path);
    const q = new SqliteBrokerPersistence(again);
    await q.setup(fakeBroker('after'));
    assert.deepEqual(await q.subscriptionsByClient(dash), [
      { topic: 'sensors/#', qos: 1, rh: 0, rap: false, nl: false },
      { topic: 'cmd/+', qos: 2, rh: 0, rap: false, nl: false },
      { topic: 'zero', qos: 0, rh: undefined, rap: undefined, nl: undefined },
    ]);
    assert.deepEqual((await q.subscriptionsByTopic('sensors/9')).map((s) => s.clientId), ['dash'], 'the topic match works from the file');
    assert.deepEqual(await q.countOffline(), { subsCount: 2, clientsCount: 1 });
    const restored = await collect(q.outgoingStream(dash));
    assert.deepEqual(
      restored.map((x) => [x.cmd, x.topic, x.messageId, x.payload === undefined ? undefined : Buffer.from(x.payload).toString()]),
      [
        ['publish', 'sensors/1', 11, 'm1'],
        ['publish', 'sensors/2', undefined, 'm2'],
        ['pubrel', undefined, 13, undefined],
        ['publish', 'sensors/4', undefined, 'm4'],
      ],
    );
    assert.equal(restored[0]!.brokerId, 'before', 'a restored packet keeps the id of the broker that queued it');
    assert.equal((await q.incomingGetPacket(dash, { messageId: 7 })).payload?.toString(), 'q2');
    await assert.rejects(q.incomingGetPacket(dash, { messageId: 8 }));
    const wills = await collect(q.streamWill({ after: Date.now() }));
    assert.deepEqual(wills.map((w) => [w.clientId, w.topic, w.brokerId, w.retain]), [['dash', 'dash/status', 'before', true]], 'a will of the broker before the crash is due');
    // A queue emptied in the new life stays empty in the next.
    for (const x of restored) if (x.messageId !== undefined) await q.outgoingClearMessageId(dash, x);
    await q.outgoingUpdate(dash, { ...restored[1]!, messageId: 1 });
    await q.outgoingClearMessageId(dash, { cmd: 'puback', messageId: 1 });
    await again.close();
    files.splice(files.indexOf(again), 1);
    const third = openFile(path);
    const r = new SqliteBrokerPersistence(third);
    await r.setup(fakeBroker('third'));
    assert.deepEqual((await collect(r.outgoingStream(dash))).map((x) => x.topic), ['sensors/4']);
  });

  it('writes into the batch that is open, so a flush after the call covers it', async () => {
    const file = openFile();
    const p = new SqliteBrokerPersistence(file);
    await p.setup(fakeBroker('b'));
    const commits = file.stats.commits;
    await p.outgoingEnqueue({ clientId: 'c' }, { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
    assert.equal(file.stats.commits, commits, 'not committed on its own');
    await file.flush();
    assert.equal(file.stats.commits, commits + 1);
    assert.equal((file.db.prepare('SELECT count(*) AS n FROM broker_outgoing').get() as { n: number }).n, 1);
  });
});

describe('SqliteStore: a file of schema version 1 (before the broker sessions)', () => {
  it('opens, keeps what it held, and gains the broker tables', async () => {
    const path = join(dir, 'v1.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    MIGRATIONS[0]!(old);
    old.pragma('user_version = 1');
    old.pragma(`application_id = ${APPLICATION_ID}`);
    old
      .prepare(
        `INSERT INTO session (client_id, transport, peer_key, state, clean_session, keep_alive_sec, sleep_sec, subscriptions, topics)
         VALUES ('node-1', 'udp', '127.0.0.1:1', 'asleep', 0, 60, 120, '[["a/b",1,"name"]]', '[[1,"a/b"]]')`,
      )
      .run();
    old.prepare("INSERT INTO retained (topic, payload, qos) VALUES ('site/state', x'6f6b', 1)").run();
    old.close();

    const store = SqliteStore.open(path);
    try {
      assert.equal(store.file.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const state = await store.load();
      assert.deepEqual(state.sessions.map((x) => [x.clientId, x.state, x.subscriptions]), [['node-1', 'asleep', [{ filter: 'a/b', qos: 1, kind: 'name' }]]]);
      assert.deepEqual(state.retained, [{ topic: 'site/state', payload: Buffer.from('ok'), qos: 1 }]);
      const p = new SqliteBrokerPersistence(store.file);
      await p.setup(fakeBroker('b'));
      await p.addSubscriptions({ id: 'dash' }, [{ topic: 'x', qos: 1 }]);
      await store.flush();
      assert.equal((store.file.db.prepare('SELECT count(*) AS n FROM broker_subscription').get() as { n: number }).n, 1);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteBrokerPersistence: clean sessions cost no write', () => {
  it('a clean-session CONNECT of a client with nothing kept writes nothing', async () => {
    const file = openFile();
    const p = new SqliteBrokerPersistence(file);
    await p.setup(fakeBroker('b'));
    await file.flush();
    const commits = file.stats.commits;
    // What aedes does at a clean-session CONNECT.
    await p.cleanSubscriptions({ id: 'app' });
    await p.cleanIncoming({ id: 'app' });
    await p.delWill({ id: 'app' });
    await file.flush();
    assert.equal(file.stats.commits, commits);
  });
});

describe('SqliteBrokerPersistence: QoS 2 toward a client waits for the disk', () => {
  it('resolves the update of a QoS 2 PUBLISH or its PUBREL only once durable; QoS 1 does not wait', async () => {
    const file = openFile();
    const p = new SqliteBrokerPersistence(file);
    await p.setup(fakeBroker('b'));
    const dash = { id: 'dash' };
    const q = (qos: 1 | 2, n: number): StoredPacket => new MemoryPersistence.Packet({ cmd: 'publish', topic: 't', payload: Buffer.from(`${n}`), qos, retain: false }, p.broker);
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], q(1, 1));
    await p.outgoingEnqueueCombi([{ clientId: 'dash' }], q(2, 2));
    await file.flush();
    const [one, two] = await collect(p.outgoingStream(dash));

    await p.outgoingUpdate(dash, { ...one!, messageId: 1 });
    assert.equal(file.db.inTransaction, true, 'QoS 1: aedes may send at once, the batch commits with the turn');
    await file.flush();

    for (const update of [{ ...two!, messageId: 2 }, { cmd: 'pubrel', messageId: 2 }]) {
      const syncs = file.stats.syncs;
      await p.outgoingUpdate(dash, update);
      // aedes sends the PUBLISH (or PUBREL) right after this resolves: it must be on the disk.
      assert.equal(file.db.inTransaction, false, `${update.cmd}: committed before aedes sends it`);
      assert.ok(file.stats.syncs > syncs, `${update.cmd}: synced before aedes sends it`);
    }
  });
});
