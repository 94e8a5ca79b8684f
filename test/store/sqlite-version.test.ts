/**
 * Schema version 4 keeps a session's MQTT-SN version and its 2.0 state. A file of version 3 (the
 * schema before it, written by the gateway of the previous release) opens with every session as
 * 1.2, as they were, and then takes 2.0 sessions beside them.
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
before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-version-'))));
after(() => rm(dir, { recursive: true, force: true }));

/** A file as the gateway before schema version 4 left it: version 3, a sleeper and an absent client with their rows. */
function oldFile(path: string): void {
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  for (const step of MIGRATIONS.slice(0, 3)) step(old);
  old.pragma('user_version = 3');
  old.pragma(`application_id = ${APPLICATION_ID}`);
  const insert = old.prepare(
    `INSERT INTO session (client_id, transport, peer_key, state, clean_session, keep_alive_sec, sleep_sec, will_topic, will_payload, will_qos, will_retain)
     VALUES (?, 'udp', ?, ?, 0, 60, ?, NULL, NULL, NULL, NULL)`,
  );
  insert.run('sleeper', '127.0.0.1:1', 'asleep', 300);
  insert.run('away', '127.0.0.1:2', 'disconnected', 0);
  old.prepare("INSERT INTO session_subscription (client_id, filter, qos, kind) VALUES ('sleeper', 'cmd/#', 1, 'wildcard')").run();
  old.prepare("INSERT INTO session_topic (client_id, topic_id, name) VALUES ('sleeper', 1, 'dev/temp')").run();
  old.prepare("INSERT INTO delivery (seq, client_id, topic, payload, qos, retain) VALUES (5, 'sleeper', 'cmd/x', x'6869', 1, 0)").run();
  old.prepare("INSERT INTO counter (name, next) VALUES ('seq', 6)").run();
  old.close();
}

describe('SqliteStore: a file of schema version 3 (before sessions had a version)', () => {
  it('opens with every session as the 1.2 session it was, its queue kept, and takes 2.0 sessions after', async () => {
    const path = join(dir, 'v3.db');
    oldFile(path);
    let store = SqliteStore.open(path);
    try {
      assert.equal(store.file.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const state = await store.load();
      const base = { transport: 'udp', cleanSession: false, keepAliveSec: 60, will: undefined };
      const sleeper: PersistedSession = {
        ...base,
        clientId: 'sleeper',
        peerKey: '127.0.0.1:1',
        state: 'asleep',
        sleepSec: 300,
        subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard' }],
        topics: [{ id: 1, name: 'dev/temp' }],
      };
      // No `v2`: 1.2. No `silentSince`: the old file never said when `away` was last heard.
      const away: PersistedSession = { ...base, clientId: 'away', peerKey: '127.0.0.1:2', state: 'disconnected', sleepSec: 0, subscriptions: [], topics: [] };
      assert.deepEqual(state.sessions, [away, sleeper]);
      assert.deepEqual(state.queues.get('sleeper')?.map((d) => [d.seq, d.payload.toString()]), [[5, 'hi']]);

      // The upgraded file keeps a 2.0 session, and the old session turned 2.0 by a 2.0 CONNECT.
      const v2 = { sessionExpirySec: 0xffffffff, awakeLimit: 2, maxPacketSize: 128, allowAddressChange: true };
      store.saveSession({ ...sleeper, v2, subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard', noLocal: true }] });
      store.saveSession({ ...away, clientId: 'new', v2: { ...v2, sessionExpirySec: 10 }, silentSince: 1_796_000_000_000 });
      await store.close();
      store = SqliteStore.open(path);
      const again = await store.load();
      assert.deepEqual(again.sessions, [
        away,
        { ...away, clientId: 'new', v2: { ...v2, sessionExpirySec: 10 }, silentSince: 1_796_000_000_000 },
        { ...sleeper, v2, subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard', noLocal: true }] },
      ]);
    } finally {
      await store.close();
    }
  });

  it('a save that changes nothing writes nothing, also with the 2.0 columns', async () => {
    const store = SqliteStore.open(join(dir, 'same.db'));
    try {
      const s: PersistedSession = {
        clientId: 'c',
        transport: 'udp',
        peerKey: '127.0.0.1:1',
        state: 'disconnected',
        cleanSession: false,
        keepAliveSec: 60,
        sleepSec: 0,
        will: undefined,
        v2: { sessionExpirySec: 3600, awakeLimit: undefined, maxPacketSize: 0, allowAddressChange: false },
        silentSince: 1_796_000_000_000,
        subscriptions: [{ filter: 'a', qos: 1, kind: 'name', retainAsPublished: true }],
        topics: [],
      };
      store.saveSession(s);
      await store.flush();
      store.file.db.pragma('wal_checkpoint(TRUNCATE)');
      store.saveSession({ ...s, subscriptions: [{ ...s.subscriptions[0]! }], v2: { ...s.v2! } });
      await store.flush();
      const [r] = store.file.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
      assert.equal(r!.log, 0);
    } finally {
      await store.close();
    }
  });
});
