/**
 * The local broker core with real parts: aedes in process and MQTT.js clients over TCP on
 * 127.0.0.1, ports chosen at run time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { BrokerError, BrokerErrorCode } from '../../src/broker/errors.js';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import type { BrokerCore, BrokerMessage } from '../../src/broker/types.js';
import { until } from '../helpers/wait.js';

const LOCAL = '127.0.0.1';

/** Runs `fn` with a broker listening on a free port, and always closes it. */
async function withBroker(fn: (broker: BrokerCore, url: string) => Promise<void> | void): Promise<void> {
  const broker = await createLocalBroker({ listen: [{ host: LOCAL, port: 0 }] });
  try {
    const l = broker.listeners[0]!;
    await fn(broker, `mqtt://${l.host}:${l.port}`);
  } finally {
    await broker.close();
  }
}

/** Runs `fn` with a connected MQTT 3.1.1 client, and always ends it. */
async function withClient(url: string, fn: (client: MqttClient) => Promise<void>): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  try {
    await fn(client);
  } finally {
    await client.endAsync();
  }
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Collects what a client receives and lets a test wait for the n-th message. */
function collect(client: MqttClient): { messages: Received[]; next: (n?: number) => Promise<Received[]> } {
  const messages: Received[] = [];
  let waiters: Array<() => void> = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  const next = async (n = 1): Promise<Received[]> => {
    const deadline = Date.now() + 5_000;
    while (messages.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} messages, got ${messages.length}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100).unref();
      });
    }
    return messages.splice(0, n);
  };
  return { messages, next };
}

/** In-process subscription that records messages and origins. */
async function record(broker: BrokerCore, filter: string): Promise<{ got: Array<{ msg: BrokerMessage; origin: string | undefined }>; off: () => Promise<void> }> {
  const got: Array<{ msg: BrokerMessage; origin: string | undefined }> = [];
  const off = await broker.subscribe(filter, (msg, origin) => got.push({ msg, origin }));
  return { got, off };
}

