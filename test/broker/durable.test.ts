/**
 * A listener client's QoS 2 publish is acknowledged (PUBREC) only once the store says it is
 * durable. (aedes answers QoS 1 with PUBACK before it delivers, so QoS 1 cannot be held; the
 * README says so.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createLocalBroker } from '../../src/broker/local-broker.js';

describe('broker core: durable acknowledgement of listener publishes', () => {
  it('holds PUBREC until durable() resolves; QoS 0 and in-process publishes do not wait', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const durable = (): Promise<void> => {
      calls++;
      return new Promise<void>((r) => (release = r));
    };
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }], durable });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, { reconnectPeriod: 0 });
    try {
      let acked = false;
      const pub = client.publishAsync('t/q2', 'x', { qos: 2 }).then(() => {
        acked = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(calls, 1, 'the store was asked');
      assert.equal(acked, false, 'no PUBREC (so no PUBCOMP) before the store is durable');
      release();
      await pub;
      assert.equal(acked, true);
      await client.publishAsync('t/q0', 'y', { qos: 0 });
      await broker.publish({ topic: 't/in', payload: Buffer.from('z'), qos: 1, retain: false }, 'test');
      assert.equal(calls, 1, 'QoS 0 and in-process publishes do not wait');
    } finally {
      await client.endAsync();
      await broker.close();
    }
  });
});
