/**
 * Retained messages of the local broker core are capped (in all, in bytes, per client) and indexed
 * by topic (#16 §2). With the shipped defaults (`broker.maxRetained*`), on aedes in process and
 * over a real TCP listener.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createLocalBroker, DEFAULT_RETAINED_LIMITS, type LocalBrokerCore } from '../../src/broker/local-broker.js';
import { RetainedIndex } from '../../src/broker/retained-index.js';
import { persistRetained } from '../../src/broker/retained-persistence.js';
import { brokerUplink } from '../../src/broker/uplink.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { defaultConfig } from '../../src/config/index.js';
import { topicMatchesFilter } from '../../src/topics/topic-names.js';
import { until } from '../helpers/wait.js';

const defaults = defaultConfig().broker;

async function withBroker(fn: (broker: LocalBrokerCore) => Promise<void>): Promise<void> {
  const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }] });
  try {
    await fn(broker);
  } finally {
    await broker.close();
  }
}

const retain = (topic: string, payload: string | Buffer) => ({ topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 0 as const, retain: true });

describe('local broker: retained caps with the shipped defaults', () => {
  it('the config defaults are the broker defaults', () => {
    assert.deepEqual(
      { maxMessages: defaults.maxRetainedMessages, maxBytes: defaults.maxRetainedBytes, maxPerClient: defaults.maxRetainedPerClient },
      DEFAULT_RETAINED_LIMITS,
    );
  });

  it(`keeps at most ${DEFAULT_RETAINED_LIMITS.maxMessages} retained messages; beyond, a new topic is delivered but not kept`, async () => {
    await withBroker(async (broker) => {
      const { maxMessages } = DEFAULT_RETAINED_LIMITS;
      for (let i = 0; i < maxMessages; i++) await broker.publish(retain(`site/${i}`, 'v'), 'bridge');
      const live: string[] = [];
      await broker.subscribe('extra/#', (m) => live.push(m.topic));
      await broker.publish(retain('extra/one', 'v'), 'bridge');
      assert.deepEqual(live, ['extra/one'], 'delivered');
      assert.deepEqual(await broker.retained('extra/#'), [], 'not kept');
      assert.equal(broker.retainedRefused.maxMessages, 1);
      // Replacing a kept one still works, and clearing one makes room.
      await broker.publish(retain('site/0', 'new'), 'bridge');
      assert.equal((await broker.retained('site/0'))[0]?.payload.toString(), 'new');
      await broker.publish(retain('site/1', ''), 'bridge');
      await broker.publish(retain('extra/one', 'v'), 'bridge');
      assert.equal((await broker.retained('extra/#')).length, 1);
      assert.equal(broker.retainedIndex.count, maxMessages);
    });
  });

  it(`keeps at most ${DEFAULT_RETAINED_LIMITS.maxBytes} bytes of retained messages`, async () => {
    await withBroker(async (broker) => {
      const mib = Buffer.alloc(1024 * 1024 - 8, 1); // with the topic 'big/NNNN', 1 MiB each
      let kept = 0;
      for (let i = 0; i < 20; i++) {
        await broker.publish(retain(`big/${String(i).padStart(4, '0')}`, mib), 'bridge');
        kept = broker.retainedIndex.count;
      }
      assert.equal(kept, DEFAULT_RETAINED_LIMITS.maxBytes / (1024 * 1024));
      assert.ok(broker.retainedIndex.bytes <= DEFAULT_RETAINED_LIMITS.maxBytes);
      assert.equal(broker.retainedRefused.maxBytes, 20 - kept);
    });
  });

  it(`an MQTT-SN client may set at most ${DEFAULT_RETAINED_LIMITS.maxPerClient}; another client is not held to its count`, async () => {
    await withBroker(async (broker) => {
      const uplink = brokerUplink(broker);
      const { maxPerClient } = DEFAULT_RETAINED_LIMITS;
      for (let i = 0; i <= maxPerClient; i++) await uplink.publish('greedy', retain(`g/${i}`, 'v'));
      assert.equal((await broker.retained('g/#')).length, maxPerClient);
      assert.equal(broker.retainedRefused.maxPerClient, 1);
      await uplink.publish('modest', retain('m/state', 'on'));
      assert.equal((await broker.retained('m/state')).length, 1);
      // Clearing one of its own gives the greedy client room again.
      await uplink.publish('greedy', retain('g/0', ''));
      await uplink.publish('greedy', retain(`g/${maxPerClient}`, 'v'));
      assert.equal((await broker.retained('g/#')).length, maxPerClient);
    });
  });

  it('a local MQTT client over TCP is held to the per-client cap too, and its SUBSCRIBE is answered from the index', async () => {
    await withBroker(async (broker) => {
      const l = broker.listeners[0]!;
      const client = await mqtt.connectAsync(`mqtt://${l.host}:${l.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'dash' });
      try {
        const { maxPerClient } = DEFAULT_RETAINED_LIMITS;
        for (let i = 0; i <= maxPerClient; i++) await client.publishAsync(`dash/${i}`, 'v', { retain: true, qos: 1 });
        assert.equal((await broker.retained('dash/#')).length, maxPerClient);
        const got: string[] = [];
        client.on('message', (topic, _p, packet) => {
          if (packet.retain) got.push(topic);
        });
        await client.subscribeAsync('dash/+', { qos: 0 });
        await until(() => got.length >= maxPerClient, 10_000, 'the retained messages after SUBACK');
        await client.publishAsync('dash/marker', 'v', { qos: 1 }); // a barrier: nothing retained may follow it
        await until(() => true);
        assert.equal(got.length, maxPerClient);
        assert.equal(new Set(got).size, maxPerClient);
      } finally {
        await client.endAsync();
      }
    });
  });
});

describe('local broker: retained caps and the store', () => {
  it('a message over a cap is not stored; stored ones over a lowered cap are dropped from the store at start', async () => {
    const store = new MemorySessionStore();
    // A cap of 2 (lowered from 10,000 so that "over" takes three messages): the shipped default is tested above.
    let broker = await createLocalBroker({ retained: { maxMessages: 2 } });
    await persistRetained(broker, store);
    for (const t of ['a', 'b', 'c']) await broker.publish(retain(t, t), 'mqttsn');
    assert.deepEqual((await store.load()).retained.map((m) => m.topic).sort(), ['a', 'b']);
    await broker.close();

    // An older gateway (no cap) left three in the store; this start keeps what the cap allows.
    store.setRetained({ topic: 'c', payload: Buffer.from('c'), qos: 0 });
    broker = await createLocalBroker({ retained: { maxMessages: 2 } });
    try {
      const p = await persistRetained(broker, store);
      assert.equal(p.restored, 2);
      assert.equal((await store.load()).retained.length, 2);
      assert.equal((await broker.retained('#')).length, 2);
    } finally {
      await broker.close();
    }
  });
});

describe('retained index: the same matches as the scan it replaces', () => {
  it('agrees with topicMatchesFilter on every filter over a tree of topics', () => {
    const index = new RetainedIndex({ maxMessages: 1e6, maxBytes: 1e9, maxPerClient: 1e6 });
    const topics = ['a', 'a/b', 'a/b/c', 'a//c', '/a', '$SYS/x', '$app/state', 'x/y/z', 'a/c', 'b', 'a/b/c/d'];
    for (const t of topics) assert.equal(index.set(t, Buffer.from(t), 1, undefined), undefined);
    const filters = ['#', '+', 'a/#', 'a/+', 'a/+/c', '+/b', '+/+', '/+', '+/#', '$SYS/#', '$app/+', 'a', 'a//c', 'a/+/+/#', 'nope/#'];
    for (const f of filters) {
      const got = index.match(f).map((e) => e.topic).sort();
      const want = topics.filter((t) => topicMatchesFilter(f, t)).sort();
      assert.deepEqual(got, want, f);
    }
    index.set('a/b', Buffer.alloc(0), 0, undefined);
    assert.deepEqual(index.match('a/+').map((e) => e.topic).sort(), ['a/c']);
    assert.equal(index.count, topics.length - 1);
  });
});
