/**
 * User names, passwords and per-user rights on the local MQTT listener: MQTT.js clients against
 * the real aedes listener on 127.0.0.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import { hashPassword, parsePasswordFile, PasswordTable } from '../../src/broker/passwords.js';
import type { BrokerCore } from '../../src/broker/types.js';
import { parseConfig } from '../../src/config/index.js';
import { createGateway, type RunningGateway } from '../../src/index.js';

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(): { lines: Line[]; logger: Record<'error' | 'warn' | 'info' | 'debug', (obj: object, msg: string) => void> } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } };
}

/** The CONNACK return code a connection attempt gets: 0 when accepted. */
async function connackCode(url: string, opts: IClientOptions): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
    await client.endAsync();
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    assert.equal(typeof code, 'number', `refused without a CONNACK code: ${String(err)}`);
    return code as number;
  }
}

/** The SUBACK return codes for QoS 1 subscriptions to `filters`; MQTT.js reports any 0x80 as an error that carries the SUBACK. */
async function grantedQos(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: unknown } }).packet;
    assert.ok(Array.isArray(packet?.granted), `no SUBACK: ${String(err)}`);
    return packet.granted as number[];
  }
}

async function users(entries: Record<string, string>): Promise<PasswordTable> {
  const lines = await Promise.all(Object.entries(entries).map(async ([u, p]) => `${u}:${await hashPassword(p)}`));
  const { users: table, problems } = parsePasswordFile(lines.join('\n'));
  assert.deepEqual(problems, []);
  return new PasswordTable(table);
}

describe('local listener: passwords required', () => {
  let broker: BrokerCore;
  let url: string;
  const log = recorder();

  before(async () => {
    broker = await createLocalBroker({
      listen: [{ host: '127.0.0.1', port: 0 }],
      auth: { users: await users({ alice: 's3cret', bob: 'hunter2' }), allowAnonymous: false },
      logger: log.logger,
    });
    url = `mqtt://127.0.0.1:${broker.listeners[0]!.port}`;
  });
  after(() => broker.close());

  it('accepts the right password, and the client works', async () => {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'alice', password: 's3cret' });
    try {
      const got: string[] = [];
      const off = await broker.subscribe('a/#', (m) => got.push(m.payload.toString()));
      await client.publishAsync('a/b', 'hello', { qos: 1 });
      assert.deepEqual(got, ['hello']);
      await off();
    } finally {
      await client.endAsync();
    }
  });

  it('refuses a wrong password or an unknown user with CONNACK 4, no credentials with CONNACK 5', async () => {
    assert.equal(await connackCode(url, { username: 'alice', password: 'hunter2' }), 4, "another user's password");
    assert.equal(await connackCode(url, { username: 'alice', password: 'S3cret' }), 4);
    assert.equal(await connackCode(url, { username: 'alice' }), 4, 'user name without a password');
    assert.equal(await connackCode(url, { username: 'mallory', password: 's3cret' }), 4);
    assert.equal(await connackCode(url, {}), 5);
    assert.equal(await connackCode(url, { username: 'bob', password: 'hunter2' }), 0);
  });

  it('logs refusals at most once per interval, with the counts', () => {
    const refused = log.lines.filter((l) => l.msg === 'local MQTT client refused');
    assert.equal(refused.length, 1, 'five refusals in a burst make one line');
    assert.equal(refused[0]!.level, 'warn');
    assert.equal(refused[0]!.obj.username, 'alice');
    assert.equal(refused[0]!.obj.returnCode, 4);
    assert.deepEqual(refused[0]!.obj.refused, { noCredentials: 0, badCredentials: 1, busy: 0 });
    assert.equal(JSON.stringify(refused[0]!.obj).includes('hunter2'), false, 'never the password');
  });
});

describe('local listener: anonymous allowed, passwords checked', () => {
  it('lets in a CONNECT without a user name, still refuses a wrong password', async () => {
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }], auth: { users: await users({ alice: 'pw' }), allowAnonymous: true } });
    try {
      const url = `mqtt://127.0.0.1:${broker.listeners[0]!.port}`;
      assert.equal(await connackCode(url, {}), 0);
      assert.equal(await connackCode(url, { username: 'alice', password: 'pw' }), 0);
      assert.equal(await connackCode(url, { username: 'alice', password: 'nope' }), 4);
    } finally {
      await broker.close();
    }
  });
});

