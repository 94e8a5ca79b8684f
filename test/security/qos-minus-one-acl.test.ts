/**
 * #16 §3: a QoS -1 PUBLISH needs no connection and carries no client id (MQTT-SN 1.2 §6.8), so the
 * ACL, which is per client id, never saw it: with `auth.acl` set, any datagram published to any
 * predefined id or short name. Now, with an ACL, QoS -1 goes only where `auth.qosMinusOne` names
 * (its `topics` ids, `shortTopics: true`); without an ACL the defaults stay open, as before.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import type { BrokerMessage } from '../../src/broker/types.js';
import { createGateway, parseConfig } from '../../src/index.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { harness, settle, type TestClient } from '../gateway/harness.js';
import { snNode, until } from '../bridge/harness.js';

const predefinedTopics = { '5': 'beacons/5', '6': 'valves/6/set' };
const acl = [{ clientId: 'sensor-%', publish: ['beacons/#'], subscribe: [] }];

const qosMinusOne = (c: TestClient, topic: { predefined: number } | { short: string }): void =>
  c.send(
    'predefined' in topic
      ? { type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'predefined', topicId: topic.predefined, payload: Buffer.from('x') }
      : { type: 'PUBLISH', dup: false, qos: -1, retain: false, msgId: 0, topicIdType: 'short', topicName: topic.short, payload: Buffer.from('x') },
  );

describe('QoS -1 with an ACL (memory broker)', () => {
  it('with auth.acl and nothing in auth.qosMinusOne, refuses QoS -1 from nobody to every predefined id and short name', async () => {
    const h = await harness({ predefinedTopics, auth: { acl } });
    const c = h.client('udp:9.9.9.9:1');
    qosMinusOne(c, { predefined: 5 });
    qosMinusOne(c, { predefined: 6 });
    qosMinusOne(c, { short: 'ab' });
    await settle();
    c.nothing();
    assert.deepEqual(h.broker.published, []);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 3);
  });

  it('with auth.acl, lets QoS -1 through only to what auth.qosMinusOne names', async () => {
    const h = await harness({ predefinedTopics, auth: { acl, qosMinusOne: { topics: [5], shortTopics: true } } });
    const c = h.client('udp:9.9.9.9:1');
    qosMinusOne(c, { predefined: 5 });
    qosMinusOne(c, { predefined: 6 });
    qosMinusOne(c, { short: 'ab' });
    await settle();
    assert.deepEqual(h.broker.published.map((m) => m.topic), ['beacons/5', 'ab']);
  });

  it('without an ACL, QoS -1 stays open by default', async () => {
    const h = await harness({ predefinedTopics });
    const c = h.client('udp:9.9.9.9:1');
    qosMinusOne(c, { predefined: 6 });
    qosMinusOne(c, { short: 'ab' });
    await settle();
    assert.deepEqual(h.broker.published.map((m) => m.topic), ['valves/6/set', 'ab']);
  });
});

describe('QoS -1 with an ACL (real UDP, the real broker core, the config a user would write)', () => {
  it('a forged QoS -1 datagram to a valve never reaches the broker core; a connected sensor still publishes', async () => {
    const running = await createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] }, predefinedTopics, auth: { acl } }));
    const sock = createSocket('udp4');
    try {
      const seen: BrokerMessage[] = [];
      const unsubscribe = await running.broker.subscribe('#', (m) => seen.push(m));
      const udp = running.transports[0];
      if (!(udp instanceof UdpTransport)) throw new Error('expected a UDP transport');
      const port = udp.address().port;
      // QoS -1 (flags 0x61: QoS -1, predefined), id 6 = valves/6/set, payload "open".
      await new Promise<void>((resolve, reject) => sock.send(Buffer.from('0b0c6100060000' + '6f70656e', 'hex'), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      const n = await snNode(port, 'sensor-1');
      await n.publish({ topic: 'beacons/1', payload: 'legit', qos: 1 });
      await until(() => seen.some((m) => m.topic === 'beacons/1'), 5000, 'the sensor message in the broker core');
      assert.deepEqual(seen.map((m) => m.topic), ['beacons/1'], 'the datagram came first and was dropped');
      assert.equal(running.gateway.stats.dropped.notAuthorized, 1);
      await n.close();
      await unsubscribe();
    } finally {
      sock.close();
      await running.close();
    }
  });
});
