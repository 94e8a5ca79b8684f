/**
 * Admission (issue #16 §1): the limits bite under pressure, not on an idle gateway. Driven on the
 * fake clock with the shipped defaults unless a test says why it changes one; the same promises
 * over real UDP are in test/integration/admission-udp.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import { Admission } from '../../src/gateway/admission.js';
import { encode, type Packet } from '../../src/codec/index.js';
import { harness, settle, type Harness, type TestClient } from './harness.js';

const limits = (changed: Partial<ReturnType<typeof defaultConfig>['limits']>) => ({ ...defaultConfig().limits, ...changed });
const pressureAt = (changed: Partial<ReturnType<typeof defaultConfig>['limits']['pressure']>) => ({ ...defaultConfig().limits.pressure, ...changed });

const connectPacket = (clientId: string): Packet => ({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId });
const publish = (qos: 0 | 1, msgId: number, payload: string): Packet => ({ type: 'PUBLISH', dup: false, qos, retain: false, msgId, topicIdType: 'predefined', topicId: 1, payload: Buffer.from(payload) });

/** `n` clients of one host, each from its own source port. */
const host = (h: Harness, address: string, n: number, firstPort = 1024): TestClient[] => Array.from({ length: n }, (_, i) => h.client(`udp:${address}:${firstPort + i}`, address));

