/**
 * A session's topic ids and subscriptions are one row each in the SQLite file (schema version 3):
 * a REGISTER writes one row, not the session's whole list, and a file of version 2 (JSON lists)
 * opens with its lists intact.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import type { PersistedSession } from '../../src/store/session-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-rows-'))));
after(() => rm(dir, { recursive: true, force: true }));

const session = (clientId: string, topics: number): PersistedSession => ({
  clientId,
  transport: 'udp',
  peerKey: '127.0.0.1:1',
  state: 'active',
  cleanSession: false,
  keepAliveSec: 60,
  sleepSec: 0,
  will: undefined,
  subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard' }],
  // Long names, as a device with deep topic trees registers them.
  topics: Array.from({ length: topics }, (_, i) => ({ id: i + 1, name: `site/building/floor/room/${i}/${'x'.repeat(200)}` })),
});

/** WAL frames (pages) written by the writes `fn` makes, once they are committed. */
async function pagesWritten(store: SqliteStore, fn: () => void): Promise<number> {
  await store.flush();
  store.file.db.pragma('wal_checkpoint(TRUNCATE)');
  fn();
  await store.flush();
  const [r] = store.file.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
  return r!.log;
}

describe('SqliteStore: one row per topic id and per subscription', () => {
  it('a REGISTER in a session with 1000 ids writes about as many pages as in a session with 1', async () => {
    const store = SqliteStore.open(join(dir, 'volume.db'));
    try {
      const small = session('small', 1);
      store.saveSession(small);
      const big = session('big', 1000);
      store.saveSession(big);
      await store.flush();

      const name = `site/new/${'y'.repeat(200)}`;
      const forSmall = await pagesWritten(store, () => store.saveSession({ ...small, topics: [...small.topics, { id: 2, name }] }));
      const forBig = await pagesWritten(store, () => store.saveSession({ ...big, topics: [...big.topics, { id: 1001, name }] }));
      // The whole list of 1000 names is ~230 KB (~56 pages of 4 KiB): rewriting it shows as dozens
      // of pages. One row is one leaf page, plus at most an index page and a parent or two.
      assert.ok(forSmall <= 4, `one REGISTER wrote ${forSmall} pages`);
      assert.ok(forBig <= forSmall + 2, `a REGISTER in a session of 1000 ids wrote ${forBig} pages (1 id: ${forSmall})`);

      // A save with nothing new (a PINGREQ's state, a reconnect) writes no page at all.
      const same = await pagesWritten(store, () => store.saveSession({ ...big, topics: [...big.topics, { id: 1001, name }] }));
      assert.equal(same, 0);
    } finally {
      await store.close();
    }
  });

  it('keeps renames, removals and order across a reopen', async () => {
    const path = join(dir, 'order.db');
    let store = SqliteStore.open(path);
    store.saveSession({
      ...session('c', 0),
      topics: [
        { id: 9, name: 'z' },
        { id: 2, name: 'a' },
        { id: 5, name: 'm' },
      ],
      subscriptions: [
        { filter: 'b/#', qos: 1, kind: 'wildcard' },
        { filter: 'a', qos: 0, kind: 'name' },
      ],
    });
    await store.flush();
    store.saveSession({
      ...session('c', 0),
      topics: [
        { id: 9, name: 'z2' },
        { id: 5, name: 'm' },
      ],
      subscriptions: [{ filter: 'b/#', qos: 2, kind: 'wildcard' }],
    });
    await store.close();
    store = SqliteStore.open(path);
    try {
      const [s] = (await store.load()).sessions;
      assert.deepEqual(s?.topics, [
        { id: 9, name: 'z2' },
        { id: 5, name: 'm' },
      ]);
      assert.deepEqual(s?.subscriptions, [{ filter: 'b/#', qos: 2, kind: 'wildcard' }]);
      store.deleteSession('c');
      await store.flush();
      assert.equal((store.file.db.prepare('SELECT count(*) AS n FROM session_topic').get() as { n: number }).n, 0);
      assert.equal((store.file.db.prepare('SELECT count(*) AS n FROM session_subscription').get() as { n: number }).n, 0);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore: a file of schema version 2 (lists as JSON)', () => {
  it('opens with every topic id and subscription in rows, in their order', async () => {
    const path = join(dir, 'v2.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    MIGRATIONS[0]!(old);
    MIGRATIONS[1]!(old);
    old.pragma('user_version = 2');
    old.pragma(`application_id = ${APPLICATION_ID}`);
    const insert = old.prepare(
      `INSERT INTO session (client_id, transport, peer_key, state, clean_session, keep_alive_sec, sleep_sec, will_topic, will_payload, will_qos, will_retain, subscriptions, topics)
       VALUES (?, 'udp', '127.0.0.1:1', 'asleep', 0, 60, 120, ?, ?, ?, ?, ?, ?)`,
    );
    insert.run('node-1', 'dev/lwt', Buffer.from('bye'), 1, 1, '[["cmd/#",1,"wildcard"],["ab",0,"short"]]', '[[7,"dev/ü"],[1,"dev/temp"]]');
    insert.run('node-2', null, null, null, null, '[]', '[]');
    old.prepare("INSERT INTO qos2 (client_id, msg_id) VALUES ('node-1', 42)").run();
    old.close();

    const store = SqliteStore.open(path);
    try {
      assert.equal(store.file.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const state = await store.load();
      const node1: PersistedSession = {
        clientId: 'node-1',
        transport: 'udp',
        peerKey: '127.0.0.1:1',
        state: 'asleep',
        cleanSession: false,
        keepAliveSec: 60,
        sleepSec: 120,
        will: { topic: 'dev/lwt', payload: Buffer.from('bye'), qos: 1, retain: true },
        subscriptions: [
          { filter: 'cmd/#', qos: 1, kind: 'wildcard' },
          { filter: 'ab', qos: 0, kind: 'short' },
        ],
        topics: [
          { id: 7, name: 'dev/ü' },
          { id: 1, name: 'dev/temp' },
        ],
      };
      assert.deepEqual(state.sessions, [node1, { ...node1, clientId: 'node-2', will: undefined, subscriptions: [], topics: [] }]);
      assert.deepEqual(state.qos2.get('node-1'), [42]);
      // The next REGISTER of the upgraded session adds one row beside the migrated ones.
      store.saveSession({ ...state.sessions[0]!, topics: [...state.sessions[0]!.topics, { id: 8, name: 'dev/new' }] });
      await store.flush();
      assert.equal((store.file.db.prepare("SELECT count(*) AS n FROM session_topic WHERE client_id = 'node-1'").get() as { n: number }).n, 3);
    } finally {
      await store.close();
    }
  });
});
