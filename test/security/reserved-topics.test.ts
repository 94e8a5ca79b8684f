/**
 * #16 §3: topics starting with `$` are the broker's (MQTT 3.1.1 §4.7.2). A local MQTT client cannot
 * publish to `$SYS/...`; an MQTT-SN client could, by REGISTER, a predefined id, QoS -1 or its will.
 * Now it is held to the same: `$SYS` never. Another `$` topic (AWS IoT's `$aws/things/...` shadow
 * updates, bridged) is open without an ACL, and with one only where a rule names it (a leading
 * wildcard never matches one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReturnCode } from '../../src/codec/index.js';
import { createGateway, parseConfig } from '../../src/index.js';
import type { BrokerMessage } from '../../src/broker/types.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { harness, settle } from '../gateway/harness.js';
import { snNode, until } from '../bridge/harness.js';
import { SimError } from '../../firmware-sim/index.js';

describe('$ topics from MQTT-SN clients (memory broker)', () => {
  it('refuses $SYS by REGISTER, predefined id, QoS -1 and will with the defaults', async () => {
    const h = await harness({ predefinedTopics: { '7': '$SYS/broker/uptime' } });
    const c = h.client('udp:dev');
    await c.connect('dev');
    let msgId = 1;
    for (const name of ['$SYS/broker/clients/total', '$SYS']) {
      const id = await c.register(name, msgId++);
      c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: true, msgId: msgId++, topicIdType: 'normal', topicId: id, payload: Buffer.from('forged') });
      await settle();
      assert.equal(c.one('PUBACK').returnCode, ReturnCode.NOT_SUPPORTED, name);
    }
    c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, topicIdType: 'predefined', topicId: 7, payload: Buffer.from('forged') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, ReturnCode.NOT_SUPPORTED);
    h.client('udp:nobody').send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'predefined', topicId: 7, payload: Buffer.from('forged') });
    const w = h.client('udp:will');
    w.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'will' });
    w.one('WILLTOPICREQ');
    w.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: '$SYS/broker/version' });
    await settle();
    assert.equal(w.one('CONNACK').returnCode, ReturnCode.NOT_SUPPORTED);
    await settle();
    assert.deepEqual(h.broker.published, []);
  });

  it('lets a client publish to another $ topic with the defaults (an AWS IoT shadow update)', async () => {
    const h = await harness({});
    const c = h.client('udp:dev');
    await c.connect('dev');
    const shadow = await c.register('$aws/things/dev/shadow/update', 1);
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 2, topicIdType: 'normal', topicId: shadow, payload: Buffer.from('{}') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, ReturnCode.ACCEPTED);
    assert.deepEqual(h.broker.published.map((m) => m.topic), ['$aws/things/dev/shadow/update']);
  });

  it('lets a client publish to a $ topic an ACL rule names literally, never to $SYS', async () => {
    const h = await harness({ auth: { acl: [{ clientId: '*', publish: ['$aws/things/%c/#', '#', '$SYS/#'], subscribe: [] }] } });
    const c = h.client('udp:dev');
    await c.connect('dev');
    const shadow = await c.register('$aws/things/dev/shadow/update', 1);
    const other = await c.register('$aws/things/other/shadow/update', 2);
    const sys = await c.register('$SYS/broker/uptime', 3);
    const codes: number[] = [];
    for (const [i, id] of [shadow, other, sys].entries()) {
      c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 10 + i, topicIdType: 'normal', topicId: id, payload: Buffer.from('x') });
      await settle();
      codes.push(c.one('PUBACK').returnCode);
    }
    assert.deepEqual(codes, [ReturnCode.ACCEPTED, ReturnCode.NOT_SUPPORTED, ReturnCode.NOT_SUPPORTED]);
    assert.deepEqual(h.broker.published.map((m) => m.topic), ['$aws/things/dev/shadow/update']);
  });
});

describe('$ topics from MQTT-SN clients (real UDP, the real broker core, shipped defaults)', () => {
  it('a node cannot publish to $SYS/...; a broker-core subscriber sees nothing of it', async () => {
    const running = await createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] } }));
    try {
      const seen: BrokerMessage[] = [];
      const unsubscribe = await running.broker.subscribe('$SYS/forged/#', (m) => seen.push(m));
      const udp = running.transports[0];
      if (!(udp instanceof UdpTransport)) throw new Error('expected a UDP transport');
      const n = await snNode(udp.address().port, 'forger');
      try {
        const err = await n.publish({ topic: '$SYS/forged/uptime', payload: 'forged', qos: 1 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof SimError, 'refused');
        assert.equal(err.returnCode, ReturnCode.NOT_SUPPORTED);
        // A message after it went through: had the forged one been taken, it would be there by now.
        const ok: BrokerMessage[] = [];
        const unsubscribeOk = await running.broker.subscribe('ok/#', (m) => ok.push(m));
        await n.publish({ topic: 'ok/after', payload: 'legit', qos: 1 });
        await until(() => ok.length === 1, 5000, 'the next message in the broker core');
        assert.deepEqual(seen, []);
        await unsubscribeOk();
      } finally {
        await n.close();
        await unsubscribe();
      }
    } finally {
      await running.close();
    }
  });
});
