/**
 * What a local MQTT listener client may cost, with the shipped defaults: connections at once, the
 * size of a packet (checked on its header, before its body is buffered), the wait for CONNECT,
 * and the password checks running at once, which must leave the store's fsync its threads.
 * Raw sockets and MQTT.js against the real aedes listener on 127.0.0.1.
 */
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MAX_RUNNING_CHECKS } from '../../src/broker/listener-auth.js';
import { createLocalBroker, DEFAULT_LISTENER_LIMITS, type LocalBrokerCore } from '../../src/broker/local-broker.js';
import { hashPassword, parsePasswordFile, PasswordTable } from '../../src/broker/passwords.js';
import { defaultConfig } from '../../src/config/index.js';
import { SqliteBrokerPersistence } from '../../src/store/sqlite-broker-persistence.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { remainingLength } from '../helpers/mqtt-bytes.js';
import { until } from '../helpers/wait.js';

const listen = [{ host: '127.0.0.1', port: 0 }];
const portOf = (b: LocalBrokerCore): number => b.listeners[0]!.port;

function rawSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('local listener limits: the shipped defaults', () => {
  it('the config and the broker core agree on them', () => {
    const { maxConnections, maxPacketBytes, connectTimeoutMs } = defaultConfig().broker;
    assert.deepEqual({ maxConnections, maxPacketBytes, connectTimeoutMs }, DEFAULT_LISTENER_LIMITS);
    assert.deepEqual(DEFAULT_LISTENER_LIMITS, { maxConnections: 1000, maxPacketBytes: 1024 * 1024, connectTimeoutMs: 10_000 });
  });

  it('closes the connection beyond maxConnections at once, and takes one again when a slot is free', { timeout: 30_000 }, async () => {
    const broker = await createLocalBroker({ listen });
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < DEFAULT_LISTENER_LIMITS.maxConnections; i++) sockets.push(await rawSocket(portOf(broker)));
      await until(() => broker.listenerConnections === DEFAULT_LISTENER_LIMITS.maxConnections, 10_000, 'all accepted');
      const extra = await rawSocket(portOf(broker));
      await until(() => extra.closed || extra.readableEnded, 10_000, 'the extra connection closed by the listener');
      extra.destroy();
      assert.equal(broker.listenerLimitStats.overConnections, 1);
      assert.equal(broker.listenerConnections, DEFAULT_LISTENER_LIMITS.maxConnections, 'the others stay');
      sockets.pop()!.destroy();
      await until(() => broker.listenerConnections < DEFAULT_LISTENER_LIMITS.maxConnections, 10_000, 'a slot freed');
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${portOf(broker)}`, { reconnectPeriod: 0 });
      await client.endAsync();
    } finally {
      for (const s of sockets) s.destroy();
      await broker.close();
    }
  });

  it('closes a client whose CONNECT announces 200 MB on its header, before reading the body', { timeout: 30_000 }, async () => {
    const broker = await createLocalBroker({ listen });
    try {
      const s = await rawSocket(portOf(broker));
      s.on('error', () => undefined);
      let closed = false;
      s.once('close', () => (closed = true));
      s.write(Uint8Array.from([0x10, ...remainingLength(200 * 1024 * 1024)]));
      // Keep sending body bytes, as a hostile client would; the listener must not take them in.
      const chunk = Buffer.alloc(64 * 1024);
      const LIMIT = 64 * 1024 * 1024;
      while (!closed && s.bytesWritten < LIMIT) {
        if (!s.write(chunk)) await new Promise((r) => (s.once('drain', r), s.once('close', r)));
      }
      await until(() => closed, 10_000, 'the connection closed');
      assert.ok(s.bytesWritten < LIMIT, `closed only after ${s.bytesWritten} bytes`);
      assert.equal(broker.listenerLimitStats.oversizedPackets, 1);
    } finally {
      await broker.close();
    }
  });

  it('takes a 512 KiB publish under the default packet limit', { timeout: 15_000 }, async () => {
    const broker = await createLocalBroker({ listen });
    const got: number[] = [];
    await broker.subscribe('big/#', (m) => got.push(m.payload.length));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${portOf(broker)}`, { reconnectPeriod: 0 });
    try {
      await client.publishAsync('big/one', Buffer.alloc(512 * 1024), { qos: 1 });
      assert.deepEqual(got, [512 * 1024]);
      assert.equal(broker.listenerLimitStats.oversizedPackets, 0);
    } finally {
      await client.endAsync();
      await broker.close();
    }
  });

  it('closes a connection that sends no CONNECT within connectTimeoutMs', { timeout: 15_000 }, async () => {
    // Fake time for the wait: aedes' timer is a plain setTimeout, made when the socket is accepted.
    mock.timers.enable({ apis: ['setTimeout'] });
    const broker = await createLocalBroker({ listen });
    try {
      const s = await rawSocket(portOf(broker));
      let closed = false;
      s.once('close', () => (closed = true));
      const turns = async (n: number): Promise<void> => {
        for (let i = 0; i < n && !closed; i++) await new Promise((r) => setImmediate(r));
      };
      for (let i = 0; i < 10_000 && broker.listenerConnections === 0; i++) await turns(1);
      assert.equal(broker.listenerConnections, 1, 'accepted');
      mock.timers.tick(DEFAULT_LISTENER_LIMITS.connectTimeoutMs - 1);
      await turns(200);
      assert.equal(closed, false, 'still open just before the limit');
      mock.timers.tick(1);
      await turns(100_000);
      assert.equal(closed, true, 'closed at the limit');
    } finally {
      mock.timers.reset();
      await broker.close();
    }
  });

  it('closes a client over a configured maxPacketBytes', { timeout: 15_000 }, async () => {
    // A lowered limit, to show the setting is what is enforced (the default is tested above).
    const broker = await createLocalBroker({ listen, limits: { maxPacketBytes: 4096 } });
    const client = mqtt.connect(`mqtt://127.0.0.1:${portOf(broker)}`, { reconnectPeriod: 0 });
    client.on('error', () => undefined);
    try {
      await new Promise((r) => client.once('connect', r));
      await client.publishAsync('t', Buffer.alloc(4000), { qos: 1 });
      const lost = new Promise<void>((r) => client.once('close', () => r()));
      client.publish('t', Buffer.alloc(5000), { qos: 1 });
      await lost;
      assert.equal(broker.listenerLimitStats.oversizedPackets, 1);
    } finally {
      client.end(true);
      await broker.close();
    }
  });
});

