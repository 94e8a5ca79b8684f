/**
 * A 2.0 session survives a restart as a 2.0 session (#18): on the store it comes back from, it is
 * answered in 2.0 (its buffer when it wakes, REGISTERs, PINGRESP), a CONNECT with Clean Start 0
 * finds it present (MQTT-SN 2.0 [3.2.2.1]), it keeps what its CONNECT and SUBSCRIBE agreed
 * (Default Awake Messages [3.1.8], No Local [3.7.2.1]), and it expires after its own Session
 * Expiry Interval [3.1.9], counted from when its client was last heard, not from the restart.
 * Shipped defaults, fake clock, memory store (the SQLite store passes the same conformance
 * suite; test/durability/v2-kill.test.ts runs the real process on a real file).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import type * as v2 from '../../src/codec/v2/index.js';
import { harness, settle, type Harness } from './harness.js';
import { V2Client, vector } from './harness-v2.js';

const DAY_MS = 24 * 3600 * 1000;

function connectPacket(clientId: string, extra: Partial<v2.PacketOf<'CONNECT'>> = {}): v2.PacketOf<'CONNECT'> {
  return { type: 'CONNECT', cleanStart: true, allowNetworkAddressChanges: false, allowServerSuggestedValues: false, packetId: 1, protocolVersion: 2, keepAlive: 30, maxPacketSize: 0, clientId, ...extra };
}

/** A 2.0 client subscribed to `t/#` at QoS 1, asleep for 60 s, with messages published meanwhile. */
async function asleepWith(messages: string[], connect: Partial<v2.PacketOf<'CONNECT'>> = {}): Promise<{ h: Harness; c: V2Client }> {
  const h = await harness({}, new MemorySessionStore());
  const c = new V2Client(h, 'a');
  c.send(connectPacket('zz', connect));
  await settle();
  assert.equal(c.one('CONNACK').reasonCode, 0);
  await c.subscribe('t/#', 1);
  c.send({ type: 'SLEEPREQ', packetId: 7, sleepDuration: 60, retainTopicAliases: true });
  await settle();
  c.one('SLEEPRESP');
  for (const m of messages) await h.publishFromBroker('t/x', m, 1);
  c.nothing();
  return { h, c };
}

/**
 * Everything the gateway sends until it has sent `count` PUBLISHes, each decoded as 2.0 by
 * `V2Client.take` (which fails on a frame that is not): REGACK for a REGISTER, PUBACK for a PUBLISH.
 */
async function receive(c: V2Client, count: number): Promise<{ payloads: string[]; types: string[] }> {
  const payloads: string[] = [];
  const types: string[] = [];
  for (let round = 0; round < count * 3 && payloads.length < count; round++) {
    for (const p of c.take()) {
      types.push(p.type);
      if (p.type === 'REGISTER') c.send({ type: 'REGACK', topicType: 'session', packetId: p.packetId });
      if (p.type === 'PUBLISH') {
        payloads.push(p.payload.toString());
        if (p.packetId !== undefined) c.send({ type: 'PUBACK', packetId: p.packetId });
      }
    }
    await settle();
  }
  return { payloads, types };
}

/** The gateway stops (a crash: nothing more is saved) and stays down for `ms` before `restart()`. */
async function down(h: Harness, ms: number): Promise<void> {
  await h.gateway.stop();
  await h.advance(ms);
}

