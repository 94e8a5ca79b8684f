/**
 * What a device sees when its traffic lands on a gateway instance that has never seen it (the
 * instance it used died and the front end sent it on; README-ADDITIONS-cluster.md): whatever it
 * sends next that needs a session is answered DISCONNECT (MQTT-SN 1.2 §6.13: the gateway cannot
 * place the client), so it CONNECTs again, here with clean session false, and is served.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';

describe('gateway: a device arriving from another instance', () => {
  it('answers its keep-alive PINGREQ with DISCONNECT, then takes its CONNECT (clean session false)', async () => {
    const h = await harness();
    const c = h.client('moved-device');
    c.send({ type: 'PINGREQ' });
    await settle();
    c.one('DISCONNECT');
    await c.connect('dev-1', { cleanSession: false });
    c.send({ type: 'PINGREQ' });
    await settle();
    c.one('PINGRESP');
  });

  it("answers a sleeper's wake-up PINGREQ(client id) for a session it does not hold with DISCONNECT", async () => {
    const h = await harness();
    const c = h.client('woken-elsewhere');
    c.send({ type: 'PINGREQ', clientId: 'sleeper-1' });
    await settle();
    c.one('DISCONNECT');
  });

  it('answers a repeated QoS 1 PUBLISH (DUP) with DISCONNECT and publishes nothing; after CONNECT and REGISTER it is taken', async () => {
    const h = await harness();
    const c = h.client('moved-publisher');
    c.send({ type: 'PUBLISH', dup: true, qos: 1, retain: false, msgId: 7, topicIdType: 'normal', topicId: 1, payload: Buffer.from('x') });
    await settle();
    c.one('DISCONNECT');
    assert.equal(h.broker.published.length, 0);
    await c.connect('dev-2', { cleanSession: false });
    const id = await c.register('c/1/2');
    c.send({ type: 'PUBLISH', dup: true, qos: 1, retain: false, msgId: 8, topicIdType: 'normal', topicId: id, payload: Buffer.from('x') });
    await settle();
    assert.equal(c.one('PUBACK').returnCode, 0);
    assert.deepEqual(h.broker.on('c/1/2'), ['x']);
  });
});