/** `p`, or a failure if it takes more than 5 s (a hanging close would otherwise pass, late). */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than 5 s`)), 5_000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const msg = (topic: string, payload: string, qos: 0 | 1 | 2 = 0, retain = false): BrokerMessage => ({ topic, payload: Buffer.from(payload), qos, retain });

const isCode = (code: string) => (e: unknown) => e instanceof BrokerError && e.code === code;

describe('local broker: in process and TCP', () => {
  it('binds port 0 to a real port', async () => {
    await withBroker((broker) => {
      assert.equal(broker.listeners.length, 1);
      assert.equal(broker.listeners[0]!.host, LOCAL);
      assert.ok(broker.listeners[0]!.port > 0);
    });
  });

  it('listens on ::1 too', async () => {
    const broker = await createLocalBroker({ listen: [{ host: '::1', port: 0 }] });
    try {
      const l = broker.listeners[0]!;
      assert.equal(l.host, '::1');
      await withClient(`mqtt://[::1]:${l.port}`, async (client) => {
        const inbox = collect(client);
        await client.subscribeAsync('v6', { qos: 1 });
        await broker.publish(msg('v6', 'hello'), 'mqttsn');
        assert.deepEqual(await inbox.next(), [{ topic: 'v6', payload: 'hello', qos: 0, retain: false }]);
      });
    } finally {
      await broker.close();
    }
  });

  it('delivers an in-process publish to a TCP subscriber at QoS 0, 1 and 2', async () => {
    await withBroker(async (broker, url) => {
      await withClient(url, async (client) => {
        const inbox = collect(client);
        await client.subscribeAsync('sensors/+/temp', { qos: 2 });
        await broker.publish(msg('sensors/1/temp', '21.5'), 'mqttsn');
        await broker.publish(msg('sensors/2/temp', '22', 1), 'mqttsn');
        await broker.publish(msg('sensors/3/temp', '23', 2), 'bridge');
        await broker.publish(msg('sensors/3/hum', 'not for you'), 'mqttsn');
        const got = await inbox.next(3);
        assert.deepEqual(
          got.sort((a, b) => a.topic.localeCompare(b.topic)),
          [
            { topic: 'sensors/1/temp', payload: '21.5', qos: 0, retain: false },
            { topic: 'sensors/2/temp', payload: '22', qos: 1, retain: false },
            { topic: 'sensors/3/temp', payload: '23', qos: 2, retain: false },
          ],
        );
      });
    });
  });

  it("hands a TCP client's publish to an in-process subscriber with origin 'mqtt'", async () => {
    await withBroker(async (broker, url) => {
      const sub = await record(broker, 'cmd/#');
      try {
        await withClient(url, async (client) => {
          await client.publishAsync('cmd/lamp', 'on', { qos: 1 });
          await client.publishAsync('other', 'x', { qos: 1 });
          await until(() => sub.got.length >= 1, 5000, 'the in-process delivery');
        });
        assert.equal(sub.got.length, 1);
        const { msg: m, origin } = sub.got[0]!;
        assert.equal(origin, 'mqtt');
        assert.equal(m.topic, 'cmd/lamp');
        assert.ok(Buffer.isBuffer(m.payload));
        assert.equal(m.payload.toString(), 'on');
        assert.equal(m.qos, 1);
        assert.equal(m.retain, false);
      } finally {
        await sub.off();
      }
    });
  });

  it('gives in-process subscribers the origin of in-process publishes, and retain as published', async () => {
    await withBroker(async (broker) => {
      const sub = await record(broker, 'a/#');
      try {
        await broker.publish(msg('a/1', 'x'), 'mqttsn');
        await broker.publish(msg('a/2', 'y', 1, true), 'bridge');
        await broker.publish(msg('a', 'z')); // `a/#` also matches `a` (MQTT 3.1.1 §4.7.1.2)
        for (let i = 0; i < 2000; i++) await broker.publish(msg('a/many', String(i)), `origin-${i}`);
        assert.deepEqual(
          sub.got.slice(0, 3).map(({ msg: m, origin }) => [m.topic, m.payload.toString(), m.qos, m.retain, origin]),
          [
            ['a/1', 'x', 0, false, 'mqttsn'],
            ['a/2', 'y', 1, true, 'bridge'],
            ['a', 'z', 0, false, undefined],
          ],
        );
        // origins beyond the tag cache still come back right
        assert.equal(sub.got.length, 2003);
        assert.ok(sub.got.slice(3).every(({ msg: m, origin }) => origin === `origin-${m.payload.toString()}`));
      } finally {
        await sub.off();
      }
    });
  });

  it('keeps $ topics away from filters that start with a wildcard ([MQTT-4.7.2-1])', async () => {
    await withBroker(async (broker) => {
      const all = await record(broker, '#');
      const plus = await record(broker, '+/x');
      const dollar = await record(broker, '$app/#');
      try {
        await broker.publish(msg('$app/x', '1'), 'mqttsn');
        await broker.publish(msg('app/x', '2'), 'mqttsn');
        assert.deepEqual(all.got.map((g) => g.msg.topic).filter((t) => !t.startsWith('$SYS')), ['app/x']);
        assert.ok(all.got.every((g) => !g.msg.topic.startsWith('$')));
        assert.deepEqual(plus.got.map((g) => g.msg.topic), ['app/x']);
        assert.deepEqual(dollar.got.map((g) => g.msg.topic), ['$app/x']);
      } finally {
        await all.off();
        await plus.off();
        await dollar.off();
      }
    });
  });

  it('stops delivering after unsubscribe, to that handler only', async () => {
    await withBroker(async (broker) => {
      const a = await record(broker, 't');
      const b = await record(broker, 't');
      await broker.publish(msg('t', '1'));
      await a.off();
      await a.off(); // twice is harmless
      await broker.publish(msg('t', '2'));
      await b.off();
      await broker.publish(msg('t', '3'));
      assert.deepEqual(a.got.map((g) => g.msg.payload.toString()), ['1']);
      assert.deepEqual(b.got.map((g) => g.msg.payload.toString()), ['1', '2']);
    });
  });

  it('survives a subscriber that throws', async () => {
    await withBroker(async (broker) => {
      const off = await broker.subscribe('t', () => {
        throw new Error('subscriber bug');
      });
      const ok = await record(broker, 't');
      try {
        for (let i = 0; i < 300; i++) await broker.publish(msg('t', String(i)));
        assert.equal(ok.got.length, 300);
      } finally {
        await off();
        await ok.off();
      }
    });
  });

  it('refuses invalid filters with a code', async () => {
    await withBroker(async (broker) => {
      for (const f of ['', 'a/#/b', 'a+']) {
        await assert.rejects(broker.subscribe(f, () => {}), isCode(BrokerErrorCode.BAD_TOPIC_FILTER));
        await assert.rejects(broker.retained(f), isCode(BrokerErrorCode.BAD_TOPIC_FILTER));
      }
    });
  });

  it('rejects a publish aedes refuses (over 100 topic levels) with a code', async () => {
    await withBroker(async (broker) => {
      await assert.rejects(broker.publish(msg(Array(101).fill('l').join('/'), 'x')), isCode(BrokerErrorCode.PUBLISH_FAILED));
    });
  });
});