describe('gateway 2.0: a session across a restart', () => {
  it('a sleeper stays a 2.0 sleeper: its wake gets REGISTER, the messages and PINGRESP in 2.0', async () => {
    const { h, c } = await asleepWith(['m1', 'm2']);
    await h.restart();
    const s = h.gateway.sessions.get('zz');
    assert.deepEqual([s?.version, s?.state, s?.queue.length], ['2.0', 'asleep', 2]);
    c.sendVector('pingreq'); // Packet Identifier 0x42
    await settle();
    const got = await receive(c, 2);
    assert.deepEqual(got.payloads, ['m1', 'm2']);
    assert.deepEqual(got.types.slice(0, 2), ['REGISTER', 'PUBLISH']);
    // The wake ends with the 2.0 PINGRESP echoing the PINGREQ's id (MQTT-SN-2.2-4).
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
  });

  it('keeps Default Awake Messages: a wake after the restart gets as many as the CONNECT asked for', async () => {
    const { h, c } = await asleepWith(['a', 'b', 'c'], { defaultAwakeMessages: 1 });
    await h.restart();
    c.sendRaw('040c0043'); // PINGREQ, id 0x43
    await settle();
    assert.deepEqual((await receive(c, 1)).payloads, ['a']);
    assert.deepEqual(c.takeHex(), ['050d004302']); // PINGRESP: 2 messages wait
  });

  it('keeps Maximum Packet Size: a message larger than the client takes is not sent after the restart either', async () => {
    const { h, c } = await asleepWith(['small', 'x'.repeat(100), 'small again'], { maxPacketSize: 40 });
    await h.restart();
    c.sendVector('pingreq');
    await settle();
    const got = await receive(c, 2);
    assert.deepEqual(got.payloads, ['small', 'small again']);
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
  });

  it('keeps Net Addr: after the restart the sleeper may wake from a new address by Connection Encapsulation', async () => {
    const { h } = await asleepWith(['moved'], { allowNetworkAddressChanges: true });
    await h.restart();
    const moved = new V2Client(h, 'b'); // the same device behind a new NAT binding
    moved.send({ type: 'CONNECTION_ENCAPSULATION', clientId: 'zz', packet: Buffer.from(vector('pingreq'), 'hex') });
    await settle();
    assert.deepEqual((await receive(moved, 1)).payloads, ['moved']);
    assert.deepEqual(moved.takeHex(), [vector('pingresp')]);
  });

  it('an active 2.0 client goes on without a new CONNECT: its PINGREQ gets a 2.0 PINGRESP, its PUBLISH a 2.0 PUBACK', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = new V2Client(h, 'a');
    await c.connect('dev', { cleanStart: false, sessionExpiry: 3600 });
    await h.restart();
    assert.deepEqual([h.gateway.sessions.get('dev')?.version, h.gateway.sessions.get('dev')?.state], ['2.0', 'active']);
    c.sendVector('pingreq');
    await settle();
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 9, topicType: 'name', topicName: 'dev/temp', payload: Buffer.from('21') });
    await settle();
    assert.equal(c.one('PUBACK').packetId, 9);
    assert.deepEqual(h.broker.on('dev/temp'), ['21']);
  });

  it('a CONNECT with Clean Start 0 finds its session present, and gets what was queued while it was away', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = new V2Client(h, 'a');
    await c.connect('dev', { cleanStart: false, sessionExpiry: 3600 });
    await c.subscribe('cmd/#', 1);
    c.send({ type: 'DISCONNECT' });
    await settle();
    await h.publishFromBroker('cmd/go', 'one', 1);
    await h.publishFromBroker('cmd/go', 'two', 1);
    await h.restart();
    assert.deepEqual([h.gateway.sessions.get('dev')?.version, h.gateway.sessions.get('dev')?.sessionExpirySec], ['2.0', 3600]);
    c.send(connectPacket('dev', { cleanStart: false, sessionExpiryInterval: 3600, packetId: 2 }));
    await settle();
    const got = c.take();
    const ack = got.find((p) => p.type === 'CONNACK');
    assert.ok(ack?.type === 'CONNACK');
    assert.deepEqual([ack.reasonCode, ack.sessionPresent], [0, true]);
    for (const p of got) if (p.type === 'REGISTER') c.send({ type: 'REGACK', topicType: 'session', packetId: p.packetId });
    await settle();
    assert.deepEqual((await receive(c, 2)).payloads, ['one', 'two']);
  });

  it('keeps No Local: after the restart the client does not get its own message back', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = new V2Client(h, 'a');
    await c.connect('dev', { cleanStart: false, sessionExpiry: 3600 });
    c.send({ type: 'SUBSCRIBE', noLocal: true, qos: 0, retainAsPublished: false, retainHandling: 0, packetId: 2, topicType: 'filter', topicFilter: 'chat/#' });
    await settle();
    c.one('SUBACK');
    await h.restart();
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 3, topicType: 'name', topicName: 'chat/room', payload: Buffer.from('mine') });
    await settle();
    assert.equal(c.one('PUBACK').reasonCode ?? 0, 0);
    assert.deepEqual(h.broker.on('chat/room'), ['mine']);
    await h.publishFromBroker('chat/room', 'theirs');
    assert.deepEqual((await receive(c, 1)).payloads, ['theirs']);
  });
});

