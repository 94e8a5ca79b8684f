/**
 * mqtt-sn-tools (`mqtt-sn-sub -c`, clean session off), replayed byte for byte (issue #17, item 6).
 * A sleeping client that comes back with CONNECT instead of PINGREQ (as the tools do, and as a
 * device does that rebooted while asleep) has lost its topic table: its buffered message must come
 * after a REGISTER, as on any reconnect (MQTT-SN 1.2 §6.10), never on a bare normal topic id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { msg, Replay, startShipped, u16, utf8, type ShippedGateway } from './harness.js';

describe('interop: mqtt-sn-tools', () => {
  let gw: ShippedGateway;
  let c: Replay;

  before(async () => {
    gw = await startShipped();
    c = await Replay.open(gw.udpPort);
  });
  after(async () => {
    await c.close();
    await gw.close();
  });

  it('a sleeper that CONNECTs gets REGISTER before its buffered message', async () => {
    // CONNECT: flags 0x00 (-c: clean session off), protocol 1, keep-alive 10 s, "mqtt-sn-tools-4242".
    const connect = msg('04', '00', '01', '000a', utf8('mqtt-sn-tools-4242'));
    c.send(connect);
    assert.equal((await c.next('CONNACK')).returnCode, 0);
    // SUBSCRIBE: flags 0x00 (QoS 0, topic name), MsgId 1, "sensors/cmd".
    c.send(msg('12', '00', '0001', utf8('sensors/cmd')));
    const suback = await c.next('SUBACK');
    assert.equal(suback.returnCode, 0);
    // DISCONNECT with a duration of 60 s: asleep.
    c.send(msg('18', '003c'));
    await c.next('DISCONNECT');

    await gw.running.broker.publish({ topic: 'sensors/cmd', payload: Buffer.from('reboot'), qos: 1, retain: false }, 'mqtt');

    // The same CONNECT again, instead of PINGREQ with the client id.
    c.send(connect);
    assert.equal((await c.next('CONNACK')).returnCode, 0);
    const reg = await c.next('REGISTER');
    assert.equal(reg.topicName, 'sensors/cmd');
    // REGACK: the id, the REGISTER's MsgId, accepted.
    c.send(msg('0b', u16(reg.topicId), u16(reg.msgId), '00'));
    const pub = await c.next('PUBLISH');
    assert.deepEqual([pub.topicIdType === 'normal' && pub.topicId, pub.payload.toString()], [reg.topicId, 'reboot']);
  });
});
