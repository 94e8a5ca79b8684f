/**
 * What every `SessionStore` must do, memory and SQLite alike: keep what it is given and give it
 * back from `load()`, sessions apart from their queues and QoS 2 ids, seqs that only grow, retained
 * messages set and cleared. A durable implementation also passes the `reopen` cases: what `load()`
 * returns after the store was closed and opened again on the same storage.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistedDelivery, PersistedSession, SessionStore, StoredState } from '../../src/store/session-store.js';

export interface SessionStoreFactory {
  /** A new, empty store. */
  open: () => SessionStore | Promise<SessionStore>;
  /** Closes `store` and opens the same storage again (durable implementations only). */
  reopen?: (store: SessionStore) => Promise<SessionStore>;
  /** Removes whatever `open` created on disk. */
  cleanup?: () => Promise<void>;
}

const session = (clientId: string, extra: Partial<PersistedSession> = {}): PersistedSession => ({
  clientId,
  transport: 'udp:127.0.0.1:1884',
  peerKey: '127.0.0.1:50000',
  state: 'active',
  cleanSession: false,
  keepAliveSec: 60,
  sleepSec: 0,
  will: undefined,
  subscriptions: [],
  topics: [],
  ...extra,
});

const full = (clientId: string): PersistedSession =>
  session(clientId, {
    state: 'asleep',
    keepAliveSec: 30,
    sleepSec: 600,
    will: { topic: 'dev/ü/lwt', payload: Buffer.from([0, 1, 254, 255]), qos: 2, retain: true },
    subscriptions: [
      { filter: 'cmd/#', qos: 1, kind: 'wildcard' },
      { filter: 'ab', qos: 0, kind: 'short' },
      { filter: 'cmd/x', qos: 2, kind: 'name' },
      { filter: 'boot', qos: 1, kind: 'predefined' },
    ],
    topics: [
      { id: 1, name: 'dev/temp' },
      { id: 7, name: 'dev/ü' },
    ],
  });

/** A 2.0 session (MQTT-SN 2.0 [3.1]) with every 2.0 field that is kept, absent and waiting for its client. */
const full20 = (clientId: string, sessionExpirySec = 0xffffffff): PersistedSession =>
  session(clientId, {
    state: 'disconnected',
    v2: { sessionExpirySec, awakeLimit: 3, maxPacketSize: 256, allowAddressChange: true },
    silentSince: 1_796_000_000_123,
    subscriptions: [
      { filter: 'cmd/#', qos: 1, kind: 'wildcard', noLocal: true },
      { filter: 'cmd/x', qos: 2, kind: 'name', retainAsPublished: true },
      { filter: 'both', qos: 0, kind: 'name', noLocal: true, retainAsPublished: true },
      { filter: 'plain', qos: 1, kind: 'name' },
    ],
    topics: [{ id: 1, name: 'dev/temp' }],
  });

const msg = (topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 1, retain = false): Omit<PersistedDelivery, 'seq' | 'sent'> => ({
  topic,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  qos,
  retain,
});

/** Comparable form of a client's queue. */
const queueOf = (state: StoredState, clientId: string): Array<[string, string, number, boolean, string]> =>
  (state.queues.get(clientId) ?? []).map((d) => [d.topic, d.payload.toString('hex'), d.qos, d.retain, d.sent === undefined ? '-' : `${d.sent.msgId}:${d.sent.stage}`]);

const byId = (sessions: PersistedSession[]): PersistedSession[] => [...sessions].sort((a, b) => (a.clientId < b.clientId ? -1 : 1));

/** Buffers compared by content, whatever their pool or subclass. */
function normal(s: PersistedSession): unknown {
  return { ...s, will: s.will === undefined ? undefined : { ...s.will, payload: s.will.payload.toString('hex') } };
}