describe('gateway: session expiry across a restart', () => {
  it("a 2.0 session with a short Session Expiry Interval is kept until its interval, counted from its DISCONNECT, then gone", async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = new V2Client(h, 'a');
    await c.connect('short', { cleanStart: false, sessionExpiry: 30 });
    c.send({ type: 'DISCONNECT' });
    await settle();
    await down(h, 20_000);
    await h.restart();
    assert.equal(h.gateway.sessions.get('short')?.state, 'disconnected');
    await h.advance(9_000);
    assert.ok(h.gateway.sessions.has('short'), 'kept 29 s after its DISCONNECT');
    await h.advance(2_000);
    assert.equal(h.gateway.sessions.has('short'), false, 'gone 31 s after its DISCONNECT');
  });

  it('a 2.0 session whose interval ran out while the gateway was down is gone soon after the start', async () => {
    const h = await harness({}, new MemorySessionStore());
    await new V2Client(h, 'a').connect('short', { cleanStart: false, sessionExpiry: 30 });
    new V2Client(h, 'a').send({ type: 'DISCONNECT' });
    await settle();
    await down(h, 60_000);
    await h.restart();
    await h.advance(1);
    assert.equal(h.gateway.sessions.has('short'), false);
  });

  it('0xFFFFFFFF never expires, whatever limits.sessionExpirySec says for 1.2', async () => {
    const h = await harness({}, new MemorySessionStore());
    await new V2Client(h, 'a').connect('forever', { cleanStart: false, sessionExpiry: 0xffffffff });
    new V2Client(h, 'a').send({ type: 'DISCONNECT' });
    await settle();
    await h.restart();
    await h.advance(30 * DAY_MS); // four times the shipped limits.sessionExpirySec (7 days)
    assert.equal(h.gateway.sessions.get('forever')?.state, 'disconnected');
  });

  it('a 1.2 session on the shipped limits.sessionExpirySec (7 days) expires 7 days after it was last heard, not 7 days after a restart', async () => {
    const h = await harness({}, new MemorySessionStore());
    const c = h.client('b');
    await c.connect('old', { cleanSession: false });
    c.send({ type: 'DISCONNECT' });
    await settle();
    await down(h, 6 * DAY_MS);
    await h.restart();
    assert.equal(h.gateway.sessions.get('old')?.version, '1.2');
    await h.advance(DAY_MS - 1000);
    assert.ok(h.gateway.sessions.has('old'));
    await h.advance(2000);
    assert.equal(h.gateway.sessions.has('old'), false);
  });

  it('a wall clock not set yet (a Raspberry Pi booting in 1970) does not make a session look decades absent once it is set', async () => {
    const store = new MemorySessionStore();
    const h = await harness({}, store);
    h.wallOffset = 0; // 1970, until NTP answers
    const c = h.client('b');
    await c.connect('early', { cleanSession: false });
    c.send({ type: 'DISCONNECT' });
    await settle();
    assert.equal((await store.load()).sessions[0]?.silentSince, undefined, 'no time stored from an unset clock');
    h.wallOffset = 1_796_000_000_000; // NTP set the clock
    await down(h, DAY_MS);
    await h.restart();
    // Counted from the restart, as for a store that never knew: the shipped 7 days from now.
    await h.advance(6 * DAY_MS);
    assert.equal(h.gateway.sessions.get('early')?.state, 'disconnected');
  });
});
