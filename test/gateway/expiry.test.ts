/**
 * Sessions do not live for ever (#16 §2): an absent kept session expires after
 * `limits.sessionExpirySec`, a keep-alive 0 session of a client not on the allow-list is lost
 * after `limits.idleSessionSec` of silence, and at `limits.maxSessions` the session absent longest
 * makes room for a new client. On the fake clock, with the shipped defaults unless a test says why.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/index.js';
import { createMetricsRegistry } from '../../src/observability/metrics.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { parseMetrics, valueOf } from '../observability/helpers.js';
import { harness, settle } from './harness.js';

const { sessionExpirySec, idleSessionSec } = defaultConfig().limits;
const SEC = 1000;

describe('gateway: absent sessions expire', () => {
  it('forgets a disconnected clean-session-false client after limits.sessionExpirySec (default), also in the store', async () => {
    const store = new MemorySessionStore();
    const h = await harness({}, store);
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    await c.subscribe('dev/cmd', 1);
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    await h.advance(sessionExpirySec * SEC - SEC);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected', 'kept until the expiry');
    await h.advance(SEC);
    assert.equal(h.gateway.sessions.has('dev'), false);
    assert.deepEqual((await store.load()).sessions, []);
    assert.equal(h.gateway.stats.sessionsEnded.expired, 1);
    // Its subscription went with it: nothing is buffered for it any more.
    await h.publishFromBroker('dev/cmd', 'lost', 1);
    assert.equal(h.gateway.buffered.bytes, 0);
  });

  it('counts from the last message: a client that came back and left again gets the whole period again', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    await h.advance(sessionExpirySec * SEC - SEC);
    await c.connect('dev', { cleanSession: false });
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    await h.advance(sessionExpirySec * SEC - SEC);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected');
    await h.advance(SEC);
    assert.equal(h.gateway.sessions.has('dev'), false);
  });

  it('a sleeper is not absent: it is kept through its sleep, then lost, then expires', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('sleepy', { cleanSession: false });
    const sleepSec = 0xffff; // the longest a DISCONNECT can ask for (16 bits)
    c.send({ type: 'DISCONNECT', duration: sleepSec });
    c.one('DISCONNECT');
    const lostAfter = sleepSec * SEC * defaultConfig().timers.keepAliveFactor;
    await h.advance(lostAfter - SEC);
    assert.equal(h.gateway.sessions.get('sleepy')?.state, 'asleep');
    await h.advance(SEC);
    assert.equal(h.gateway.sessions.get('sleepy')?.state, 'lost');
    await h.advance(sessionExpirySec * SEC);
    assert.equal(h.gateway.sessions.has('sleepy'), false);
  });

  it('restored absent sessions expire too (a restart does not make them immortal)', async () => {
    const store = new MemorySessionStore();
    const h = await harness({}, store);
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    c.send({ type: 'DISCONNECT' });
    c.one('DISCONNECT');
    await h.restart();
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected');
    await h.advance(sessionExpirySec * SEC);
    assert.equal(h.gateway.sessions.has('dev'), false);
    assert.deepEqual((await store.load()).sessions, []);
  });
});

describe('gateway: keep-alive 0 is not for ever unless the client is listed', () => {
  it('loses a silent keep-alive 0 client after limits.idleSessionSec (default), publishing its will', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connectWithWill('quiet', { topic: 'dev/quiet/status', message: 'gone' }, { cleanSession: false, keepAlive: 0 });
    await h.advance(idleSessionSec * SEC - SEC);
    assert.equal(h.gateway.sessions.get('quiet')?.state, 'active');
    // A message restarts the count (MQTT-SN 1.2 §6.3: any message shows the client is there).
    c.send({ type: 'PINGREQ' });
    c.one('PINGRESP');
    await h.advance(idleSessionSec * SEC - SEC);
    assert.equal(h.gateway.sessions.get('quiet')?.state, 'active');
    await h.advance(SEC);
    assert.equal(h.gateway.sessions.get('quiet')?.state, 'lost');
    await settle();
    assert.deepEqual(h.broker.on('dev/quiet/status'), ['gone']);
  });

  it('keeps a keep-alive 0 client on the allow-list for ever', async () => {
    const h = await harness({ auth: { clients: [{ clientId: 'meter' }] } });
    const c = h.client('a');
    await c.connect('meter', { cleanSession: false, keepAlive: 0 });
    await h.advance(10 * idleSessionSec * SEC);
    assert.equal(h.gateway.sessions.get('meter')?.state, 'active');
  });
});

describe('gateway: at limits.maxSessions the session absent longest makes room', () => {
  // maxSessions lowered to 3 so that "full" takes three CONNECTs, not 100,000; the tests above
  // run with the shipped defaults.
  it('evicts the oldest absent session for a new client, never a connected one', async () => {
    const store = new MemorySessionStore();
    const h = await harness({ limits: { maxSessions: 3 } }, store);
    const park = h.client('parker');
    // One socket parks ids with clean session false and keep-alive 0: each CONNECT ends the last.
    await park.connect('p1', { cleanSession: false, keepAlive: 0 });
    await h.advance(SEC);
    await park.connect('p2', { cleanSession: false, keepAlive: 0 });
    await h.advance(SEC);
    const live = h.client('live');
    await live.connect('live', { cleanSession: false });
    assert.deepEqual([...h.gateway.sessions.values()].map((s) => [s.clientId, s.state]), [
      ['p1', 'lost'],
      ['p2', 'active'],
      ['live', 'active'],
    ]);

    const honest = h.client('honest');
    await honest.connect('honest'); // full, but p1 is absent: it goes
    assert.equal(h.gateway.sessions.has('p1'), false);
    assert.deepEqual((await store.load()).sessions.map((s) => s.clientId).sort(), ['live', 'p2']);
    assert.equal(h.gateway.stats.sessionsEnded.evicted, 1);
    const { samples } = parseMetrics(await createMetricsRegistry({ gateway: h.gateway, transports: [] }).metrics());
    assert.equal(valueOf(samples, 'mqttsn_sessions_ended_total', { how: 'evicted' }), 1);

    // Nobody absent now, and nobody idle either (a session that did nothing since its CONNACK
    // would make room: admission.ts): the next new client is told to come back later (MQTT-SN 1.2 §5.4.6, 0x01).
    for (const c of [park, live, honest]) {
      c.send({ type: 'PINGREQ' });
      await settle();
      c.one('PINGRESP');
    }
    const late = h.client('late');
    late.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'late' });
    await settle();
    assert.equal(late.one('CONNACK').returnCode, 1);
    live.send({ type: 'PINGREQ' });
    live.one('PINGRESP');
  });

  it('evicts in the order sessions became absent', async () => {
    const h = await harness({ limits: { maxSessions: 3 } }); // lowered: see above
    for (const id of ['a', 'b', 'c']) await h.client(id).connect(id, { cleanSession: false });
    for (const id of ['b', 'a', 'c']) {
      const c = h.client(id);
      c.send({ type: 'DISCONNECT' });
      c.one('DISCONNECT');
      await h.advance(SEC);
    }
    await h.client('n1').connect('n1');
    await h.client('n2').connect('n2');
    assert.deepEqual([...h.gateway.sessions.keys()].sort(), ['c', 'n1', 'n2']);
  });
});
