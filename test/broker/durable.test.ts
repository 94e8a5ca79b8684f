/**
 * A listener client's QoS 1 and QoS 2 publishes are acknowledged (PUBACK, PUBREC) only once they
 * are delivered and the store says they are durable. aedes by itself sends PUBACK before it
 * delivers; these tests fail if that order comes back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { createLocalBroker, type LocalBrokerCore } from '../../src/broker/local-broker.js';
import type { BrokerMessage } from '../../src/broker/types.js';
import { expectNothing, until } from '../helpers/wait.js';

/** A `durable` function whose promises the test resolves, one by one, in order. */
function heldDurable(): { durable: () => Promise<void>; pending: () => number; releaseOne: () => void; releaseAll: () => void } {
  const waiting: Array<() => void> = [];
  return {
    durable: () => new Promise<void>((r) => waiting.push(r)),
    pending: () => waiting.length,
    releaseOne: () => {
      const next = waiting.shift();
      assert.ok(next !== undefined, 'nothing waits for durable()');
      next();
    },
    // In `finally`: a failed test must not leave the broker waiting on the store at close.
    releaseAll: () => {
      for (const r of waiting.splice(0)) r();
    },
  };
}

let marks = 0;
/**
 * Barrier (wait.ts `expectNothing`): the broker sends `client`, subscribed to `mark/#`, a message
 * on its connection and the test waits for it. Whatever the broker wrote to that connection
 * before (an early PUBACK, a second copy) has been read by then, as TCP keeps order.
 */
async function mark(broker: LocalBrokerCore, client: MqttClient): Promise<void> {
  const topic = `mark/${++marks}`;
  let seen = false;
  const on = (t: string): void => {
    if (t === topic) seen = true;
  };
  client.on('message', on);
  try {
    await broker.publish({ topic, payload: Buffer.from('m'), qos: 0, retain: false }, 'test');
    await until(() => seen, 5000, `the marker ${topic}`);
  } finally {
    client.off('message', on);
  }
}

/** The commands of the packets `client` receives, in order (MQTT.js reports each as it is read). */
function packetsOf(client: MqttClient): string[] {
  const cmds: string[] = [];
  client.on('packetreceive', (p) => cmds.push(p.cmd));
  return cmds;
}

describe('broker core: durable acknowledgement of listener publishes', () => {
  it('holds PUBREC until durable() resolves; QoS 0 and in-process publishes do not wait', { timeout: 15_000 }, async () => {
    const held = heldDurable();
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }], durable: held.durable });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, { reconnectPeriod: 0 });
    const received = packetsOf(client);
    await client.subscribeAsync('mark/#', { qos: 0 });
    try {
      let acked = false;
      const pub = client.publishAsync('t/q2', 'x', { qos: 2 }).then(() => {
        acked = true;
      });
      await until(() => held.pending() === 1, 5000, 'the store asked');
      await expectNothing('PUBREC before the store is durable', () => mark(broker, client), () => received.filter((c) => c === 'pubrec'));
      assert.equal(acked, false, 'no PUBCOMP before the store is durable');
      held.releaseOne();
      await pub;
      assert.equal(acked, true);
      await client.publishAsync('t/q0', 'y', { qos: 0 });
      await broker.publish({ topic: 't/in', payload: Buffer.from('z'), qos: 1, retain: false }, 'test');
      assert.equal(held.pending(), 0, 'QoS 0 and in-process publishes do not wait');
    } finally {
      held.releaseAll();
      await client.endAsync();
      await broker.close();
    }
  });

  it('sends a QoS 1 PUBACK only after delivery and durable(), in order, delivering each message once', { timeout: 15_000 }, async () => {
    const held = heldDurable();
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }], durable: held.durable });
    const url = `mqtt://127.0.0.1:${broker.listeners[0]!.port}`;
    const inProcess: string[] = [];
    await broker.subscribe('q1/#', (m: BrokerMessage) => inProcess.push(m.payload.toString()));
    const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const overTcp: string[] = [];
    subscriber.on('message', (t, payload) => {
      if (!t.startsWith('mark/')) overTcp.push(payload.toString());
    });
    await subscriber.subscribeAsync(['q1/#', 'mark/#'], { qos: 1 });
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const received = packetsOf(client);
    await client.subscribeAsync('mark/#', { qos: 0 });
    try {
      const acked: string[] = [];
      const pubs = ['a', 'b', 'c'].map((p) => client.publishAsync(`q1/${p}`, p, { qos: 1 }).then(() => acked.push(p)));
      await until(() => held.pending() === 3, 5000, 'three messages waiting for the store');
      assert.deepEqual(inProcess, ['a', 'b', 'c'], 'delivered into the broker core before the acknowledgement');
      await expectNothing('PUBACK before the store is durable', () => mark(broker, client), () => received.filter((c) => c === 'puback'));
      assert.deepEqual(acked, []);
      held.releaseOne();
      await until(() => acked.length === 1, 5000, 'the first PUBACK');
      await expectNothing('a second PUBACK after one commit', () => mark(broker, client), () => received.filter((c) => c === 'puback').slice(1));
      assert.deepEqual(acked, ['a'], 'one commit, one PUBACK');
      held.releaseOne();
      held.releaseOne();
      await Promise.all(pubs);
      assert.deepEqual(acked, ['a', 'b', 'c']);
      await until(() => overTcp.length >= 3, 5000, 'the TCP subscriber has all three');
      await expectNothing('a second copy over TCP', () => mark(broker, subscriber), () => overTcp.slice(3));
      assert.deepEqual(overTcp.sort(), ['a', 'b', 'c'], 'each message delivered once over TCP');
      assert.deepEqual(inProcess, ['a', 'b', 'c'], 'each message delivered once in process');
    } finally {
      held.releaseAll();
      await client.endAsync();
      await subscriber.endAsync();
      await broker.close();
    }
  });

  it('without a durable store, a QoS 1 message is still delivered once and acknowledged', async () => {
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }] });
    const got: string[] = [];
    await broker.subscribe('m/#', (m) => got.push(m.payload.toString()));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.listeners[0]!.port}`, { reconnectPeriod: 0 });
    try {
      for (let i = 0; i < 20; i++) await client.publishAsync('m/x', String(i), { qos: 1 });
      // Acknowledged after delivery: nothing to wait for once the last PUBACK is in.
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
      // `$SYS/` stays the broker's own, as with aedes' default authorization that ours replaces.
      const sys: string[] = [];
      await broker.subscribe('$SYS/x', (m) => sys.push(m.payload.toString()));
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      client.publish('$SYS/x', 'no', { qos: 1 });
      await closed;
      assert.deepEqual(sys, [], 'a client cannot publish into $SYS/');
    } finally {
      await client.endAsync(true);
      await broker.close();
    }
  });
});