export function sessionStoreConformance(name: string, factory: SessionStoreFactory): void {
  describe(`SessionStore conformance: ${name}`, () => {
    const live: SessionStore[] = [];
    const open = async (): Promise<SessionStore> => {
      const s = await factory.open();
      live.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of live.splice(0)) await s.close();
      await factory.cleanup?.();
    });

    it('starts empty', async () => {
      const store = await open();
      const state = await store.load();
      assert.deepEqual(state.sessions, []);
      assert.equal(state.queues.size, 0);
      assert.equal(state.qos2.size, 0);
      assert.deepEqual(state.retained, []);
    });

    it('gives back a session record with every field, absent ones absent', async () => {
      const store = await open();
      const a = full('sensor-ä');
      const b = session('bare', { transport: undefined, peerKey: undefined, state: 'disconnected' });
      store.saveSession(a);
      store.saveSession(b);
      const got = byId((await store.load()).sessions);
      assert.deepEqual(got.map(normal), [normal(b), normal(a)]);
      assert.ok(Buffer.isBuffer(got[1]!.will!.payload));
      assert.equal(got[0]!.will, undefined);
    });

    it('gives back a 2.0 session with its version, expiry, CONNECT agreements and subscription options; a 1.2 one has none', async () => {
      const store = await open();
      const forever = full20('v2-forever');
      const short = full20('v2-short', 30);
      // Default Awake Messages 0 in CONNECT: all messages per wake (undefined).
      const noLimit = session('v2-sleeper', { state: 'asleep', sleepSec: 60, v2: { sessionExpirySec: 0, awakeLimit: undefined, maxPacketSize: 0, allowAddressChange: false } });
      const old = session('v1-2', { state: 'lost', silentSince: 1_796_000_000_000 });
      for (const x of [forever, short, noLimit, old]) store.saveSession(x);
      const got = byId((await store.load()).sessions);
      assert.deepEqual(got.map(normal), [normal(old), normal(forever), normal(short), normal(noLimit)]);
      assert.equal(got[0]!.v2, undefined);
      assert.equal(got[1]!.v2?.sessionExpirySec, 0xffffffff);
    });

    it('a session saved again with another version, expiry or options has the new ones', async () => {
      const store = await open();
      store.saveSession(full20('dev'));
      // The same client id CONNECTs in 1.2 (a new session), later 2.0 again with other agreements.
      store.saveSession(session('dev', { state: 'active', subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard' }] }));
      assert.deepEqual((await store.load()).sessions.map(normal), [normal(session('dev', { state: 'active', subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard' }] }))]);
      const again = session('dev', {
        v2: { sessionExpirySec: 5, awakeLimit: undefined, maxPacketSize: 0, allowAddressChange: false },
        subscriptions: [{ filter: 'cmd/#', qos: 1, kind: 'wildcard', retainAsPublished: true }],
      });
      store.saveSession(again);
      assert.deepEqual((await store.load()).sessions.map(normal), [normal(again)]);
    });

    it('keeps its own copy: changing the object after saving changes nothing', async () => {
      const store = await open();
      const s = full('dev');
      store.saveSession(s);
      s.subscriptions.push({ filter: 'late', qos: 0, kind: 'name' });
      s.topics.length = 0;
      const got = (await store.load()).sessions[0]!;
      assert.equal(got.subscriptions.length, 4);
      assert.equal(got.topics.length, 2);
    });

    it('replaces a session record and keeps its queue and QoS 2 ids apart', async () => {
      const store = await open();
      store.saveSession(full('dev'));
      store.enqueue('dev', msg('cmd/x', 'one'));
      store.addQos2('dev', 9);
      store.saveSession(session('dev', { state: 'lost', cleanSession: false, topics: [{ id: 3, name: 'z' }] }));
      const state = await store.load();
      assert.equal(state.sessions.length, 1);
      assert.deepEqual(normal(state.sessions[0]!), normal(session('dev', { state: 'lost', topics: [{ id: 3, name: 'z' }] })));
      assert.deepEqual(queueOf(state, 'dev'), [['cmd/x', Buffer.from('one').toString('hex'), 1, false, '-']]);
      assert.deepEqual(state.qos2.get('dev'), [9]);
    });

    it('forgets a session with its queue and QoS 2 ids, and nobody else', async () => {
      const store = await open();
      for (const id of ['a', 'b']) {
        store.saveSession(session(id));
        store.enqueue(id, msg('t', id));
        store.addQos2(id, 1);
      }
      store.deleteSession('a');
      store.deleteSession('never-was');
      const state = await store.load();
      assert.deepEqual(state.sessions.map((s) => s.clientId), ['b']);
      assert.equal(state.queues.has('a'), false);
      assert.equal(state.qos2.has('a'), false);
      assert.deepEqual(queueOf(state, 'b').map((d) => d[1]), [Buffer.from('b').toString('hex')]);
      assert.deepEqual(state.qos2.get('b'), [1]);
    });

    it('queues per client, oldest first, every field kept; seqs grow across clients', async () => {
      const store = await open();
      const binary = Buffer.from([0, 255, 10, 13]);
      const seqs = [
        store.enqueue('a', msg('t/1', 'one', 1, false)),
        store.enqueue('b', msg('t/ü', binary, 2, true)),
        store.enqueue('a', msg('t/3', '', 0, false)),
        store.enqueue('a', msg('t/4', Buffer.alloc(300, 7), 2, true)),
      ];
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `seq ${seqs[i]} after ${seqs[i - 1]}`);
      assert.ok(seqs[0]! > 0);
      const state = await store.load();
      assert.deepEqual(queueOf(state, 'a'), [
        ['t/1', Buffer.from('one').toString('hex'), 1, false, '-'],
        ['t/3', '', 0, false, '-'],
        ['t/4', Buffer.alloc(300, 7).toString('hex'), 2, true, '-'],
      ]);
      assert.deepEqual(state.queues.get('a')!.map((d) => d.seq), [seqs[0], seqs[2], seqs[3]]);
      assert.deepEqual(queueOf(state, 'b'), [['t/ü', binary.toString('hex'), 2, true, '-']]);
      assert.ok(state.queues.get('a')!.every((d) => Buffer.isBuffer(d.payload)));
    });

    it('records how far a delivery got, and moves it on', async () => {
      const store = await open();
      const s1 = store.enqueue('a', msg('t', '1', 2));
      const s2 = store.enqueue('a', msg('t', '2', 1));
      store.markSent('a', s1, { msgId: 17, stage: 'pubrec' });
      store.markSent('a', s2, { msgId: 18, stage: 'puback' });
      store.markSent('a', s1, { msgId: 17, stage: 'pubcomp' });
      store.markSent('a', s2 + 1000, { msgId: 1, stage: 'puback' }); // no such entry: nothing happens
      store.markSent('b', s2, { msgId: 2, stage: 'puback' }); // another client's seq: nothing happens
      const state = await store.load();
      assert.deepEqual(queueOf(state, 'a').map((d) => d[4]), ['17:pubcomp', '18:puback']);
      assert.equal(state.queues.has('b'), false);
    });

    it('dequeues wherever the entry is; a client whose queue ran empty has no entry', async () => {
      const store = await open();
      const seqs = [1, 2, 3].map((i) => store.enqueue('a', msg('t', String(i))));
      const other = store.enqueue('b', msg('t', 'b'));
      store.dequeue('a', seqs[1]!);
      store.dequeue('a', seqs[1]!); // twice: nothing more happens
      store.dequeue('a', other); // not a's: b keeps it
      assert.deepEqual(queueOf(await store.load(), 'a').map((d) => d[1]), ['31', '33']);
      store.dequeue('a', seqs[0]!);
      store.dequeue('a', seqs[2]!);
      const state = await store.load();
      assert.equal(state.queues.has('a'), false);
      assert.equal(state.queues.get('b')?.length, 1);
    });

    it('keeps QoS 2 ids per client, once each, until removed', async () => {
      const store = await open();
      store.addQos2('a', 5);
      store.addQos2('a', 65535);
      store.addQos2('a', 5);
      store.addQos2('b', 5);
      store.removeQos2('a', 7);
      store.removeQos2('c', 1);
      let state = await store.load();
      assert.deepEqual([...state.qos2.get('a')!].sort((x, y) => x - y), [5, 65535]);
      assert.deepEqual(state.qos2.get('b'), [5]);
      store.removeQos2('a', 5);
      store.removeQos2('a', 65535);
      state = await store.load();
      assert.equal(state.qos2.has('a'), false);
      assert.deepEqual(state.qos2.get('b'), [5]);
    });

    it('sets, replaces and clears retained messages', async () => {
      const store = await open();
      store.setRetained({ topic: 'r/1', payload: Buffer.from('a'), qos: 1 });
      store.setRetained({ topic: 'r/2', payload: Buffer.from([0, 255]), qos: 0 });
      store.setRetained({ topic: 'r/1', payload: Buffer.from('b'), qos: 2 });
      store.setRetained({ topic: 'r/2', payload: Buffer.alloc(0), qos: 0 });
      store.setRetained({ topic: 'r/never', payload: Buffer.alloc(0), qos: 0 });
      const { retained } = await store.load();
      assert.deepEqual(
        retained.map((r) => [r.topic, r.payload.toString(), r.qos]),
        [['r/1', 'b', 2]],
      );
    });

    it('flush resolves, also with nothing to write, and also after many writes at once', async () => {
      const store = await open();
      await store.flush();
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < 500; i++) {
        store.enqueue(`c${i % 7}`, msg('t', String(i)));
        if (i % 50 === 0) pending.push(store.flush());
      }
      await Promise.all(pending);
      await store.flush();
      const state = await store.load();
      assert.equal([...state.queues.values()].reduce((n, q) => n + q.length, 0), 500);
    });

    if (factory.reopen !== undefined) {
      const reopen = async (store: SessionStore): Promise<SessionStore> => {
        const again = await factory.reopen!(store);
        live.splice(live.indexOf(store), 1, again);
        return again;
      };

      it('after a reopen, load() gives back every session, queue, QoS 2 id and retained message', async () => {
        const store = await open();
        store.saveSession(full('sleepy'));
        store.saveSession(session('plain', { will: { topic: 'w', payload: Buffer.alloc(0), qos: 0, retain: false } }));
        const s1 = store.enqueue('sleepy', msg('cmd/x', 'first', 1));
        const s2 = store.enqueue('sleepy', msg('cmd/y', Buffer.from([1, 2, 3]), 2, true));
        store.enqueue('sleepy', msg('cmd/z', 'third', 0));
        store.markSent('sleepy', s1, { msgId: 40, stage: 'puback' });
        store.markSent('sleepy', s2, { msgId: 41, stage: 'pubcomp' });
        store.addQos2('plain', 300);
        store.setRetained({ topic: 'site/mode', payload: Buffer.from('eco'), qos: 1 });
        await store.flush();
        const before = await store.load();
        const after = await (await reopen(store)).load();
        assert.deepEqual(byId(after.sessions).map(normal), byId(before.sessions).map(normal));
        assert.deepEqual(queueOf(after, 'sleepy'), queueOf(before, 'sleepy'));
        assert.deepEqual(after.queues.get('sleepy')!.map((d) => d.seq), before.queues.get('sleepy')!.map((d) => d.seq));
        assert.deepEqual(after.qos2.get('plain'), [300]);
        assert.deepEqual(after.retained.map((r) => [r.topic, r.payload.toString(), r.qos]), [['site/mode', 'eco', 1]]);
        const plain = after.sessions.find((s) => s.clientId === 'plain')!;
        assert.equal(plain.will?.payload.length, 0);
      });

      it('after a reopen, a 2.0 session is still 2.0 with everything it agreed', async () => {
        const store = await open();
        store.saveSession(full20('v2', 120));
        store.saveSession(session('v1'));
        await store.flush();
        const before = await store.load();
        const after = await (await reopen(store)).load();
        assert.deepEqual(byId(after.sessions).map(normal), byId(before.sessions).map(normal));
        assert.deepEqual(byId(after.sessions).map(normal), [normal(session('v1')), normal(full20('v2', 120))]);
      });

      it('close() keeps what was written without a flush', async () => {
        const store = await open();
        store.saveSession(session('quick'));
        store.enqueue('quick', msg('t', 'x'));
        const state = await (await reopen(store)).load();
        assert.deepEqual(state.sessions.map((s) => s.clientId), ['quick']);
        assert.equal(state.queues.get('quick')?.length, 1);
      });

      it('never hands out a seq twice, also across a reopen after the newest entry went', async () => {
        const store = await open();
        const seqs = [1, 2, 3].map((i) => store.enqueue('a', msg('t', String(i))));
        for (const s of seqs) store.dequeue('a', s);
        const again = await reopen(store);
        const next = again.enqueue('a', msg('t', '4'));
        assert.ok(next > seqs[2]!, `${next} after ${seqs[2]}`);
        const third = await reopen(again);
        assert.ok(third.enqueue('b', msg('t', '5')) > next);
      });

      it('what was deleted stays deleted after a reopen', async () => {
        const store = await open();
        store.saveSession(full('gone'));
        store.enqueue('gone', msg('t', 'x'));
        store.addQos2('gone', 3);
        store.setRetained({ topic: 'r', payload: Buffer.from('v'), qos: 0 });
        await store.flush();
        store.deleteSession('gone');
        store.setRetained({ topic: 'r', payload: Buffer.alloc(0), qos: 0 });
        const state = await (await reopen(store)).load();
        assert.deepEqual(state.sessions, []);
        assert.equal(state.queues.size, 0);
        assert.equal(state.qos2.size, 0);
        assert.deepEqual(state.retained, []);
      });
    }
  });
}
