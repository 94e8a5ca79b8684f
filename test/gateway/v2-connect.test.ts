/**
 * MQTT-SN 2.0 CONNECT / CONNACK, Session Expiry, the will inside CONNECT, Keep Alive and
 * DISCONNECT with Reason Codes (draft [3.1], [3.2], [3.13], [4.1], [4.14]), on the fake clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';
import { connectPacket, harnessV2, V2Client, vector, willOn } from './harness-v2.js';

describe('gateway 2.0: CONNECT and CONNACK', () => {
  it('keeps a session with Session Expiry over a DISCONNECT: Clean Start 0 finds it (Session Present 1), Clean Start 1 does not', async () => {
    const { h, c } = await harnessV2();
    await c.connect('dev', { sessionExpiry: 600 });
    await c.subscribe('x/y');
    c.sendVector('disconnect_minimal');
    c.nothing(); // MQTT-SN-3.13: a DISCONNECT is never answered
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected');
    const resumed = await c.connect('dev', { cleanStart: false, sessionExpiry: 600, packetId: 3 });
    assert.equal(resumed.sessionPresent, true);
    assert.equal(h.gateway.sessions.get('dev')?.subscriptions.has('x/y'), true);
    c.sendVector('disconnect_minimal');
    const fresh = await c.connect('dev', { cleanStart: true, sessionExpiry: 600 });
    assert.equal(fresh.sessionPresent, false);
    assert.equal(h.gateway.sessions.get('dev')?.subscriptions.size, 0);
  });

  it('sends the CONNACK of the vector for a resumed session (Session Present 1, Packet Identifier echoed)', async () => {
    const { c } = await harnessV2();
    c.sendVector('connect_session_never_expires'); // Clean Start 0, "dev", interval 0xFFFFFFFF, id 3
    await settle();
    assert.deepEqual(c.takeHex(), ['060200000300']); // nothing was kept yet
    c.sendVector('disconnect_minimal');
    c.sendVector('connect_session_never_expires');
    await settle();
    assert.deepEqual(c.takeHex(), [vector('connack_session_present')]);
  });

  it('ends a session without Session Expiry (absent = 0) with its connection', async () => {
    const { h, c } = await harnessV2();
    await c.connect('dev', { cleanStart: false });
    c.sendVector('disconnect_minimal');
    assert.equal(h.gateway.sessions.has('dev'), false);
  });

  it('removes an absent session after its Session Expiry Interval and not before', async () => {
    const { h, c } = await harnessV2();
    await c.connect('dev', { sessionExpiry: 600 });
    c.sendVector('disconnect_minimal');
    await h.advance(599_000);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected');
    await h.advance(2_000);
    assert.equal(h.gateway.sessions.has('dev'), false);
    assert.equal(h.gateway.stats.sessionsEnded.expired, 1);
  });

  it('keeps a session of interval 0xFFFFFFFF for ever, past limits.sessionExpirySec that ends a 1.2 session', async () => {
    const h = await harness(); // limits.sessionExpirySec: the shipped 7 days
    const c = new V2Client(h, 'a');
    c.sendVector('connect_session_never_expires');
    await settle();
    c.sendVector('disconnect_minimal');
    const old = h.client('b');
    await old.connect('v12', { cleanSession: false });
    old.send({ type: 'DISCONNECT' });
    // 400 days, in steps a Node timer can hold (2^31 ms is under 25 days).
    for (let day = 0; day < 400; day += 20) await h.advance(20 * 24 * 3600 * 1000);
    assert.equal(h.gateway.sessions.has('v12'), false);
    assert.equal(h.gateway.sessions.get('dev')?.state, 'disconnected');
  });

  it('assigns a client identifier to an empty one and sends it in CONNACK', async () => {
    const { h, c } = await harnessV2();
    c.sendVector('connect_resume_no_clientid'); // Clean Start 0, no client id, id 0x1234
    await settle();
    const ack = c.one('CONNACK');
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.packetId, 0x1234);
    assert.equal(ack.sessionPresent, false);
    assert.match(ack.assignedClientId ?? '', /^auto-[0-9a-f-]{36}$/);
    assert.equal(h.gateway.sessions.get(ack.assignedClientId!)?.version, '2.0');
  });

  it('refuses Keep Alive 0 with CONNACK 0x82 and an authentication method other than MQTT-BASIC with 0x8C', async () => {
    const { h, c } = await harnessV2();
    c.sendRaw('0c0101000902000000006b30'); // Keep Alive 0, id 9, client "k0"
    assert.deepEqual(c.takeHex(), ['060200000982']);
    c.send(connectPacket('s', { auth: { method: 'SCRAM-SHA-1', data: Buffer.from('n,,n=user') } }));
    assert.deepEqual(c.takeHex(), ['06020000018c']);
    assert.equal(h.gateway.sessions.size, 0);
    assert.equal(h.gateway.stats.dropped.protocolError, 1);
    assert.equal(h.gateway.stats.dropped.unsupported, 1);
  });
});

describe('gateway 2.0: will, Keep Alive and DISCONNECT', () => {
  it('publishes the will inside CONNECT on DISCONNECT 0x04, and not on a plain DISCONNECT', async () => {
    const { h, c } = await harnessV2();
    c.sendVector('connect_will_topic_name_qos1_retain'); // will "will/t" = "bye", QoS 1, retain
    await settle();
    assert.equal(c.one('CONNACK').reasonCode, 0);
    c.sendVector('disconnect_minimal');
    await settle();
    assert.deepEqual(h.broker.on('will/t'), []);
    c.sendVector('connect_will_topic_name_qos1_retain');
    await settle();
    c.take();
    c.sendVector('disconnect_with_will_message');
    await settle();
    c.nothing();
    assert.deepEqual(h.broker.on('will/t'), ['bye']);
    assert.equal(h.broker.published.at(-1)?.retain, true);
  });

  it('takes a will on a predefined alias', async () => {
    const { h, c } = await harnessV2({ predefinedTopics: { '5': 'status/w2' } });
    c.sendVector('connect_will_predefined_alias');
    await settle();
    assert.equal(c.one('CONNACK').reasonCode, 0);
    assert.equal(h.gateway.sessions.get('w2')?.will?.topic, 'status/w2');
  });

  it('loses a silent client after 1.5 times its Keep Alive, whatever timers.keepAliveFactor says, and publishes its will', async () => {
    // A factor of 3 for 1.2 clients; 2.0 makes 1.5 normative (MQTT-SN-3.1.6-2).
    const { h, c } = await harnessV2({ timers: { keepAliveFactor: 3 } });
    await c.connect('ka', { keepAlive: 10, will: willOn('gone/ka', 'x') });
    await h.advance(14_999);
    assert.equal(h.gateway.sessions.get('ka')?.state, 'active');
    await h.advance(2);
    assert.equal(h.gateway.sessions.has('ka'), false);
    assert.deepEqual(h.broker.on('gone/ka'), ['x']);
  });

  it('takes a new Session Expiry in DISCONNECT (Fig 3-23 order: interval before Reason Code)', async () => {
    const { h, c } = await harnessV2();
    await c.connect('e', { sessionExpiry: 60, will: willOn('gone/e', 'w') });
    c.sendVector('disconnect_sessexp_reason_code_reason_string'); // 600 s, 0x04, "bye"
    await settle();
    assert.deepEqual(h.broker.on('gone/e'), ['w']);
    assert.equal(h.gateway.sessions.get('e')?.sessionExpirySec, 600);
    await h.advance(599_000);
    assert.ok(h.gateway.sessions.has('e'));
    await h.advance(2_000);
    assert.equal(h.gateway.sessions.has('e'), false);
  });

  it('reads a DISCONNECT of a peer that puts the Reason Code before the interval (Paho), where Fig 3-23 reads nonsense', async () => {
    const { h, c } = await harnessV2();
    await c.connect('rc', { sessionExpiry: 60, will: willOn('gone/rc', 'w') });
    c.sendRaw('0b0e060400000258627965'); // the vector's alt_hex_rc_before_sei: 0x04, 600 s, "bye"
    await settle();
    assert.deepEqual(h.broker.on('gone/rc'), ['w']);
    assert.equal(h.gateway.sessions.get('rc')?.sessionExpirySec, 600);
  });

  it('answers a DISCONNECT that sets an interval on a session that had none with DISCONNECT 0x82 and ends it', async () => {
    const { h, c } = await harnessV2();
    await c.connect('z');
    c.sendVector('disconnect_client_session_expiry');
    assert.deepEqual(c.takeHex(), ['040e0482']);
    assert.equal(h.gateway.sessions.has('z'), false);
    assert.equal(h.gateway.stats.dropped.protocolError, 1);
  });

  it('tells the old address DISCONNECT 0x8E when a client id connects from a new one', async () => {
    const h = await harness();
    const first = new V2Client(h, 'a');
    await first.connect('same');
    const second = new V2Client(h, 'b');
    await second.connect('same');
    assert.deepEqual(first.takeHex(), ['040e048e']);
  });
});