describe('local broker: retained messages', () => {
  it('keeps, replaces and clears retained messages, and matches them by filter', async () => {
    await withBroker(async (broker) => {
      await broker.publish(msg('home/kitchen/temp', '20', 1, true), 'mqttsn');
      await broker.publish(msg('home/kitchen/temp', '21', 0, true), 'mqttsn'); // replaces
      await broker.publish(msg('home/hall/temp', '19', 1, true), 'mqttsn');
      await broker.publish(msg('home', 'root', 0, true), 'mqttsn');
      await broker.publish(msg('home//temp', 'empty level', 0, true), 'mqttsn');
      await broker.publish(msg('$app/state', 'up', 0, true), 'mqttsn');
      await broker.publish(msg('home/hall/hum', 'not retained'), 'mqttsn');

      const topics = async (filter: string): Promise<string[]> => (await broker.retained(filter)).map((m) => m.topic).sort();
      const kitchen = await broker.retained('home/kitchen/temp');
      assert.equal(kitchen.length, 1);
      assert.equal(kitchen[0]!.payload.toString(), '21');
      assert.equal(kitchen[0]!.qos, 0);
      assert.equal(kitchen[0]!.retain, true);
      assert.deepEqual(await topics('home/+/temp'), ['home//temp', 'home/hall/temp', 'home/kitchen/temp']);
      assert.deepEqual(await topics('home/#'), ['home', 'home//temp', 'home/hall/temp', 'home/kitchen/temp']);
      assert.deepEqual(await topics('#'), ['home', 'home//temp', 'home/hall/temp', 'home/kitchen/temp']);
      assert.deepEqual(await topics('+/+/+'), ['home//temp', 'home/hall/temp', 'home/kitchen/temp']);
      assert.deepEqual(await topics('$app/#'), ['$app/state']);
      assert.deepEqual(await topics('nothing/#'), []);

      // MQTT 3.1.1 §3.3.1.3: a retained message with an empty payload clears the topic
      await broker.publish(msg('home/kitchen/temp', '', 0, true), 'mqttsn');
      assert.deepEqual(await topics('home/+/temp'), ['home//temp', 'home/hall/temp']);
    });
  });

  it('shares retained messages between TCP clients and the in-process side', async () => {
    await withBroker(async (broker, url) => {
      await withClient(url, async (publisher) => {
        await publisher.publishAsync('status/node1', 'online', { qos: 1, retain: true });
      });
      const got = await broker.retained('status/+');
      assert.deepEqual(
        got.map((m) => [m.topic, m.payload.toString(), m.qos, m.retain]),
        [['status/node1', 'online', 1, true]],
      );

      await broker.publish(msg('status/node2', 'online', 1, true), 'mqttsn');
      await withClient(url, async (client) => {
        const inbox = collect(client);
        await client.subscribeAsync('status/#', { qos: 1 });
        const received = (await inbox.next(2)).sort((a, b) => a.topic.localeCompare(b.topic));
        assert.deepEqual(received, [
          { topic: 'status/node1', payload: 'online', qos: 1, retain: true },
          { topic: 'status/node2', payload: 'online', qos: 1, retain: true },
        ]);
      });
    });
  });
});

describe('local broker: lifecycle', () => {
  it('rejects a port in use with a code naming the address, and closes what it started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, LOCAL, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      // Every earlier test closed what it opened: once their sockets are gone only the blocker is
      // left, a baseline that a slow machine cannot leave too high.
      await until(() => tcpHandles() === 1, 5000, 'the sockets of earlier tests to be gone');
      const before = tcpHandles();
      await assert.rejects(
        createLocalBroker({ listen: [{ host: LOCAL, port: 0 }, { host: LOCAL, port }] }),
        (e: unknown) =>
          e instanceof BrokerError &&
          e.code === BrokerErrorCode.LISTEN_FAILED &&
          e.address === `${LOCAL}:${port}` &&
          e.message.includes(`${LOCAL}:${port}`) &&
          (e.cause as NodeJS.ErrnoException).code === 'EADDRINUSE',
      );
      await until(() => tcpHandles() <= before, 5000, 'the first listener to be closed again');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('close() ends listeners and connections, also those that never sent CONNECT', async () => {
    // Every earlier test closed what it opened; waiting for their sockets to be gone gives a
    // baseline that a slow machine cannot leave too high.
    await until(() => tcpHandles() === 0, 5000, 'the sockets of earlier tests to be gone');
    const before = tcpHandles();
    const broker = await createLocalBroker({ listen: [{ host: LOCAL, port: 0 }, { host: LOCAL, port: 0 }] });
    const [l1, l2] = broker.listeners;
    assert.ok(l1 && l2 && l1.port !== l2.port);
    const client = await mqtt.connectAsync(`mqtt://${LOCAL}:${l1.port}`, { protocolVersion: 4, reconnectPeriod: 0 });
    let clientClosed = false;
    client.once('close', () => (clientClosed = true));
    // a raw socket that never speaks MQTT: aedes alone would keep it (and its connect timer) for 30 s
    const raw = net.connect(l2.port, LOCAL);
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    let rawClosed = false;
    raw.once('close', () => (rawClosed = true));
    raw.on('error', () => {});

    await within(broker.close(), 'close()');
    await within(broker.close(), 'a second close()'); // harmless
    await until(() => clientClosed, 5000, 'the broker to close the MQTT connection');
    await until(() => rawClosed, 5000, 'the broker to close the silent connection');
    await client.endAsync(true);
    await until(() => tcpHandles() <= before, 5000, 'every server and socket to be gone');
    await assert.rejects(broker.publish(msg('t', 'x')), isCode(BrokerErrorCode.CLOSED));
    await assert.rejects(broker.subscribe('t', () => {}), isCode(BrokerErrorCode.CLOSED));
    await assert.rejects(tryConnect(l1.port), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });

  it('lets the process exit after close(), with no dangling handles', () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));
    const res = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(res.error, undefined, 'the process did not exit by itself');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /closed/);
  });
});

/** TCP servers and sockets this process holds now. */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
}

function tryConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, LOCAL);
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}
