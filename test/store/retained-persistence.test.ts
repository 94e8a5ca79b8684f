/**
 * Retained messages of the local broker core across a restart: recorded into the store as they
 * are set and cleared, put back at start with origin 'store', and kept from the bridge's view.
 * Real parts: aedes in process, MQTT.js on its listener, a SQLite file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import mqtt from 'mqtt';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import { durableBrokerView, persistRetained, STORE_ORIGIN } from '../../src/broker/retained-persistence.js';
import type { BrokerMessage } from '../../src/broker/types.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { until } from '../helpers/wait.js';

describe('retained persistence', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-retained-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('records retained publishes and clears from every side, and nothing else', async () => {
    const store = new MemorySessionStore();
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }] });
    const p = await persistRetained(broker, store);
    assert.equal(p.restored, 0);
    await broker.publish({ topic: 'site/mode', payload: Buffer.from('eco'), qos: 1, retain: true }, 'mqttsn');
    await broker.publish({ topic: 'site/live', payload: Buffer.from('not kept'), qos: 1, retain: false }, 'mqttsn');
    await broker.publish({ topic: 'site/gone', payload: Buffer.from('x'), qos: 0, retain: true }, 'bridge');
    const l = broker.listeners[0]!;
    const client = await mqtt.connectAsync(`mqtt://${l.host}:${l.port}`, { reconnectPeriod: 0 });
    await client.publishAsync('site/tcp', 'from a local client', { qos: 1, retain: true });
    await client.publishAsync('site/gone', '', { qos: 0, retain: true });
    await client.endAsync();
    // The QoS 0 clear has no acknowledgement to await: wait for the store to reach the state, then
    // assert it (a record of 'site/live', or a clear that never comes, leaves it short of that).
    const want = [
      ['site/mode', 'eco', 1],
      ['site/tcp', 'from a local client', 1],
    ];
    const kept = async (): Promise<unknown[]> => (await store.load()).retained.map((r) => [r.topic, r.payload.toString(), r.qos]).sort();
    await until(async () => isDeepStrictEqual(await kept(), want), 5000, 'the store to hold the two retained messages').catch(() => undefined);
    assert.deepEqual(await kept(), want);
    await p.stop();
    await broker.close();
  });

  it('puts stored messages back at start with origin "store", for subscribers that come later', async () => {
    const path = join(dir, 'restart.db');
    {
      const store = SqliteStore.open(path);
      const broker = await createLocalBroker();
      const p = await persistRetained(broker, store);
      await broker.publish({ topic: 'a/1', payload: Buffer.from('one'), qos: 1, retain: true }, 'mqttsn');
      await broker.publish({ topic: 'a/2', payload: Buffer.from([0, 255]), qos: 0, retain: true }, 'mqttsn');
      await broker.publish({ topic: 'a/3', payload: Buffer.from('three'), qos: 2, retain: true }, 'mqttsn');
      await broker.publish({ topic: 'a/3', payload: Buffer.alloc(0), qos: 0, retain: true }, 'mqttsn');
      await p.stop();
      await broker.close();
      await store.close();
    }
    const store = SqliteStore.open(path);
    const broker = await createLocalBroker();
    const seen: Array<[string, string | undefined]> = [];
    // Someone already listening sees the restore as it happens, tagged.
    const off = await broker.subscribe('a/#', (m, origin) => seen.push([m.topic, origin]));
    const p = await persistRetained(broker, store);
    assert.equal(p.restored, 2);
    assert.deepEqual(seen.sort(), [
      ['a/1', STORE_ORIGIN],
      ['a/2', STORE_ORIGIN],
    ]);
    const kept = await broker.retained('a/#');
    assert.deepEqual(
      kept.map((m) => [m.topic, m.payload.toString('hex'), m.qos, m.retain]).sort(),
      [
        ['a/1', Buffer.from('one').toString('hex'), 1, true],
        ['a/2', '00ff', 0, true],
      ],
    );
    // Restoring wrote nothing back.
    assert.equal((await store.load()).retained.length, 2);
    await off();
    await p.stop();
    await broker.close();
    await store.close();
  });

  it("the bridge's view hides restored messages and resolves a publish once the store has it", async () => {
    const store = new MemorySessionStore();
    const broker = await createLocalBroker();
    let flushes = 0;
    const flushing = { flush: () => ((flushes++, store.flush())) };
    const view = durableBrokerView(broker, flushing);
    const got: Array<[string, string | undefined]> = [];
    const off = await view.subscribe('#', (m: BrokerMessage, origin) => got.push([m.topic, origin]));
    await broker.publish({ topic: 'r', payload: Buffer.from('old'), qos: 1, retain: true }, STORE_ORIGIN);
    await broker.publish({ topic: 'n', payload: Buffer.from('new'), qos: 1, retain: false }, 'mqttsn');
    await view.publish({ topic: 'down', payload: Buffer.from('x'), qos: 1, retain: false }, 'bridge');
    assert.equal(flushes, 1);
    assert.deepEqual(got, [
      ['n', 'mqttsn'],
      ['down', 'bridge'],
    ]);
    await off();
    await broker.close();
  });
});