describe('admission: no refusal while the gateway is idle (shipped defaults)', () => {
  it('lets 200 clients from one address connect at once, and each publish arrive', async () => {
    const h = await harness({ predefinedTopics: { '1': 'nat/1' } });
    const clients = host(h, '192.0.2.7', 200);
    // All CONNECTs in the same instant: a site behind one NAT address after a power cut.
    for (const [i, c] of clients.entries()) c.send(connectPacket(`nat-${i}`));
    await settle();
    assert.deepEqual(clients.map((c) => c.one('CONNACK').returnCode), clients.map(() => 0));
    for (const [i, c] of clients.entries()) c.send(publish(1, 1, String(i)));
    await settle();
    assert.deepEqual(clients.map((c) => c.one('PUBACK').returnCode), clients.map(() => 0));
    assert.equal(h.broker.on('nat/1').length, 200);
    assert.equal(h.gateway.stats.dropped.rateLimited, undefined);
  });

  it('takes 20,000 QoS 0 messages from one peer in one second, none dropped', async () => {
    const h = await harness({ predefinedTopics: { '1': 'fast/1' } });
    const c = h.client('udp:192.0.2.8:5000', '192.0.2.8');
    await c.connect('concentrator');
    for (let i = 0; i < 20_000; i++) {
      c.send(publish(0, 0, String(i)));
      if (i % 20 === 19) h.clock.advance(1); // 20 per ms: 20,000 per second
      // Datagrams from a socket arrive over many event-loop turns, and the broker settles between
      // them; one synchronous loop of 20,000 would measure the publish backlog bound instead.
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await settle();
    assert.equal(h.broker.on('fast/1').length, 20_000);
    assert.equal(h.gateway.stats.dropped.rateLimited, undefined);
  });

  it('lets 1,000 nodes behind one forwarder connect at once', async () => {
    const h = await harness();
    const forwarder = '192.0.2.9';
    const nodes = Array.from({ length: 1000 }, (_, i) => h.client(`udp:${forwarder}:47000/fwd:${i.toString(16).padStart(4, '0')}`, forwarder));
    for (const [i, c] of nodes.entries()) c.send(connectPacket(`node-${i}`));
    await settle();
    assert.deepEqual(nodes.map((c) => c.one('CONNACK').returnCode), nodes.map(() => 0));
  });
});

describe('admission: under pressure, each address gets its share', () => {
  // Pressure from the session count, made small here so that a few sessions reach it: 10 of 1,000.
  const pressed = limits({ maxSessions: 1000, pressure: pressureAt({ sessionsPercent: 1 }) });

  it('holds back a host flooding CONNECTs from many ports, and lets another host in', async () => {
    const h = await harness({ limits: pressed });
    const flood = host(h, '198.51.100.1', 300);
    const answers: number[] = [];
    for (const [i, c] of flood.entries()) {
      c.send(connectPacket(`flood-${i}`));
      await settle();
      answers.push(c.one('CONNACK').returnCode);
    }
    // Its burst (connectPerAddress: 100) went through, the rest was refused once pressure came.
    assert.equal(answers.filter((r) => r === 0).length, 100);
    assert.ok(h.gateway.admission.pressure() !== undefined);
    await h.client('udp:203.0.113.5:1884', '203.0.113.5').connect('honest');
  });

  it('counts nodes behind a forwarder as the forwarder\'s address, with its direct ports', async () => {
    const h = await harness({ limits: pressed });
    const forwarder = '198.51.100.2';
    const direct = host(h, forwarder, 60);
    const nodes = Array.from({ length: 60 }, (_, i) => h.client(`udp:${forwarder}:47000/fwd:${i.toString(16).padStart(4, '0')}`, forwarder));
    const answers: number[] = [];
    for (const [i, c] of [...direct, ...nodes].entries()) {
      c.send(connectPacket(`fwd-${i}`));
      await settle();
      answers.push(c.one('CONNACK').returnCode);
    }
    // One budget of 100 for the address, whichever path the CONNECTs took.
    assert.equal(answers.filter((r) => r === 0).length, 100);
  });

  it('drops frames over the per-address budget before decoding them, and serves another host', async () => {
    const h = await harness({ predefinedTopics: { '1': 'legit/1' }, limits: pressed });
    for (const [i, c] of host(h, '198.51.100.3', 10).entries()) await c.connect(`filler-${i}`);
    assert.equal(h.gateway.admission.pressure(), 'sessions');
    const legit = h.client('udp:203.0.113.6:1884', '203.0.113.6');
    await legit.connect('legit');
    // 30,000 garbage frames in one second from one host (datagramsPerAddress: 5,000/s, burst 10,000).
    const garbage = Buffer.from('05ff0000ff', 'hex');
    for (let i = 0; i < 30_000; i++) {
      h.transport.inject(`udp:198.51.100.4:${2000 + (i % 500)}`, garbage, '198.51.100.4');
      if (i % 30 === 29) h.clock.advance(1);
    }
    legit.send(publish(1, 7, 'through'));
    await settle();
    assert.equal(legit.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('legit/1'), ['through']);
    const decoded = Object.values(h.gateway.stats.decodeErrors).reduce<number>((a, n) => a + (n ?? 0), 0);
    // Only what the budget let through was decoded: its burst and a second of its rate.
    assert.ok(decoded <= 10_000 + 5000 + 1, `${decoded} garbage frames decoded`);
    assert.equal(h.gateway.stats.dropped.shed, 30_000 - decoded);
  });
});

describe('admission: a full table makes room rather than refusing', () => {
  it('evicts a session that did nothing since CONNACK, never one at work; refuses only when none is idle', async () => {
    // A table of 3, so that it is full after three CONNECTs.
    const h = await harness({ predefinedTopics: { '1': 'busy/1' }, limits: limits({ maxSessions: 3 }) });
    const worker = h.client('udp:203.0.113.7:1', '203.0.113.7');
    await worker.connect('worker');
    worker.send(publish(0, 0, 'working'));
    const idle = h.client('udp:198.51.100.5:1', '198.51.100.5');
    await idle.connect('idle');
    const late = h.client('udp:203.0.113.8:1', '203.0.113.8');
    await late.connect('late');
    // Full: the newcomer takes the place of the oldest idle session, which is told DISCONNECT.
    await h.client('udp:203.0.113.9:1', '203.0.113.9').connect('newcomer');
    assert.equal(idle.one('DISCONNECT').type, 'DISCONNECT');
    assert.deepEqual([...h.gateway.sessions.keys()].sort(), ['late', 'newcomer', 'worker']);
    assert.equal(h.gateway.stats.dropped.evictedIdle, 1);
    // Everyone left did something: the next newcomer is refused (0x01), nobody is evicted.
    late.send({ type: 'PINGREQ' });
    h.client('udp:203.0.113.9:1', '203.0.113.9').send(publish(0, 0, 'newcomer works'));
    await settle();
    const refused = h.client('udp:203.0.113.10:1', '203.0.113.10');
    refused.send(connectPacket('refused'));
    await settle();
    assert.equal(refused.one('CONNACK').returnCode, 1);
    assert.deepEqual([...h.gateway.sessions.keys()].sort(), ['late', 'newcomer', 'worker']);
  });
});

describe('admission: the flood defences hold with the shipped defaults', () => {
  it('a host cycling through 50,000 source ports fills neither the table nor the clients\' way', async () => {
    const h = await harness({ predefinedTopics: { '1': 'site/1' } });
    const site = host(h, '203.0.113.20', 20);
    for (const [i, c] of site.entries()) await c.connect(`site-${i}`);
    let msgId = 0;
    let acked = 0;
    // 50,000 CONNECTs in 20 s (2,500/s, above connectsPerSecond), the site publishing QoS 1 throughout.
    for (let i = 0; i < 50_000; i++) {
      h.transport.inject(`udp:198.51.100.66:${1024 + i}`, encode(connectPacket(`flood-${i}`)), '198.51.100.66');
      if (i % 10 === 9) h.clock.advance(4);
      if (i % 500 === 499) {
        msgId++;
        for (const c of site) c.send(publish(1, msgId, `${c.key}-${msgId}`));
        await settle();
        for (const c of site) acked += c.take().filter((p) => p.type === 'PUBACK' && p.returnCode === 0).length;
      }
    }
    assert.equal(acked, 20 * msgId, 'every QoS 1 message of the site acknowledged');
    assert.equal(h.broker.on('site/1').length, 20 * msgId, 'and delivered');
    // Until the CONNECT rate counted as pressure the flood got in; after, its bucket (20/s) held it.
    const sessions = h.gateway.sessions.size;
    assert.ok(sessions < 5000, `${sessions} sessions after the flood`);
    assert.ok((h.gateway.stats.dropped.rateLimited ?? 0) > 40_000);
  });
});

describe('admission: what counts as pressure', () => {
  const gauges = { sessions: 0, pendingConnects: 0, bufferedBytes: 0, lagMs: 0 };
  const make = (enforce: 'underPressure' | 'always' = 'underPressure') => {
    const clock = new FakeClock(0);
    const l = defaultConfig().limits;
    const a = new Admission(clock, { ...l, rate: { ...l.rate, enforce, connectPerAddress: { perSecond: 1, burst: 1 } } }, {
      sessions: () => gauges.sessions,
      pendingConnects: () => gauges.pendingConnects,
      bufferedBytes: () => gauges.bufferedBytes,
      lagMs: () => gauges.lagMs,
    });
    return { a, clock, l };
  };

  it('names each signal past its default threshold, and none below', () => {
    const { a, clock, l } = make();
    assert.equal(a.pressure(), undefined);
    gauges.sessions = l.maxSessions / 2;
    assert.equal(a.pressure(), 'sessions');
    gauges.sessions = 0;
    gauges.pendingConnects = l.maxPendingConnects / 2;
    assert.equal(a.pressure(), 'pendingConnects');
    gauges.pendingConnects = 0;
    gauges.bufferedBytes = l.maxBufferedBytesTotal / 2;
    assert.equal(a.pressure(), 'bufferedBytes');
    gauges.bufferedBytes = 0;
    gauges.lagMs = 101;
    assert.equal(a.pressure(), 'eventLoopLag');
    gauges.lagMs = 0;
    // 2,000 CONNECTs in a second is the threshold; one more is over it, and a quiet second later it is gone.
    for (let i = 0; i < 2000; i++) a.connectSeen();
    assert.equal(a.pressure(), undefined);
    a.connectSeen();
    assert.equal(a.pressure(), 'connectRate');
    clock.advance(2000);
    assert.equal(a.pressure(), undefined);
  });

  it('lets an empty bucket refuse only under pressure, unless enforce is "always"', () => {
    const { a } = make();
    assert.deepEqual([a.rates.connectByAddress.take('x'), a.rates.connectByAddress.take('x')], [true, true]);
    gauges.lagMs = 500;
    assert.equal(a.rates.connectByAddress.take('x'), false);
    assert.equal(a.rates.connectByAddress.take('y'), true, 'another address still has its burst');
    gauges.lagMs = 0;
    const strict = make('always').a;
    assert.deepEqual([strict.rates.connectByAddress.take('x'), strict.rates.connectByAddress.take('x')], [true, false]);
  });
});
