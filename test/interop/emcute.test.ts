/**
 * RIOT OS's emcute, replayed byte for byte (issue #17, items 7 and 8). emcute has no handler for
 * a REGISTER from the gateway (it never answers one), and it answers every PUBLISH with DUP set
 * with PUBACK 0x03.
 *
 * These tests lift `timers.retryMs` to 200 ms so that the gateway's retransmissions happen within
 * a test's time; the same rules run with the shipped 10 s T_RETRY on the fake clock in
 * test/gateway/interop-rules.test.ts. `timers.maxRetries` stays as shipped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { msg, shippedSuite, u16, until, utf8, type Replay } from './harness.js';

describe('interop: RIOT emcute', () => {
  // See above: time, not behaviour.
  const suite = shippedSuite((json) => {
    json.timers = { retryMs: 200 };
  });
  const client = async (id: string): Promise<Replay> => {
    const r = await suite.client();
    // emcute_con: flags 0x04 (clean session), protocol 1, EMCUTE_KEEPALIVE 360 s, the node's id.
    r.send(msg('04', '04', '01', '0168', utf8(id)));
    assert.equal((await r.next('CONNACK')).returnCode, 0);
    return r;
  };

  it('a REGISTER it never answers costs that message and topic, not the session', async () => {
    const c = await client('riot-a');
    // emcute_sub: flags 0x00 (QoS 0, topic name), MsgId 1, "s/#".
    c.send(msg('12', '00', '0001', utf8('s/#')));
    assert.equal((await c.next('SUBACK')).returnCode, 0);
    await suite.gw().running.broker.publish({ topic: 's/a', payload: Buffer.from('1'), qos: 0, retain: false }, 'mqtt');
    // The first REGISTER and timers.maxRetries (3, shipped) retransmissions, none answered.
    for (let i = 0; i < 4; i++) assert.equal((await c.next('REGISTER')).topicName, 's/a');
    await until('the REGISTER given up', () => suite.gw().running.gateway.stats.dropped.registerUnanswered === 1);
    // emcute's keep-alive ping still finds its session.
    c.send(msg('16'));
    await c.next('PINGRESP');
    assert.equal(suite.gw().running.gateway.sessions.get('riot-a')?.state, 'active');
    const line = suite.gw().lines.find((l) => l.obj.reason === 'registerUnanswered');
    assert.deepEqual([line?.level, line?.obj.topic], ['info', 's/a']);
    // Another topic under the same subscription is offered again.
    await suite.gw().running.broker.publish({ topic: 's/b', payload: Buffer.from('2'), qos: 0, retain: false }, 'mqtt');
    assert.equal((await c.next('REGISTER')).topicName, 's/b');
  });

  it('PUBACK 0x03 to a DUP copy is counted by return code and logged', async () => {
    const c = await client('riot-b');
    // emcute_sub: flags 0x20 (QoS 1, topic name), MsgId 1, "cmd".
    c.send(msg('12', '20', '0001', utf8('cmd')));
    const suback = await c.next('SUBACK');
    assert.equal(suback.returnCode, 0);
    await suite.gw().running.broker.publish({ topic: 'cmd', payload: Buffer.from('on'), qos: 1, retain: false }, 'mqtt');
    const first = await c.next('PUBLISH'); // lost on the radio: emcute never sees it
    assert.equal(first.dup, false);
    const dup = await c.next('PUBLISH');
    assert.equal(dup.dup, true);
    // emcute's answer to a DUP: PUBACK with the topic id, the MsgId and 0x03 (not supported).
    c.send(msg('0d', u16(suback.topicId), u16(dup.msgId), '03'));
    await until('the refusal counted', () => suite.gw().running.gateway.stats.clientRefusals.PUBACK['0x03'] === 1);
    assert.equal(suite.gw().running.gateway.stats.dropped.clientRefused, 1);
    const line = suite.gw().lines.find((l) => l.obj.reason === 'clientRefused');
    assert.deepEqual([line?.level, line?.obj.clientId, line?.obj.dup, line?.obj.returnCode], ['info', 'riot-b', true, 3]);
  });
});
