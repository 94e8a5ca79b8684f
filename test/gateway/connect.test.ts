/** Connection rules (MQTT-SN.md §4.1-4.4, §4.11): CONNECT, will dance, keep-alive, takeover. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { harness, MemoryBroker, RecordingTransport, settle } from './harness.js';

describe('gateway: CONNECT and the will dance', () => {
  it('answers a CONNECT without will with CONNACK 0x00', async () => {
    const h = await harness();
    const c = h.client('a');
    c.sendRaw('0d040401003c636c69656e7431'); // the vector bytes of a real CONNECT
    assert.equal(c.one('CONNACK').returnCode, 0);
    assert.equal(h.gateway.sessions.get('client1')?.state, 'active');
  });

  it('runs WILLTOPICREQ / WILLTOPIC / WILLMSGREQ / WILLMSG, then CONNACK', async () => {
    const h = await harness();
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 30, clientId: 'sensor-01' });
    c.one('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 1, retain: true, willTopic: 'dev/1/status' });
    c.one('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('offline') });
    assert.equal(c.one('CONNACK').returnCode, 0);
    assert.deepEqual(h.gateway.sessions.get('sensor-01')?.will?.topic, 'dev/1/status');
  });

  it('answers repeated dance steps by repeating its own last request', async () => {
    const h = await harness();
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 30, clientId: 'x' });
    c.one('WILLTOPICREQ');
    c.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'w' });
    c.one('WILLMSGREQ');
    c.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'w' }); // our WILLMSGREQ was lost
    c.one('WILLMSGREQ');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('bye') });
    c.one('CONNACK');
    c.send({ type: 'WILLMSG', willMsg: Buffer.from('bye') }); // our CONNACK was lost
    assert.equal(c.one('CONNACK').returnCode, 0);
  });

  it('takes an empty WILLTOPIC as "no will" and answers CONNACK at once', async () => {
    const h = await harness();
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: true, cleanSession: false, protocolId: 1, duration: 30, clientId: 'x' });
    c.one('WILLTOPICREQ');
    c.sendRaw('0207');
    assert.equal(c.one('CONNACK').returnCode, 0);
    assert.equal(h.gateway.sessions.get('x')?.will, undefined);
  });

  it('abandons a will dance that does not finish in time', async () => {
    const h = await harness({ timers: { connectTimeoutMs: 5000 } });
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 30, clientId: 'x' });
    c.one('WILLTOPICREQ');
    await h.advance(5001);
    assert.equal(h.gateway.sessions.has('x'), false);
  });

  it('refuses an unknown protocol id with 0x03', async () => {
    const h = await harness();
    const c = h.client('a');
    c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 2, duration: 30, clientId: 'x' });
    assert.equal(c.one('CONNACK').returnCode, 3);
    assert.equal(h.gateway.sessions.has('x'), false);
  });

  it('answers congestion (0x01) beyond the session limit, and nobody else notices', async () => {
    const h = await harness({ limits: { maxSessions: 2 } });
    // Both at work since their CONNACK: neither may be evicted for a newcomer (admission.test.ts has that case).
    for (const id of ['a', 'b']) {
      await h.client(id).connect(id);
      h.client(id).send({ type: 'PINGREQ' });
      h.client(id).one('PINGRESP');
    }
    const c = h.client('c');
    c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 30, clientId: 'c' });
    assert.equal(c.one('CONNACK').returnCode, 1);
    const a = h.client('a');
    a.send({ type: 'PINGREQ' });
    a.one('PINGRESP');
  });

  it('closes the old connection when a client id connects from a new address', async () => {
    const h = await harness();
    const old = h.client('old');
    await old.connect('dev', { cleanSession: false });
    await old.subscribe('cmd/dev', 0);
    const now = h.client('new');
    await now.connect('dev', { cleanSession: false });
    old.one('DISCONNECT');
    await h.publishFromBroker('cmd/dev', 'on');
    // The kept subscription serves the new address; its id must be told again first.
    const reg = now.one('REGISTER');
    now.send({ type: 'REGACK', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
    const pub = now.one('PUBLISH');
    assert.equal(pub.payload.toString(), 'on');
    old.nothing();
  });

  it('treats a second CONNECT on the same address as a reconnect with clean-session rules', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev', { cleanSession: false });
    await c.subscribe('t/1', 0);
    await c.connect('dev', { cleanSession: true });
    await h.publishFromBroker('t/1', 'x');
    c.nothing(); // clean session removed the subscription
  });
});

describe('gateway: keep-alive and will', () => {
  it('answers PINGREQ with PINGRESP', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    c.sendRaw('0216');
    c.one('PINGRESP');
  });

  it('loses a client silent for 1.5 x keep-alive and publishes its will', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connectWithWill('dev', { topic: 'dev/status', message: 'offline', qos: 1, retain: true }, { cleanSession: false, keepAlive: 10 });
    await h.advance(14_000);
    c.send({ type: 'PINGREQ' }); // traffic restarts supervision
    c.one('PINGRESP');
    await h.advance(14_999);
    assert.deepEqual(h.broker.on('dev/status'), []);
    await h.advance(2);
    assert.deepEqual(h.broker.on('dev/status'), ['offline']);
    assert.equal(h.broker.published.at(-1)?.retain, true);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'lost');
  });

  it('publishes no will after a plain DISCONNECT', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connectWithWill('dev', { topic: 'dev/status', message: 'offline' }, { keepAlive: 10 });
    c.sendRaw('0218');
    c.one('DISCONNECT');
    await h.advance(60_000);
    assert.deepEqual(h.broker.on('dev/status'), []);
  });

  it('updates the will topic and message while connected', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev', { keepAlive: 10 });
    c.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'dev/lwt' });
    assert.equal(c.one('WILLTOPICRESP').returnCode, 0);
    c.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('gone') });
    assert.equal(c.one('WILLMSGRESP').returnCode, 0);
    await h.advance(15_001);
    assert.deepEqual(h.broker.on('dev/lwt'), ['gone']);
  });

  it('deletes the will on an empty WILLTOPICUPD', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev', { keepAlive: 10 });
    c.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: 'dev/lwt' });
    c.one('WILLTOPICRESP');
    c.send({ type: 'WILLMSGUPD', willMsg: Buffer.from('gone') });
    c.one('WILLMSGRESP');
    c.sendRaw('021a');
    assert.equal(c.one('WILLTOPICRESP').returnCode, 0);
    await h.advance(15_001);
    assert.deepEqual(h.broker.on('dev/lwt'), []);
  });
});

describe('gateway: unknown clients and bad input', () => {
  it('answers a SUBSCRIBE from an unknown address with DISCONNECT (§4.1)', async () => {
    const h = await harness();
    const c = h.client('stranger');
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 1, topicIdType: 'normal', topicName: 'a' });
    c.one('DISCONNECT');
  });

  it('answers SEARCHGW with GWINFO carrying its gateway id', async () => {
    const h = await harness({ gatewayId: 7 });
    const c = h.client('searcher');
    c.sendRaw('030101');
    assert.equal(c.one('GWINFO').gwId, 7);
  });

  it('counts and drops a malformed frame and keeps serving everyone', async () => {
    const h = await harness();
    const a = h.client('a');
    await a.connect('a');
    const bad = h.client('bad');
    bad.sendRaw('ff0c00');
    bad.sendRaw('0203');
    bad.nothing();
    assert.equal(h.gateway.stats.decodeErrors.MQTTSN_ERR_TRUNCATED, 1);
    assert.equal(h.gateway.stats.decodeErrors.MQTTSN_ERR_UNKNOWN_TYPE, 1);
    a.send({ type: 'PINGREQ' });
    a.one('PINGRESP');
  });

  it('sends ADVERTISE on broadcast-capable transports every interval', async () => {
    const h = await harness({ timers: { advertiseIntervalSec: 900 } });
    await settle();
    assert.equal(h.transport.broadcasts.length, 1);
    assert.equal(h.transport.broadcasts[0]!.toString('hex'), '0500010384');
    await h.advance(900_000);
    assert.equal(h.transport.broadcasts.length, 2);
    await h.gateway.stop();
  });

  it('advertises only while the upstream works', async () => {
    let upstream = false;
    const clock = new FakeClock();
    const transport = new RecordingTransport();
    const gw = new Gateway({ options: defaultConfig(), broker: new MemoryBroker(), clock, mayAdvertise: () => upstream });
    gw.attach(transport);
    await gw.start();
    await settle();
    assert.equal(transport.broadcasts.length, 0);
    upstream = true;
    clock.advance(900_000);
    await settle();
    assert.equal(transport.broadcasts.length, 1);
    await gw.stop();
  });
});
