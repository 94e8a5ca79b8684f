/**
 * Frames above the shipped UDP `maxFrameSize` (1400) that arrived whole (issue #17, item 11), as
 * a client built on Paho's MQTTSNPacket writes them: the 3-byte Length form (`01 HH LL`,
 * MQTT-SN.md §1.1) for anything over 255 bytes. A scripted client on the shipped config.
 *
 * - A 2000-byte WILLMSG must finish the CONNECT handshake, not leave the client waiting.
 * - A 2000-byte PUBLISH from a client is taken: the kernel delivered it whole.
 * - A 2000-byte message for a client is not sent (maxFrameSize guards what the gateway sends),
 *   and the skip is counted and logged at info.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { message, startShipped, udpClient, until, utf8, type ShippedGateway } from './shipped-gateway.js';

const BIG = Buffer.alloc(2000, 0x5a);

describe('interop: Paho-style 3-byte-Length frames over UDP, shipped config', () => {
  let gw: ShippedGateway;

  before(async () => {
    gw = await startShipped();
  });
  after(async () => {
    await gw.close();
  });

  it('a 2000-byte WILLMSG completes the will dance with CONNACK', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      // CONNECT: flags 0x0C (will, clean session), protocol 1, keep-alive 30 s, "paho-big-will".
      c.send(message('04', '0c', '01', '001e', utf8('paho-big-will')));
      assert.equal((await c.received.next(5000, 'WILLTOPICREQ')).toString('hex'), '0206');
      // WILLTOPIC: flags 0x20 (QoS 1), "paho/will".
      c.send(message('07', '20', utf8('paho/will')));
      assert.equal((await c.received.next(5000, 'WILLMSGREQ')).toString('hex'), '0208');
      const willmsg = message('09', BIG);
      assert.equal(willmsg.subarray(0, 4).toString('hex'), '0107d409', '3-byte Length, 2004 bytes in all');
      c.send(willmsg);
      assert.equal((await c.received.next(5000, 'CONNACK')).toString('hex'), '030500');
    } finally {
      await c.close();
    }
  });

  it('a 2000-byte PUBLISH from a client reaches the broker, acknowledged', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      c.send(message('04', '04', '01', '001e', utf8('paho-big-pub')));
      assert.equal((await c.received.next()).toString('hex'), '030500');
      c.send(message('0a', '0000', '0001', utf8('paho/big')));
      const regack = (await c.received.next()).toString('hex');
      const topicId = regack.slice(4, 8);
      c.send(message('0c', '20', topicId, '0002', BIG));
      assert.equal((await c.received.next(5000, 'PUBACK')).toString('hex'), `070d${topicId}000200`);
      await until(() => gw.published.some((m) => m.topic === 'paho/big'), 5000, 'the message at the broker');
      assert.deepEqual(gw.published.find((m) => m.topic === 'paho/big')?.payload, BIG);
    } finally {
      await c.close();
    }
  });

  it('a 2000-byte message for a subscriber is not sent over 1400-byte UDP: counted and logged at info', async () => {
    const c = await udpClient(gw.udpPort);
    try {
      c.send(message('04', '04', '01', '001e', utf8('paho-sub')));
      assert.equal((await c.received.next()).toString('hex'), '030500');
      // SUBSCRIBE: flags 0x20 (QoS 1, topic name), MsgId 1, "paho/down"
      c.send(message('12', '20', '0001', utf8('paho/down')));
      const suback = (await c.received.next(5000, 'SUBACK')).toString('hex');
      assert.match(suback, /^0813/);
      await gw.running.broker.publish({ topic: 'paho/down', payload: BIG, qos: 1, retain: false }, 'test');
      await gw.running.broker.publish({ topic: 'paho/down', payload: utf8('small'), qos: 0, retain: false }, 'test');
      // The small one arrives on the id the SUBACK gave; the big one never went out.
      const pub = await c.received.next(5000, 'PUBLISH');
      assert.equal(pub[1], 0x0c);
      assert.equal(pub.subarray(3, 5).toString('hex'), suback.slice(6, 10));
      assert.equal(pub.subarray(7).toString(), 'small');
      assert.equal(gw.running.gateway.stats.dropped.tooLarge, 1);
      const line = gw.lines.find((l) => l.level === 'info' && l.obj.reason === 'tooLarge');
      assert.ok(line, 'the skip was logged at info');
      assert.deepEqual([line.obj.clientId, line.obj.topic, line.obj.limit], ['paho-sub', 'paho/down', 1400]);
    } finally {
      await c.close();
    }
  });
});
