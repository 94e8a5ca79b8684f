/**
 * A sleeper whose instance died wakes on another one (issue #21): its wake-up PINGREQ names a
 * client id this instance holds no session for, so it is answered DISCONNECT (MQTT-SN 1.2 §6.14
 * has no other way to say "CONNECT again") and the device CONNECTs with clean session false.
 * test/gateway/failover.test.ts covers the packets of an active device.
 */
import { describe, it } from 'node:test';
import { harness, settle } from './harness.js';

describe('gateway: a sleeper waking on an instance that never saw it', () => {
  it('answers the wake-up PINGREQ(client id) with DISCONNECT, then serves its CONNECT (clean session false)', async () => {
    const h = await harness();
    const c = h.client('woken-elsewhere');
    c.send({ type: 'PINGREQ', clientId: 'sleeper-1' });
    await settle();
    c.one('DISCONNECT');
    await c.connect('sleeper-1', { cleanSession: false });
    c.send({ type: 'PINGREQ' });
    await settle();
    c.one('PINGRESP');
  });
});
