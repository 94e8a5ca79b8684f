/** Per-peer token buckets (`limits.rate`, issue 9): refusal codes, counters, bounded memory. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import { PeerRateLimiter } from '../../src/gateway/rate-limit.js';
import { encode } from '../../src/codec/index.js';
import { harness, settle } from './harness.js';

const bucket = (perSecond: number, burst: number) => ({ perSecond, burst });
/**
 * `limits.rate` at its defaults, with some buckets changed and enforced whenever empty: these
 * tests are about the buckets themselves, on an idle gateway where by default they would refuse
 * nothing (admission.test.ts covers when they bite with the shipped `enforce: "underPressure"`).
 */
const rate = (changed: Partial<ReturnType<typeof defaultConfig>['limits']['rate']>) => ({ ...defaultConfig().limits.rate, enforce: 'always' as const, ...changed });

describe('rate limit: token bucket', () => {
  it('allows a burst, then refills at the configured rate', () => {
    const clock = new FakeClock(0);
    const r = new PeerRateLimiter(clock, bucket(2, 3));
    assert.deepEqual([r.take('p'), r.take('p'), r.take('p'), r.take('p')], [true, true, true, false]);
    assert.equal(r.take('q'), true); // another peer has its own bucket
    clock.advance(499);
    assert.equal(r.take('p'), false);
    clock.advance(1);
    assert.equal(r.take('p'), true);
    assert.equal(r.take('p'), false);
  });

  it('keeps memory bounded under 50,000 spoofed source ports', () => {
    const clock = new FakeClock(0);
    const r = new PeerRateLimiter(clock, bucket(5, 10));
    let peak = 0;
    // One new port per 0.1 ms: a bucket refills in 2 s, so at most 20,000 are ever not yet full.
    for (let i = 0; i < 50_000; i++) {
      r.take(`udp:10.0.0.1:${i}`);
      peak = Math.max(peak, r.size);
      clock.advance(0.1);
    }
    assert.ok(peak <= 2 * 20_000 + 1024, `peak ${peak}`);
    // Idle for a refill period: the next request sweeps every full bucket away.
    clock.advance(2000);
    r.take('udp:10.0.0.2:1');
    assert.equal(r.size, 1);
  });

  it('keeps the buckets of peers that are still limited through a sweep', () => {
    const clock = new FakeClock(0);
    const r = new PeerRateLimiter(clock, bucket(1, 2));
    r.take('busy');
    r.take('busy');
    for (let i = 0; i < 5000; i++) r.take(`idle${i}`);
    // Size-triggered sweeps ran during the loop; `busy` was empty, so it had to survive them.
    clock.advance(1000);
    assert.equal(r.take('busy'), true);
    assert.equal(r.take('busy'), false);
  });
});

describe('rate limit: gateway', () => {
  it('answers CONNECT over the limit with CONNACK 0x01, counts it, and serves other peers', async () => {
    const h = await harness({ limits: { rate: rate({ connectPerPeer: bucket(1, 2), publishPerPeer: bucket(200, 400) }) } });
    const noisy = h.client('noisy');
    await noisy.connect('n');
    await noisy.connect('n');
    noisy.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'n' });
    assert.equal(noisy.one('CONNACK').returnCode, 1);
    assert.equal(h.gateway.stats.dropped.rateLimited, 1);
    await h.client('calm').connect('c');
    await h.advance(1000);
    await noisy.connect('n');
  });

  it('answers REGISTER over the limit with REGACK 0x01', async () => {
    const h = await harness({ limits: { rate: rate({ registerPerPeer: bucket(1, 2), publishPerPeer: bucket(200, 400) }) } });
    const c = h.client('a');
    await c.connect('a');
    await c.register('t/1', 1);
    await c.register('t/2', 2);
    c.send({ type: 'REGISTER', topicId: 0, msgId: 3, topicName: 't/3' });
    const ack = c.one('REGACK');
    assert.equal(ack.returnCode, 1);
    assert.equal(ack.msgId, 3);
    assert.equal(h.gateway.stats.dropped.rateLimited, 1);
    const b = h.client('b');
    await b.connect('b');
    await b.register('t/3');
  });

  it('answers PUBLISH QoS 1/2 over the limit with PUBACK 0x01 and drops QoS 0/-1 silently', async () => {
    const h = await harness({
      predefinedTopics: { '1': 'p/1' },
      limits: { rate: rate({ publishPerPeer: bucket(1, 1) }) },
    });
    const c = h.client('a');
    await c.connect('a');
    const send = (qos: -1 | 0 | 1 | 2, msgId: number): void =>
      c.send({ type: 'PUBLISH', dup: false, qos, retain: false, msgId, topicIdType: 'predefined', topicId: 1, payload: Buffer.from(String(msgId)) });
    send(0, 0);
    send(0, 0);
    send(-1, 0);
    send(1, 11);
    send(2, 12);
    await settle();
    const acks = c.take();
    assert.deepEqual(acks.map((p) => (p.type === 'PUBACK' ? [p.msgId, p.returnCode] : p.type)), [[11, 1], [12, 1]]);
    assert.deepEqual(h.broker.on('p/1'), ['0']);
    assert.equal(h.gateway.stats.dropped.rateLimited, 4);
    // Another peer publishes freely, and the limited one again after a second.
    h.client('b').send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'predefined', topicId: 1, payload: Buffer.from('b') });
    await h.advance(1000);
    send(1, 13);
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('p/1'), ['0', 'b', '13']);
  });

  it('limits CONNECT per address across source ports, and leaves other addresses alone', async () => {
    const h = await harness({ limits: { rate: rate({ connectPerAddress: bucket(1, 3) }) } });
    // One host, a new source port for every CONNECT: the per-peer buckets never run dry.
    const ports = Array.from({ length: 5 }, (_, i) => h.client(`udp:10.0.0.9:${4000 + i}`, '10.0.0.9'));
    for (const c of ports.slice(0, 3)) await c.connect(`spoof-${c.key}`);
    for (const c of ports.slice(3)) {
      c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: `spoof-${c.key}` });
      assert.equal(c.one('CONNACK').returnCode, 1);
    }
    assert.equal(h.gateway.stats.dropped.rateLimited, 2);
    assert.equal(h.gateway.sessions.size, 3, 'refused CONNECTs made no session');
    // Another host, and a peer without an address (keyed by itself), are not affected.
    await h.client('udp:10.0.0.10:4000', '10.0.0.10').connect('other-host');
    await h.client('xbee:0013a20000000001').connect('radio');
    await h.advance(1000);
    await ports[4]!.connect('spoof-later');
  });

  it('keeps the per-address buckets bounded under 50,000 spoofed addresses', async () => {
    const h = await harness({ limits: { rate: rate({ connectPerAddress: bucket(20, 100) }) } });
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      // Not a valid CONNECT past the buckets (protocol id 9): only the buckets' memory is measured.
      h.transport.inject(`udp:${a}:1`, encode({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 9, duration: 60, clientId: 'x' }), a);
      peak = Math.max(peak, h.gateway.rates.connectByAddress.size);
      h.clock.advance(1);
    }
    // A bucket refills in 5 s, one new address per ms: at most 5,000 are not yet full, and sweeps keep about twice that.
    assert.ok(peak <= 2 * 5000 + 1024, `peak ${peak}`);
    await h.advance(5000);
    h.client('udp:10.9.9.9:1', '10.9.9.9').send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 9, duration: 60, clientId: 'x' });
    assert.equal(h.gateway.rates.connectByAddress.size, 1);
    assert.equal(h.gateway.sessions.size, 0);
  });
});
