/**
 * `mqtt-sn-12` 1.0.9 (Python, from the package registry), replayed byte for byte (issue #17,
 * items 3 and 4):
 * - its default CONNECT has an empty client id with clean session; the gateway answered 0x03, so
 *   24 of the library's 28 unit tests failed. Now it gets an id assigned, as an MQTT 3.1.1 broker
 *   does for a clean session;
 * - it SUBSCRIBEs at QoS -1 (Flags 0x60), which was dropped unanswered and left it hanging; it is
 *   now granted QoS 0.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { msg, shippedSuite, u16, utf8 } from './harness.js';

describe('interop: mqtt-sn-12 1.0.9', () => {
  const suite = shippedSuite();
  const client = suite.client;

  it('connects with an empty client id and clean session, subscribes at QoS -1 and receives', async () => {
    const c = await client();
    // CONNECT: flags 0x04 (clean session), protocol 1, keep-alive 60 s, no client id at all.
    c.send(msg('04', '04', '01', '003c'));
    assert.equal((await c.next('CONNACK')).returnCode, 0);
    const assigned = suite.gw().lines.find((l) => l.msg.includes('client id assigned'));
    assert.ok(assigned !== undefined, 'the assigned id is logged');
    assert.equal(assigned.level, 'info');

    // SUBSCRIBE: flags 0x60 (QoS -1, topic name), MsgId 0x0001, "test/topic".
    c.send(msg('12', '60', '0001', utf8('test/topic')));
    const suback = await c.next('SUBACK');
    assert.deepEqual([suback.returnCode, suback.qos, suback.msgId], [0, 0, 1]);

    await suite.gw().running.broker.publish({ topic: 'test/topic', payload: Buffer.from('hello'), qos: 1, retain: false }, 'mqtt');
    const pub = await c.next('PUBLISH');
    assert.deepEqual([pub.qos, pub.topicIdType === 'normal' && pub.topicId, pub.payload.toString()], [0, suback.topicId, 'hello']);

    // PINGREQ and DISCONNECT, as its tests end.
    c.send(msg('16'));
    await c.next('PINGRESP');
    c.send(msg('18'));
    await c.next('DISCONNECT');
  });

  it('an empty client id without clean session is still refused with 0x03', async () => {
    const c = await client();
    // CONNECT: flags 0x00 (clean session off), protocol 1, keep-alive 60 s, no client id.
    c.send(msg('04', '00', '01', u16(60)));
    assert.equal((await c.next('CONNACK')).returnCode, 3);
  });
});
