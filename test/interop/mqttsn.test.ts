/**
 * `mqttsn` 0.0.4 (Python, from the package registry), replayed byte for byte. Two habits of that
 * client meet a strict gateway (issue #17, items 1 and 2):
 * - it ORs 0x04 (the CONNECT-only CleanSession bit) into the Flags byte of every PUBLISH and
 *   SUBSCRIBE it writes; MQTT-SN 1.2 §5.3.4 says unused bits are ignored on receipt;
 * - it sends MsgId 0 in REGISTER, SUBSCRIBE and UNSUBSCRIBE; 1.2 reserves 0 only for QoS 0/-1
 *   PUBLISH, so the gateway accepts it and echoes it.
 * Before the fix each of these frames was dropped as malformed with no answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerMessage } from '../../src/broker/types.js';
import { msg, Replay, startShipped, u16, until, utf8, type ShippedGateway } from './harness.js';

describe('interop: mqttsn 0.0.4', () => {
  let gw: ShippedGateway;
  let c: Replay;
  const atBroker: BrokerMessage[] = [];

  before(async () => {
    gw = await startShipped();
    await gw.running.broker.subscribe('mqttsn/#', (m) => void atBroker.push(m));
    c = await Replay.open(gw.udpPort);
  });
  after(async () => {
    await c.close();
    await gw.close();
  });

  it('connects, registers, subscribes, publishes and unsubscribes with its own flags and MsgIds', async () => {
    // CONNECT: flags 0x04 (clean session), protocol 1, keep-alive 30 s, client id "mqttsn-py".
    c.send(msg('04', '04', '01', '001e', utf8('mqttsn-py')));
    assert.equal((await c.next('CONNACK')).returnCode, 0);

    // REGISTER: TopicId 0x0000, MsgId 0x0000, "mqttsn/out".
    c.send(msg('0a', '0000', '0000', utf8('mqttsn/out')));
    const regack = await c.next('REGACK');
    assert.deepEqual([regack.msgId, regack.returnCode], [0, 0]);
    const out = regack.topicId;

    // SUBSCRIBE: flags 0x24 (QoS 1 | 0x04), MsgId 0x0000, topic name "mqttsn/in".
    c.send(msg('12', '24', '0000', utf8('mqttsn/in')));
    const suback = await c.next('SUBACK');
    assert.deepEqual([suback.msgId, suback.returnCode, suback.qos], [0, 0, 1]);

    // PUBLISH QoS 0: flags 0x04 (QoS 0 | 0x04), the registered id, MsgId 0, "21.5".
    c.send(msg('0c', '04', u16(out), '0000', utf8('21.5')));
    // PUBLISH QoS 1: flags 0x24, MsgId 0x0001, "22.0".
    c.send(msg('0c', '24', u16(out), '0001', utf8('22.0')));
    const puback = await c.next('PUBACK');
    assert.deepEqual([puback.topicId, puback.msgId, puback.returnCode], [out, 1, 0]);
    await until('both messages at the broker', () => atBroker.length === 2);
    assert.deepEqual(
      atBroker.map((m) => [m.topic, m.payload.toString(), m.qos]),
      [
        ['mqttsn/out', '21.5', 0],
        ['mqttsn/out', '22.0', 1],
      ],
    );

    // UNSUBSCRIBE: flags 0x04, MsgId 0x0000, "mqttsn/in".
    c.send(msg('14', '04', '0000', utf8('mqttsn/in')));
    assert.equal((await c.next('UNSUBACK')).msgId, 0);
  });
});
