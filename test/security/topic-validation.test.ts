/**
 * #16 §3: a topic that is no MQTT topic name never gets past the gateway. A short topic name is two
 * bytes straight off the radio (`+/`, `/#`, `a#`, U+0000), and a QoS -1 datagram needs no
 * connection: unchecked, one datagram put a wildcard topic into the broker core, its retained
 * store and the upstream, which closes the bridge's connection over it (MQTT 3.1.1 §4.7.1).
 * Checked at the gateway's entry (unit, memory broker) and end to end against a real mosquitto
 * with the shipped defaults (no `auth`, no limits lifted), where the bridge checks again before
 * anything is queued upstream.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { ReturnCode } from '../../src/codec/index.js';
import { harness, settle } from '../gateway/harness.js';
import { expectNothing } from '../helpers/wait.js';
import { markerUp, mosquittoSuite, until } from '../bridge/harness.js';

/** QoS -1 PUBLISH (flags 0x62: QoS -1, short topic) of `name` (two bytes) carrying `payload`. */
function qosMinusOneShort(name: Buffer, payload: string): Buffer {
  const data = Buffer.from(payload);
  return Buffer.concat([Buffer.from([7 + data.length, 0x0c, 0x62]), name, Buffer.from([0, 0]), data]);
}

const BAD_SHORT_NAMES: ReadonlyArray<readonly [string, Buffer]> = [
  ['+/', Buffer.from('+/')],
  ['/#', Buffer.from('/#')],
  ['a#', Buffer.from('a#')],
  ['U+0000', Buffer.from([0x00, 0x61])],
];

describe('topic names are checked on entry', () => {
  it('drops a QoS -1 PUBLISH whose short name is no topic name, counted, and still takes a good one', async () => {
    const h = await harness();
    const c = h.client('udp:anyone');
    for (const [, name] of BAD_SHORT_NAMES) c.sendRaw(qosMinusOneShort(name, 'x').toString('hex'));
    c.sendRaw(qosMinusOneShort(Buffer.from('ok'), 'fine').toString('hex'));
    await settle();
    c.nothing();
    assert.deepEqual(
      h.broker.published.map((m) => [m.topic, m.payload.toString()]),
      [['ok', 'fine']],
    );
    assert.equal(h.gateway.stats.dropped.invalidTopic, BAD_SHORT_NAMES.length);
  });

  it('answers a connected client PUBACK 0x02 (invalid topic) for such a short name, at every QoS, and publishes nothing', async () => {
    const h = await harness();
    const c = h.client('udp:dev');
    await c.connect('dev');
    let msgId = 1;
    for (const qos of [0, 1, 2] as const) {
      for (const [label, name] of BAD_SHORT_NAMES) {
        c.send({ type: 'PUBLISH', dup: false, qos, retain: true, msgId: msgId++, topicIdType: 'short', topicName: name.toString('utf8'), payload: Buffer.from('x') });
        await settle();
        const ack = c.one('PUBACK');
        assert.equal(ack.returnCode, ReturnCode.INVALID_TOPIC_ID, `QoS ${qos} on ${label}`);
      }
    }
    assert.equal(h.broker.published.length, 0);
    assert.deepEqual(await h.broker.retained('#'), []);
  });
});

describe('topic names are checked again before the upstream (real mosquitto)', () => {
  const { gateway, node, watcher, cleanup } = mosquittoSuite();

  it('a QoS -1 datagram with a wildcard short name from nobody neither reaches nor disconnects the upstream', async () => {
    // The shipped defaults: no `auth`, the default `#` bridge rule both ways.
    const gw = await gateway();
    const w = await watcher('#');
    const sock = createSocket('udp4');
    cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
    const send = (b: Buffer): Promise<void> => new Promise((resolve, reject) => sock.send(b, gw.udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    for (const [, name] of BAD_SHORT_NAMES) await send(qosMinusOneShort(name, 'poison'));
    await send(qosMinusOneShort(Buffer.from('ok'), 'legit'));
    await until(() => w.got.some((m) => m.topic === 'ok' && m.payload === 'legit'), 5000, 'the legitimate message upstream');
    const n = await node(gw, 'after-poison');
    await expectNothing(
      'a poison message upstream',
      () => markerUp(n, w, 'marker/after'),
      () => w.got.filter((m) => m.payload === 'poison'),
    );
    assert.equal(gw.bridge.status().counters.disconnects, 0, 'the upstream never closed the bridge');
    assert.equal(gw.running.gateway.stats.dropped.invalidTopic, BAD_SHORT_NAMES.length);
  });

  it('the bridge refuses, counts and does not queue a wildcard topic that reached the broker core some other way', async () => {
    const gw = await gateway();
    const w = await watcher('#');
    // In process, as a plugin or a restored retained message could: the broker core itself does not check.
    await gw.running.broker.publish({ topic: 'plant/+/t', payload: Buffer.from('poison'), qos: 1, retain: false });
    await gw.running.broker.publish({ topic: 'plant/1/t', payload: Buffer.from('legit'), qos: 1, retain: false });
    await until(() => w.got.some((m) => m.payload === 'legit'), 5000, 'the legitimate message upstream');
    // The last PUBACK may still be on its way when the watcher has the message.
    await until(() => gw.bridge.status().queue.messages === 0, 5000, 'nothing left in the queue');
    assert.equal(gw.bridge.status().counters.refusedInvalidTopic, 1);
    assert.equal(gw.bridge.status().counters.disconnects, 0);
  });
});
