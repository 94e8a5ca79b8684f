/**
 * The store under failure, with a real SQLite file that the test really deletes, replaces,
 * fills, or whose fsync fails: an acknowledgement (PUBACK 0x00, PUBREC) is never given while the
 * store cannot keep the message; the client gets PUBACK 0x01 (congestion: try later, README) and
 * the store says why (what /healthz reports). A lost batch is undone in memory too, so the
 * publisher's retry reaches a sleeping subscriber once, not twice.
 *
 * The gateway core runs on a fake clock with a recording transport (test/gateway/harness.ts);
 * the store's identity check runs on its own fake clock, advanced by the test. The only fake
 * part of the store is the failing fdatasync of the last test: no disk here fails on demand.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, fdatasync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/clock.js';
import { ReturnCode, type Packet } from '../../src/codec/index.js';
import { StoreErrorCode } from '../../src/errors.js';
import { IDENTITY_CHECK_MS, type SqliteFileOptions } from '../../src/store/sqlite-file.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { Harness, type TestClient } from '../gateway/harness.js';
import { until } from '../helpers/wait.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqttsn-storefail-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function setup(options: SqliteFileOptions = {}): Promise<{ h: Harness; store: SqliteStore; path: string; clock: FakeClock; pub: TestClient; topicId: number }> {
  const path = join(dir, `store-${++n}.db`);
  const clock = new FakeClock(0);
  const store = SqliteStore.open(path, { clock, ...options });
  const h = await new Harness({}, store).start();
  // A sleeping subscriber with a kept session: each message must be stored for it before PUBACK.
  const keeper = h.client('udp:keeper');
  await keeper.connect('keeper', { cleanSession: false });
  assert.equal((await keeper.subscribe('data/#', 1)).returnCode, ReturnCode.ACCEPTED);
  keeper.send({ type: 'DISCONNECT', duration: 3600 });
  const pub = h.client('udp:pub');
  await pub.connect('pub');
  const topicId = await pub.register('data/t');
  return { h, store, path, clock, pub, topicId };
}

/** Sends a PUBLISH and waits for its answer (the store's fsync runs off the event loop). */
async function publish(c: TestClient, topicId: number, msgId: number, qos: 1 | 2, payload = 'x', dup = false): Promise<Packet> {
  c.send({ type: 'PUBLISH', dup, qos, retain: false, topicIdType: 'normal', topicId, msgId, payload: Buffer.from(payload) });
  let got: Packet[] = [];
  await until(() => (got = got.concat(c.take())).length > 0, 10_000, 'an answer to the PUBLISH');
  assert.equal(got.length, 1, JSON.stringify(got.map((p) => p.type)));
  return got[0]!;
}

const refused = (p: Packet): boolean => p.type === 'PUBACK' && p.returnCode === ReturnCode.CONGESTION;

describe('store failure: a deleted or replaced file', () => {
  it('a file deleted under the gateway: PUBACK 0x01 from then on, and the store says why', async () => {
    const { h, store, path, pub, topicId } = await setup();
    try {
      const ok = await publish(pub, topicId, 1, 1);
      assert.ok(ok.type === 'PUBACK' && ok.returnCode === ReturnCode.ACCEPTED);
      unlinkSync(path);
      // No timer has run: the check before the acknowledgement catches it.
      const answer = await publish(pub, topicId, 2, 1);
      assert.ok(refused(answer), `got ${JSON.stringify(answer)}`);
      const health = store.health();
      assert.equal(health.ok, false);
      assert.equal(health.code, StoreErrorCode.GONE);
      assert.match(health.problem ?? '', /was deleted/);
      // Not a passing hiccup: it stays so until a restart.
      assert.ok(refused(await publish(pub, topicId, 3, 1)));
    } finally {
      await h.gateway.stop();
      await store.close();
    }
  });

  it('an idle store notices on its clock, before anyone publishes', async () => {
    const { h, store, path, clock } = await setup();
    try {
      unlinkSync(`${path}-wal`);
      assert.equal(store.health().ok, true, 'not checked yet');
      clock.advance(IDENTITY_CHECK_MS);
      assert.equal(store.health().code, StoreErrorCode.GONE);
      assert.match(store.health().problem ?? '', /-wal was deleted/);
    } finally {
      await h.gateway.stop();
      await store.close();
    }
  });

  it('a file replaced by another (a restore from backup over the running one): PUBACK 0x01', async () => {
    const { h, store, path, pub, topicId } = await setup();
    try {
      copyFileSync(path, `${path}.copy`);
      renameSync(`${path}.copy`, path);
      assert.ok(refused(await publish(pub, topicId, 1, 1)));
      assert.match(store.health().problem ?? '', /was replaced by another file/);
    } finally {
      await h.gateway.stop();
      await store.close();
    }
  });
});