/** The real table, counting how many checks run at once. */
class CountingTable extends PasswordTable {
  running = 0;
  peak = 0;
  override async check(username: string, password: Buffer): Promise<boolean> {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await super.check(username, password);
    } finally {
      this.running--;
    }
  }
}

describe('local listener limits: password checks during a wrong-password flood', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'mqttsn-listener-limits-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it(`runs at most ${MAX_RUNNING_CHECKS} scrypt checks at once, and durable PUBACKs keep flowing meanwhile`, { timeout: 60_000 }, async () => {
    const { users, problems } = parsePasswordFile(`alice:${await hashPassword('right')}`);
    assert.deepEqual(problems, []);
    const table = new CountingTable(users);
    // A real store: each publish below is queued for an offline persistent subscriber, so each
    // PUBACK waits for an fsync on libuv's pool, where the scrypt checks run too.
    const store = SqliteStore.open(join(dir, 'flood.db'));
    const broker = await createLocalBroker({
      listen,
      auth: { users: table, allowAnonymous: true },
      durable: () => store.flush(),
      persistence: new SqliteBrokerPersistence(store.file),
    });
    const url = `mqtt://127.0.0.1:${portOf(broker)}`;
    try {
      const sub = await mqtt.connectAsync(url, { clientId: 'dash', clean: false, reconnectPeriod: 0 });
      await sub.subscribeAsync('flood/#', { qos: 1 });
      await sub.endAsync();
      const pub = await mqtt.connectAsync(url, { clientId: 'sensor', reconnectPeriod: 0 });

      const FLOOD = 24;
      let refusedSoFar = 0;
      const codes: number[] = [];
      const flood = Array.from({ length: FLOOD }, () =>
        mqtt
          .connectAsync(url, { username: 'alice', password: 'wrong', reconnectPeriod: 0, connectTimeout: 50_000 })
          .then(
            async (c) => {
              await c.endAsync();
              codes.push(0);
            },
            (err: { code?: number }) => codes.push(err.code ?? -1),
          )
          .finally(() => refusedSoFar++),
      );
      // PUBACKs that come back while refusals are still to come: the store's sync was not starved.
      let ackedDuringFlood = 0;
      let acked = 0;
      for (let i = 0; i < 20_000 && refusedSoFar < FLOOD; i++) {
        await pub.publishAsync('flood/x', `m${i}`, { qos: 1 });
        acked++;
        if (refusedSoFar < FLOOD) ackedDuringFlood++;
      }
      await Promise.all(flood);
      await pub.endAsync();
      assert.deepEqual(codes, new Array<number>(FLOOD).fill(4), 'every wrong password gets CONNACK 4, none is refused as busy');
      assert.ok(table.peak <= MAX_RUNNING_CHECKS, `${table.peak} checks ran at once`);
      // With every pool thread in scrypt, each PUBACK waits behind the checks queued before it
      // (a handful in all while 24 are checked); with two threads left to the store they go on
      // at their own pace (hundreds). Two per refused CONNECT lies far from both.
      assert.ok(ackedDuringFlood >= 2 * FLOOD, `only ${ackedDuringFlood} of ${acked} PUBACKs came while ${FLOOD} wrong passwords were checked`);
    } finally {
      await broker.close();
      await store.close();
    }
  });
});
