/**
 * What a device sees of a gateway, through SimNode's public API only: the tests that must pass
 * against any conforming MQTT-SN v1.2 gateway (see gateway-under-test.ts for how to swap it).
 * Topics carry a per-run prefix so a gateway with retained state does not disturb them.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimMessage, SimNode } from '../../firmware-sim/node.js';
import { gatewaysUnderTest, startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.js';
import { NodePool } from './helpers.js';

const run = `t${process.pid.toString(36)}${Date.now().toString(36)}`;

/** Resolves with the first `n` messages the node delivers. */
function collect(node: SimNode, n: number, timeoutMs = 3000): Promise<SimMessage[]> {
  const got: SimMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`got ${got.length} of ${n} messages`));
    }, timeoutMs);
    const off = node.on('message', (m) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
  });
}

for (const which of gatewaysUnderTest()) describe(`SimNode against the gateway under test: ${which}`, () => {
  let gw: GatewayUnderTest;
  const pool = new NodePool();
  let seq = 0;
  const id = (what: string): string => `${run}-${what}-${++seq}`;

  before(async () => {
    gw = await startGatewayUnderTest(which);
  });
  afterEach(() => pool.closeAll());
  after(() => gw.close());

  it('connects with and without a will, and disconnects', async () => {
    const a = await pool.node(gw.url);
    await a.connect({ clientId: id('plain'), keepAlive: 30 });
    assert.equal(a.state, 'active');
    const b = await pool.node(gw.url);
    await b.connect({ clientId: id('will'), keepAlive: 30, will: { topic: `${run}/will`, payload: 'offline', qos: 1 } });
    assert.equal(b.state, 'active');
    await a.disconnect();
    await b.disconnect();
    assert.equal(a.state, 'disconnected');
  });

  it('delivers QoS 0, 1 and 2 publishes on a registered name to a subscriber', async () => {
    const topic = `${run}/room1/temperature`;
    const sub = await pool.node(gw.url);
    await sub.connect({ clientId: id('sub'), keepAlive: 30 });
    const granted = await sub.subscribe(topic, 2);
    assert.equal(granted.grantedQos, 2);
    const pub = await pool.node(gw.url);
    await pub.connect({ clientId: id('pub'), keepAlive: 30 });
    const got = collect(sub, 3);
    for (const qos of [0, 1, 2] as const) await pub.publish({ topic, payload: JSON.stringify({ t: 21.4, qos }), qos });
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => [m.topic, m.qos]).sort(), [[topic, 0], [topic, 1], [topic, 2]]);
  });

  it('names wildcard matches through the gateway REGISTER', async () => {
    const sub = await pool.node(gw.url);
    await sub.connect({ clientId: id('wsub'), keepAlive: 30 });
    const r = await sub.subscribe(`${run}/+/door`, 1);
    assert.equal(r.topicId, 0);
    const pub = await pool.node(gw.url);
    await pub.connect({ clientId: id('wpub'), keepAlive: 30 });
    const got = collect(sub, 2);
    await pub.publish({ topic: `${run}/hall/door`, payload: '{"open":true}', qos: 1 });
    await pub.publish({ topic: `${run}/garage/door`, payload: '{"open":false}', qos: 1 });
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => m.topic).sort(), [`${run}/garage/door`, `${run}/hall/door`]);
  });

  it('carries short topic names and predefined ids, QoS -1 included', async () => {
    const [preId, preName] = Object.entries(gw.predefined)[0]!;
    const sub = await pool.node(gw.url, { predefinedTopics: gw.predefined });
    await sub.connect({ clientId: id('ssub'), keepAlive: 30 });
    await sub.subscribe({ shortName: 'zq' }, 1);
    await sub.subscribe({ predefinedId: Number(preId) }, 1);
    const pub = await pool.node(gw.url);
    await pub.connect({ clientId: id('spub'), keepAlive: 30 });
    const got = collect(sub, 2);
    await pub.publish({ shortName: 'zq', payload: 'short', qos: 1 });
    const beacon = await pool.node(gw.url);
    await beacon.publish({ predefinedId: Number(preId), payload: '{"rssi":-60}', qos: -1 });
    const msgs = await got;
    assert.deepEqual(msgs.map((m) => m.topic).sort(), [preName, 'zq'].sort());
  });

  it('buffers for a sleeping node and hands the messages over at wake-up', async () => {
    const topic = `${run}/sleepy/config`;
    const sleeper = await pool.node(gw.url);
    const clientId = id('sleepy');
    await sleeper.connect({ clientId, keepAlive: 30, cleanSession: false });
    await sleeper.subscribe(topic, 1);
    await sleeper.sleep(60);
    // An awake subscriber to the same topic: once it has both messages, the gateway has routed
    // them, to the sleeper's buffer too (one routing per message), and the wake-up can come.
    const witness = await pool.node(gw.url);
    await witness.connect({ clientId: id('witness'), keepAlive: 30 });
    await witness.subscribe(topic, 1);
    const seen = collect(witness, 2);
    const pub = await pool.node(gw.url);
    await pub.connect({ clientId: id('cfg'), keepAlive: 30 });
    await pub.publish({ topic, payload: '{"interval":30}', qos: 1 });
    await pub.publish({ topic, payload: '{"interval":60}', qos: 1 });
    await seen;
    const msgs = await sleeper.wake();
    assert.deepEqual(msgs.map((m) => m.payload.toString()), ['{"interval":30}', '{"interval":60}']);
    assert.equal(sleeper.state, 'asleep');
    await sleeper.connect({ clientId, keepAlive: 30, cleanSession: false });
    assert.equal(sleeper.state, 'active');
  });
});