describe('local listener: no auth configured', () => {
  it('lets everyone in, whatever credentials they send', async () => {
    const broker = await createLocalBroker({ listen: [{ host: '127.0.0.1', port: 0 }] });
    try {
      const url = `mqtt://127.0.0.1:${broker.listeners[0]!.port}`;
      assert.equal(await connackCode(url, {}), 0);
      assert.equal(await connackCode(url, { username: 'anyone', password: 'anything' }), 0);
    } finally {
      await broker.close();
    }
  });
});

describe('local listener: per-user ACL (broker.auth.acl, through the gateway)', () => {
  let dir: string;
  let running: RunningGateway;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-lsn-acl-'));
    const file = join(dir, 'passwd');
    await writeFile(file, `alice:${await hashPassword('a')}\nbob:${await hashPassword('b')}\n`);
    const config = parseConfig({
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      timers: { advertiseIntervalSec: 0 },
      http: { enabled: true, host: '127.0.0.1', port: 0 },
      broker: {
        listen: [{ host: '127.0.0.1', port: 0 }],
        auth: {
          passwordFile: file,
          allowAnonymous: true,
          acl: [
            { user: 'alice', publish: ['apps/%u/#'], subscribe: ['cmd/%u/#'] },
            { user: '*', subscribe: ['public/#'] },
          ],
        },
      },
    });
    running = await createGateway(config);
    url = `mqtt://127.0.0.1:${running.broker.listeners[0]!.port}`;
  });
  after(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers what a user may publish; drops the rest, still acknowledging it', async () => {
    const got: string[] = [];
    const off = await running.broker.subscribe('#', (m) => got.push(`${m.topic} ${m.payload.toString()}`));
    const alice = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'alice', password: 'a' });
    const bob = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'bob', password: 'b' });
    try {
      for (const qos of [0, 1, 2] as const) {
        await alice.publishAsync('apps/alice/t', `ok${qos}`, { qos });
        await alice.publishAsync('apps/bob/t', `no${qos}`, { qos });
        await bob.publishAsync('apps/bob/t', `bob${qos}`, { qos });
      }
      // QoS 0 has no answer to wait for: a QoS 1 round trip after it orders it.
      await alice.publishAsync('apps/alice/t', 'last', { qos: 1 });
      assert.deepEqual(got, ['apps/alice/t ok0', 'apps/alice/t ok1', 'apps/alice/t ok2', 'apps/alice/t last']);
      assert.ok(alice.connected && bob.connected, 'a dropped publish does not cost the connection');
    } finally {
      await off();
      await alice.endAsync();
      await bob.endAsync();
    }
  });

  it('grants subscriptions within the rules and refuses wider ones with SUBACK 0x80', async () => {
    const alice = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'alice', password: 'a' });
    const anonymous = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      assert.deepEqual(await grantedQos(alice, ['cmd/alice/#', 'cmd/#', 'public/news', 'cmd/bob/x']), [1, 128, 1, 128]);
      assert.deepEqual(
        await grantedQos(anonymous, ['public/#', 'cmd/alice/#']),
        [1, 128],
        'a client without a user name gets only the "*" rules',
      );
    } finally {
      await alice.endAsync();
      await anonymous.endAsync();
    }
  });
  it('counts refusals and denials on /metrics', async () => {
    assert.equal(await connackCode(url, { username: 'alice', password: 'wrong' }), 4);
    const res = await fetch(`http://127.0.0.1:${running.http!.port}/metrics`);
    const text = await res.text();
    const value = (series: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    assert.equal(value('mqttsn_listener_connect_refused_total{reason="badCredentials"}'), 1);
    assert.equal(value('mqttsn_listener_connect_refused_total{reason="noCredentials"}'), 0);
    // The two tests above: alice's three to apps/bob and bob's three (no rule lets bob publish),
    // and three filters refused.
    assert.equal(value('mqttsn_listener_acl_denied_total{action="publish"}'), 6);
    assert.equal(value('mqttsn_listener_acl_denied_total{action="subscribe"}'), 3);
  });
});
