/**
 * Eclipse Paho's MQTT-SN clients, replayed byte for byte as MQTTSNPacket serialises them
 * (issue #17, item 5, and the "silent drops" part):
 * - the `pub0sub1` sample and the gateway's test client read the answer to their PUBLISH with a
 *   blocking read before anything else; a client subscribed to its own topic got its own message
 *   first and took it for the PUBACK;
 * - MQTTSNPacket writes a 255-byte message with the 3-byte length form `01 00 ff` (257 bytes on
 *   the wire); the gateway drops it, and now says so in the log at info;
 * - the `qos-1pub_extended` sample sends QoS -1 with an inline topic name, off in the shipped
 *   config (`qosMinusOne.inlineTopicNames`); dropped as before, and now logged with the option.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex, msg, shippedSuite, u16, until, utf8 } from './harness.js';

describe('interop: Paho MQTTSNPacket samples and test client', () => {
  const suite = shippedSuite();
  const client = suite.client;

  it('pub0sub1: the PUBACK comes before its own message', async () => {
    const c = await client();
    // MQTTSNSerialize_connect: flags 0x04 (cleansession), protocol 1, duration 10 s, "pub0sub1 MQTT-SN".
    c.send(msg('04', '04', '01', '000a', utf8('pub0sub1 MQTT-SN')));
    assert.equal((await c.next('CONNACK')).returnCode, 0);
    // MQTTSNSerialize_subscribe: flags 0x20 (QoS 1, topic name), MsgId 1, "substopic".
    c.send(msg('12', '20', '0001', utf8('substopic')));
    const suback = await c.next('SUBACK');
    assert.equal(suback.returnCode, 0);
    // MQTTSNSerialize_publish: flags 0x20 (QoS 1, normal id), the SUBACK's id, MsgId 2, "on".
    c.send(msg('0c', '20', u16(suback.topicId), '0002', utf8('on')));
    // The sample's next read must be the PUBACK: it does not look at anything else.
    const puback = await c.next('PUBACK');
    assert.deepEqual([puback.msgId, puback.returnCode], [2, 0]);
    const own = await c.next('PUBLISH');
    assert.equal(own.payload.toString(), 'on');
    c.send(msg('0d', u16(suback.topicId), u16(own.msgId), '00'));
  });

  it('MQTTSNPacket: its malformed 255-byte frame from a connected client is logged at info', async () => {
    const c = await client();
    c.send(msg('04', '04', '01', '000a', utf8('paho-long')));
    assert.equal((await c.next('CONNACK')).returnCode, 0);
    // PUBLISH QoS 0 of 255 bytes in all, with MQTTSNPacket_encode's header: 01 00 ff, then
    // MsgType, Flags, TopicId 0x0001, MsgId 0, and 248 payload bytes: 257 bytes on the wire.
    const frame = Buffer.concat([hex('01 00 ff 0c 00 0001 0000'), Buffer.alloc(248, 0x61)]);
    assert.equal(frame.length, 257);
    c.send(frame);
    await until('the drop logged', () => suite.gw().lines.some((l) => l.obj.reason === 'decode' && l.obj.clientId === 'paho-long'));
    const line = suite.gw().lines.find((l) => l.obj.reason === 'decode')!;
    assert.equal(line.level, 'info');
    assert.equal(line.obj.code, 'MQTTSN_ERR_LENGTH_MISMATCH');
    assert.equal(typeof line.obj.suppressed, 'number');
  });

  it('qos-1pub_extended: an inline topic name with the option off is logged with the option to set', async () => {
    const c = await client();
    // QoS -1 (flags 0x60), TopicIdType 0b00, name length 3, MsgId 0, "a/b", then "hello".
    c.send(hex('0f 0c 60 0003 0000 612f62 68656c6c6f'));
    await until('the drop logged', () => suite.gw().lines.some((l) => l.obj.reason === 'qosMinusOneRejected'));
    const line = suite.gw().lines.find((l) => l.obj.reason === 'qosMinusOneRejected')!;
    assert.equal(line.level, 'info');
    assert.match(line.msg, /qosMinusOne\.inlineTopicNames/);
  });
});
