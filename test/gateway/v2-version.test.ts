/**
 * MQTT-SN 1.2 and 2.0 on one transport (MQTT-SN-2.0.md §7): each session speaks the version of
 * the CONNECT that made it, strangers are classified by the demultiplexer, and nobody is ever
 * answered in the other version. Bytes from test/fixtures/vectors-2.0.json.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';
import { harnessV2, V2Client, vector } from './harness-v2.js';

describe('gateway: the protocol version of a session', () => {
  it('answers a 2.0 CONNECT with the 2.0 CONNACK of the vectors, and the session is 2.0', async () => {
    const { h, c } = await harnessV2();
    c.sendVector('connect_minimal_clean_start');
    await settle();
    assert.deepEqual(c.takeHex(), [vector('connack_success')]);
    assert.equal(h.gateway.sessions.get('c1')?.version, '2.0');
    assert.equal(h.gateway.sessions.get('c1')?.state, 'active');
  });

  it('refuses a 2.0-layout CONNECT of version 1 with CONNACK 0x84 and keeps no session', async () => {
    const { h, c } = await harnessV2();
    c.sendVector('connect_2_0_format_protocol_version_1');
    await settle();
    assert.deepEqual(c.takeHex(), [vector('connack_unsupported_protocol_version')]);
    assert.equal(h.gateway.sessions.has('old'), false);
    assert.equal(h.gateway.stats.dropped.unsupported, 1);
  });

  it('reads the frames of a peer with a 2.0 session as 2.0: PINGREQ in both Length forms gets its PINGRESP', async () => {
    const { c } = await harnessV2();
    await c.connect('p');
    c.sendVector('pingreq');
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
    c.sendVector('pingreq_3byte_length_form');
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
  });

  it('lets a 1.2 and a 2.0 client exchange messages, each hearing only its own version', async () => {
    const h = await harness();
    const old = h.client('old');
    await old.connect('sensor-12');
    const sub12 = await old.subscribe('a/b', 1);
    assert.equal(sub12.returnCode, 0);
    const neu = new V2Client(h, 'new');
    await neu.connect('sensor-20');
    const sub20 = await neu.subscribe('a/b', 1);
    assert.equal(sub20.reasonCode, 1);
    assert.equal(sub20.topicType, 'session');
    assert.ok(sub20.topicAlias !== undefined && sub20.topicAlias > 0);

    // 2.0 -> 1.2: a QoS 0 PUBLISH with a full topic name (the vector), delivered to the 1.2 client by its topic id.
    neu.sendVector('publish_qos0_topic_name');
    await settle();
    assert.deepEqual(h.broker.on('a/b'), ['hi']);
    const got12 = old.one('PUBLISH');
    assert.equal(got12.payload.toString(), 'hi');
    assert.deepEqual([got12.topicIdType, 'topicId' in got12 ? got12.topicId : -1], ['normal', sub12.topicId]);
    // The 2.0 sender is subscribed too (No Local 0): it gets its message back by its session alias.
    const echo = neu.one('PUBLISH');
    assert.deepEqual([echo.topicType, 'topicAlias' in echo ? echo.topicAlias : -1, echo.payload.toString()], ['session', sub20.topicAlias, 'hi']);

    // 1.2 -> 2.0, QoS 1: the 2.0 client gets a 2.0 PUBLISH with a Packet Identifier and answers PUBACK.
    old.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 9, topicIdType: 'normal', topicId: sub12.topicId, payload: Buffer.from('yo') });
    await settle();
    assert.equal(old.take().find((p) => p.type === 'PUBACK')?.returnCode, 0);
    const got20 = neu.one('PUBLISH');
    assert.equal(got20.qos, 1);
    assert.equal(got20.payload.toString(), 'yo');
    neu.send({ type: 'PUBACK', packetId: got20.packetId! });
    await settle();
    assert.equal(h.gateway.sessions.get('sensor-20')?.inFlight, undefined);
  });

  it('switches a peer to the version of its new CONNECT, starting the session clean', async () => {
    const { h, c } = await harnessV2();
    await c.connect('dev', { cleanStart: false, sessionExpiry: 600 });
    await c.subscribe('x/y');
    // The same device, reflashed with a 1.2 client, at the same address.
    h.transport.inject('a', Buffer.from('0904000100' + '3c' + Buffer.from('dev').toString('hex'), 'hex'));
    await settle();
    assert.deepEqual(c.takeHex(), ['030500']);
    const s = h.gateway.sessions.get('dev');
    assert.equal(s?.version, '1.2');
    assert.equal(s?.subscriptions.size, 0, 'what the 2.0 client was told means nothing to the 1.2 one');
    // And back to 2.0.
    c.sendVector('connect_session_never_expires');
    await settle();
    assert.deepEqual(c.takeHex(), ['060200000300']);
    assert.equal(h.gateway.sessions.get('dev')?.version, '2.0');
  });

  it("reads a 1.2 sleeper's wake-up PINGREQ from a new address as 1.2, though its bytes are also a 2.0 ADVERTISE", async () => {
    const h = await harness();
    const old = h.client('here');
    await old.connect('abc', { cleanSession: false });
    old.send({ type: 'DISCONNECT', duration: 60 });
    old.take();
    await h.publishFromBroker('x', 'queued'); // nothing subscribed: the wake-up ends at once
    // `05 16 61 62 63`: 1.2 PINGREQ "abc", and a well-formed 2.0 ADVERTISE (gateway 0x61, 0x6263 s).
    const moved = h.client('there');
    moved.sendRaw('0516616263');
    assert.deepEqual(moved.take().map((p) => p.type), ['PINGRESP']);
    assert.equal(h.gateway.sessions.get('abc')?.link?.peer.key, 'there');
    // From an address the gateway does not know, without a 1.2 sleeper of that id, it is a 2.0 ADVERTISE: dropped.
    const stranger = h.client('elsewhere');
    stranger.sendRaw('0516787978');
    stranger.nothing();
  });

  it('answers 2.0 packets that need a session from an address without one with DISCONNECT 0xF4, and a DISCONNECT with nothing', async () => {
    const h = await harness();
    const c = new V2Client(h, 'stranger');
    c.sendVector('pingreq');
    assert.deepEqual(c.takeHex(), ['040e04f4']);
    c.sendVector('publish_qos1_predefined_alias');
    assert.deepEqual(c.takeHex(), ['040e04f4']);
    c.sendVector('disconnect_minimal');
    c.nothing();
    assert.equal(h.gateway.stats.dropped.unknownClient, 3);
  });

  it('counts and drops a malformed 2.0 frame from a 2.0 client like a malformed 1.2 one', async () => {
    const { h, c } = await harnessV2();
    await c.connect('m');
    c.sendRaw('050c0042ff'); // a PINGREQ one byte too long
    c.nothing();
    assert.equal(h.gateway.stats.dropped.decode, 1);
    assert.equal(h.gateway.sessions.get('m')?.state, 'active');
  });

  it('answers Protection and 2.0 Forwarder Encapsulation with their DISCONNECT codes, counted', async () => {
    const { h, c } = await harnessV2();
    c.sendVector('protection_hmac_sha256_pingreq');
    assert.deepEqual(c.takeHex(), ['040e04f2']);
    c.sendVector('forwarder_encapsulation_pingreq');
    assert.deepEqual(c.takeHex(), ['040e04f3']);
    assert.equal(h.gateway.stats.dropped.unsupported, 2);
  });
});
