/**
 * MQTT-SN 2.0 publishing and subscribing through the gateway core (draft [3.4]-[3.10], [4.3],
 * [4.7], [4.13]): the three topic types, QoS 0/1/2 with Reason Codes, REGISTER both ways, SUBACK
 * aliases, subscription options and PUBWOS. Bytes from test/fixtures/vectors-2.0.json.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';
import { harnessV2, subscribePacket, V2Client, vector, willOn } from './harness-v2.js';

const PREDEFINED = { '1': 'cmd/light', '7': 'sensors/boot', '257': 'p/x' };

describe('gateway 2.0: PUBLISH from a client', () => {
  it('takes QoS 1 on a predefined alias and a full Topic Name, answering PUBACK with its Reason Code', async () => {
    const { h, c } = await harnessV2({ predefinedTopics: PREDEFINED });
    await c.connect('pub');
    c.sendVector('publish_qos1_predefined_alias'); // alias 1, id 1, payload 01 02
    await settle();
    assert.deepEqual(c.takeHex(), [vector('puback_explicit_success')]);
    c.sendVector('publish_qos1_topic_name_retain'); // "sensors/t1" = "22.5", retain, id 171
    await settle();
    assert.deepEqual(c.takeHex(), ['050400ab00']);
    assert.deepEqual(h.broker.on('cmd/light'), ['\x01\x02']);
    assert.deepEqual(h.broker.on('sensors/t1'), ['22.5']);
    assert.equal(h.broker.published.at(-1)?.retain, true);
  });

  it('registers a name for a session alias, takes QoS 2 on it exactly once, and answers an unknown alias 0xF0', async () => {
    const { h, c } = await harnessV2();
    await c.connect('q2');
    c.sendVector('register_from_client'); // "home/kitchen/temp", id 16
    await settle();
    const regack = c.one('REGACK');
    assert.deepEqual([regack.topicType, regack.packetId, regack.reasonCode], ['session', 16, 0]);
    const alias = regack.topicAlias!;
    const publish = { type: 'PUBLISH' as const, dup: false, qos: 2 as const, retain: false, packetId: 258, topicType: 'session' as const, topicAlias: alias, payload: Buffer.from('x') };
    c.send(publish);
    await settle();
    assert.deepEqual(c.takeHex(), ['0505010200']);
    c.send({ ...publish, dup: true }); // PUBREC lost: the client sends again
    await settle();
    assert.deepEqual(c.takeHex(), ['0505010200']);
    c.sendVector('pubrel_success');
    assert.deepEqual(c.takeHex(), ['0507010200']);
    assert.deepEqual(h.broker.on('home/kitchen/temp'), ['x']);
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 2, topicType: 'session', topicAlias: alias + 40, payload: Buffer.from('?') });
    await settle();
    assert.deepEqual(c.takeHex(), [vector('puback_unknown_topic_alias')]);
  });

  it('answers a REGISTER of a name with a predefined alias with that alias and 0x1A', async () => {
    const { c } = await harnessV2({ predefinedTopics: { '1': 'home/kitchen/temp' } });
    await c.connect('r');
    c.send({ type: 'REGISTER', packetId: 0x12, topicName: 'home/kitchen/temp' });
    await settle();
    assert.deepEqual(c.takeHex(), [vector('regack_topic_alias_exists_predefined')]);
  });

  it('publishes a PUBWOS on a predefined alias from anyone at QoS 0, and one with a full name only where configured', async () => {
    const h = await harness({ predefinedTopics: PREDEFINED });
    const c = new V2Client(h, 'nobody');
    c.sendVector('pubwos_predefined_alias'); // alias 7, "hello"
    c.sendVector('pubwos_topic_name_retain'); // "sensors/temperature": qosMinusOne.inlineTopicNames is off by default
    await settle();
    c.nothing();
    assert.deepEqual(h.broker.on('sensors/boot'), ['hello']);
    assert.equal(h.broker.published.at(-1)?.qos, 0);
    assert.deepEqual(h.broker.on('sensors/temperature'), []);
    assert.equal(h.gateway.stats.dropped.qosMinusOneRejected, 1);
    const open = await harness({ qosMinusOne: { inlineTopicNames: true } });
    new V2Client(open, 'nobody').sendVector('pubwos_topic_name_retain');
    await settle();
    assert.deepEqual(open.broker.on('sensors/temperature'), ['22.5']);
  });
});

describe('gateway 2.0: one request in flight per client [4.9]', () => {
  it('takes a retransmission of the pending request, and ends the connection with DISCONNECT 0x93 on a second one', async () => {
    const { h, c } = await harnessV2();
    await c.connect('one', { will: willOn('gone/one', 'w') });
    const q1 = (packetId: number, payload: string): void =>
      c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId, topicType: 'name', topicName: 'a/b', payload: Buffer.from(payload) });
    q1(1, 'first');
    q1(1, 'first'); // its PUBACK is not out yet: a retransmission
    await settle();
    assert.deepEqual(c.takeHex(), ['0504000100', '0504000100']);
    q1(2, 'second'); // answered: the next one may come
    q1(3, 'third'); // before the answer to 2
    assert.deepEqual(c.takeHex(), ['040e0493']);
    await settle();
    c.take();
    assert.equal(h.gateway.sessions.has('one'), false);
    assert.deepEqual(h.broker.on('gone/one'), ['w'], 'the connection ended without DISCONNECT: the will is published');
    assert.equal(h.gateway.stats.dropped.protocolError, 1);
  });
});

describe('gateway 2.0: refusals say why', () => {
  it('answers the ACL with 0x87 and a bad filter with 0x8F, where 1.2 can only say 0x03', async () => {
    const { h, c } = await harnessV2({ auth: { acl: [{ clientId: 'sensor-%', publish: ['sensors/%c/#'], subscribe: ['cmd/%c/#'] }] } });
    await c.connect('sensor-1');
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 9, topicType: 'name', topicName: 'sensors/sensor-2/t', payload: Buffer.from('x') });
    await settle();
    assert.deepEqual(c.takeHex(), ['0504000987']);
    c.send(subscribePacket('cmd/#/x', { packetId: 37 }));
    await settle();
    assert.deepEqual(c.takeHex(), [vector('suback_topic_filter_invalid')]);
    c.send(subscribePacket('cmd/other/#', { packetId: 38 }));
    await settle();
    assert.deepEqual(c.takeHex(), ['060901002687']);
    assert.deepEqual(h.broker.published, []);
  });
});

describe('gateway 2.0: SUBSCRIBE and delivery', () => {
  it('answers SUBACKs as the vectors do: no alias for a wildcard or a predefined alias, a session alias for a name', async () => {
    const { h, c } = await harnessV2({ predefinedTopics: PREDEFINED });
    await c.connect('s');
    c.sendVector('subscribe_filter_wildcard_qos1'); // "sensors/+/temp", id 32
    await settle();
    assert.deepEqual(c.takeHex(), [vector('suback_wildcard_no_alias_granted_qos1')]);
    c.sendVector('subscribe_predefined_alias_rh2'); // alias 257, id 34
    await settle();
    assert.deepEqual(c.takeHex(), [vector('suback_predefined_granted_qos0')]);
    const byName = await c.subscribe('a/b', 1, 36);
    assert.deepEqual([byName.topicType, byName.reasonCode], ['session', 1]);
    assert.ok(byName.topicAlias !== undefined);
    // A filter that has a predefined alias gets it back (MQTT-SN-4.7.2.2-2).
    const predefinedName = await c.subscribe('cmd/light', 0, 37);
    assert.deepEqual([predefinedName.topicType, predefinedName.topicAlias], ['predefined', 1]);
    c.sendVector('unsubscribe_filter'); // "sensors/+/temp", id 48
    await settle();
    assert.deepEqual(c.takeHex(), ['050b003000']);
    assert.equal(h.gateway.sessions.get('s')?.subscriptions.has('sensors/+/temp'), false);
  });

  it('sends a 2-character topic, a short name to a 1.2 client, to a 2.0 one as a full Topic Name without REGISTER [2.4]', async () => {
    const { h, c } = await harnessV2();
    await c.connect('sn');
    await c.subscribe('+', 0);
    await h.publishFromBroker('ab', 'x');
    const p = c.one('PUBLISH');
    assert.deepEqual([p.topicType, 'topicName' in p ? p.topicName : undefined, p.payload.toString()], ['name', 'ab', 'x']);
  });

  it('REGISTERs a session alias before a wildcard delivery, then sends the PUBLISH on it; a QoS 1 resend is identical', async () => {
    const { h, c } = await harnessV2({ timers: { retryMs: 1000 } });
    await c.connect('w');
    c.sendVector('subscribe_filter_wildcard_qos1');
    await settle();
    c.take();
    await h.publishFromBroker('sensors/k/temp', '19', 1);
    const reg = c.one('REGISTER');
    assert.equal(reg.topicName, 'sensors/k/temp');
    assert.ok(reg.topicAlias !== undefined);
    c.send({ type: 'REGACK', topicType: 'session', packetId: reg.packetId });
    await settle();
    const [first] = c.takeHex();
    const pub = c.h.gateway.sessions.get('w')?.inFlight;
    assert.equal(pub?.kind, 'publish');
    await h.advance(1000);
    // MQTT-SN-3.6.2.2.3-1: DUP only for QoS 2; a QoS 1 resend is the same bytes.
    assert.deepEqual(c.takeHex(), [first]);
    const p = (await import('../../src/codec/v2/index.js')).decode(Buffer.from(first!, 'hex'));
    assert.ok(!(p instanceof Error) && p.type === 'PUBLISH');
    assert.deepEqual([p.topicType, 'topicAlias' in p ? p.topicAlias : -1, p.qos, p.payload.toString()], ['session', reg.topicAlias, 1, '19']);
    c.send({ type: 'PUBACK', packetId: p.packetId! });
    await settle();
    assert.equal(h.gateway.sessions.get('w')?.inFlight, undefined);
  });

  it("does not send a message over the client's Maximum Packet Size, and counts it", async () => {
    const { h, c } = await harnessV2();
    await c.connect('tiny', { maxPacketSize: 20 });
    await c.subscribe('big/one', 0);
    await h.publishFromBroker('big/one', 'x'.repeat(14)); // 7 + 14 bytes: one too many
    c.nothing();
    assert.equal(h.gateway.stats.dropped.tooLarge, 1);
    await h.publishFromBroker('big/one', 'x'.repeat(13));
    assert.equal(c.one('PUBLISH').payload.length, 13);
  });

  it('applies No Local and Retain as Published, and Retain Handling 1 and 2', async () => {
    const { h, c } = await harnessV2();
    await c.connect('o');
    const other = new V2Client(h, 'b');
    await other.connect('other');
    // No Local + Retain as Published + Retain Handling 1, QoS 2, "a/b" (the vector, id 33).
    c.sendVector('subscribe_nolocal_rap_rh1_qos2');
    await settle();
    assert.equal(c.one('SUBACK').reasonCode, 2);
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: true, topicType: 'name', topicName: 'a/b', payload: Buffer.from('own') });
    await settle();
    c.nothing(); // its own message, not delivered back
    assert.deepEqual(h.broker.on('a/b'), ['own']);
    other.send({ type: 'PUBLISH', dup: false, qos: 0, retain: true, topicType: 'name', topicName: 'a/b', payload: Buffer.from('theirs') });
    await settle();
    const live = c.one('PUBLISH');
    assert.deepEqual([live.payload.toString(), live.retain], ['theirs', true], 'Retain as Published keeps the flag');
    // Retain Handling 1: the same subscription again sends no retained message; a new one would.
    c.sendVector('subscribe_nolocal_rap_rh1_qos2');
    await settle();
    assert.deepEqual(c.take().map((p) => p.type), ['SUBACK']);
    // Retain Handling 0 (the default) sends it; 2 never does.
    other.send(subscribePacket('a/b', { packetId: 5 }));
    await settle();
    const [suback, retained] = other.take();
    assert.equal(suback?.type, 'SUBACK');
    assert.ok(retained?.type === 'PUBLISH');
    assert.deepEqual([retained.payload.toString(), retained.retain], ['theirs', true]);
    other.send(subscribePacket('a/#', { retainHandling: 2, packetId: 6 }));
    await settle();
    assert.deepEqual(other.take().map((p) => p.type), ['SUBACK']);
    // Without Retain as Published, a live message goes out with retain 0.
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: true, topicType: 'name', topicName: 'a/b', payload: Buffer.from('again') });
    await settle();
    const plainLive = other.take().filter((p) => p.type === 'PUBLISH');
    assert.deepEqual(plainLive.map((p) => [p.payload.toString(), p.retain]), [['again', false]]);
  });
});