describe('store failure: full, and a lost batch undone in memory', () => {
  it('a full store refuses with 0x01 and keeps no copy in memory; the retry is delivered once; acknowledgements resume', async () => {
    const { h, store, pub, topicId, clock } = await setup();
    try {
      const sleepy = h.client('udp:sleepy');
      await sleepy.connect('sleepy', { cleanSession: false });
      assert.equal((await sleepy.subscribe('data/t', 2)).returnCode, ReturnCode.ACCEPTED);
      sleepy.send({ type: 'DISCONNECT', duration: 600 });
      sleepy.take();
      const session = h.gateway.sessions.get('sleepy')!;
      assert.equal(session.state, 'asleep');

      // The database may not grow: a real SQLITE_FULL, as on a full disk.
      const pages = store.file.db.pragma('page_count', { simple: true }) as number;
      store.file.db.pragma(`max_page_count = ${pages}`);
      let accepted = 0;
      let refusedId = 0;
      for (let msgId = 1; msgId <= 200 && refusedId === 0; msgId++) {
        const answer = await publish(pub, topicId, msgId, 2, `m${msgId}:${'p'.repeat(600)}`);
        if (answer.type === 'PUBREC') {
          pub.send({ type: 'PUBREL', msgId });
          await until(() => pub.take().some((p) => p.type === 'PUBCOMP'), 10_000, 'PUBCOMP');
          accepted++;
        } else {
          assert.ok(refused(answer), `got ${JSON.stringify(answer)}`);
          refusedId = msgId;
        }
      }
      assert.ok(refusedId > 0, 'the store filled up within 200 messages');
      assert.equal(store.health().ok, false);
      assert.match(store.health().problem ?? '', /full/);
      assert.equal(session.queue.length, accepted, 'the refused message is not kept in memory for the sleeper');
      assert.equal(session.qos2Received.has(refusedId), false, 'nor its QoS 2 id');

      // Room again; the client sends the refused message again: accepted, and the store is healthy.
      store.file.db.pragma('max_page_count = 1073741823');
      const retry = await publish(pub, topicId, refusedId, 2, `m${refusedId}:${'p'.repeat(600)}`, true);
      assert.equal(retry.type, 'PUBREC');
      pub.send({ type: 'PUBREL', msgId: refusedId });
      await until(() => pub.take().some((p) => p.type === 'PUBCOMP'), 10_000, 'PUBCOMP');
      // Healthy again once the store's own probe, on its clock, went through.
      clock.advance(IDENTITY_CHECK_MS);
      await until(() => store.health().ok, 10_000, 'the store healthy again');

      // The sleeper wakes and takes everything: the refused-then-retried message exactly once.
      sleepy.send({ type: 'PINGREQ', clientId: 'sleepy' });
      const copies: string[] = [];
      for (let guard = 0; guard < 400; guard++) {
        const got = sleepy.take();
        for (const p of got) {
          if (p.type === 'PUBLISH') {
            copies.push(p.payload.toString().split(':')[0]!);
            sleepy.send({ type: 'PUBREC', msgId: p.msgId });
          } else if (p.type === 'PUBREL') {
            sleepy.send({ type: 'PUBCOMP', msgId: p.msgId });
          }
        }
        if (got.some((p) => p.type === 'PINGRESP')) break;
        await h.advance(1);
      }
      assert.equal(copies.filter((c) => c === `m${refusedId}`).length, 1, `copies: ${copies.join(',')}`);
      assert.equal(copies.length, accepted + 1);
    } finally {
      await h.gateway.stop();
      await store.close();
    }
  });
});

describe('store failure: fsync', () => {
  it('one failed fsync stops acknowledgements for good (a later fsync that succeeds proves nothing)', async () => {
    let failing = false;
    const sync: SqliteFileOptions['fdatasync'] = (fd, cb) => {
      if (failing) queueMicrotask(() => cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
      else fdatasync(fd, cb);
    };
    const { h, store, pub, topicId } = await setup({ fdatasync: sync });
    try {
      assert.equal((await publish(pub, topicId, 1, 1)).type, 'PUBACK');
      failing = true;
      assert.ok(refused(await publish(pub, topicId, 2, 1)));
      failing = false;
      assert.ok(refused(await publish(pub, topicId, 3, 1)), 'still refused after the disk seems well again');
      assert.equal(store.health().code, StoreErrorCode.SYNC_FAILED);
    } finally {
      await h.gateway.stop();
      await store.close().catch(() => undefined);
    }
  });
});
