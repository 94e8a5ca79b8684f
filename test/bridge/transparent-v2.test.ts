/**
 * Transparent mode for 2.0 clients, gateway and bridge on a fake clock with a scripted upstream:
 * the device's MQTT-BASIC user name and password open its own upstream connection, the upstream's
 * refusal reaches it as CONNACK 0x86 / 0x87, Clean Start and Session Expiry become the 3.1.1
 * clean-session flag (clean-start.ts), and the will inside CONNECT is the connection's will.
 * The same bytes through mosquitto: test/integration/v2-bridge.e2e.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parsePasswordFile, PasswordTable } from '../../src/broker/passwords.js';
import type { MqttUpstreamOptions } from '../../src/bridge/mqtt-upstream.js';
import { TransparentBridge } from '../../src/bridge/transparent.js';
import * as v2 from '../../src/codec/v2/index.js';
import { defaultConfig, parseConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { PasswordChecker } from '../../src/gateway/password-gate.js';
import { noopLogger } from '../../src/logger.js';
import { until } from '../helpers/wait.js';
import { Harness } from '../gateway/harness.js';
import { V2Client } from '../gateway/harness-v2.js';
import { FakeUpstream } from './fake-upstream.js';
import { basicAuthData, MQTT_BASIC } from '../../firmware-sim/wire/v2.js';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A transparent gateway whose upstream is scripted; `users`: the gateway's password file (broker.auth). */
async function transparent(users?: PasswordChecker): Promise<{ h: Harness; up: FakeUpstream; opened: MqttUpstreamOptions[] }> {
  const up = new FakeUpstream();
  const opened: MqttUpstreamOptions[] = [];
  const h = new Harness();
  const config = parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], upstream: { url: 'mqtt://127.0.0.1:1', mode: 'transparent', clientId: 'gw', username: 'gateway-user' } }).upstream;
  assert.ok(config);
  const bridge = new TransparentBridge({
    config,
    base: { url: 'mqtt://127.0.0.1:1', clientId: 'gw', username: 'gateway-user', password: 'gateway-secret', keepAlive: 60, cleanSession: true, connectTimeoutMs: 1000 },
    connectorFor: (o) => {
      opened.push(o);
      return up.connector;
    },
    clients: [],
    clock: h.clock,
    logger: noopLogger,
    random: () => 0.5,
  });
  const options = defaultConfig();
  h.gateway = new Gateway({ options: { ...options, timers: { ...options.timers, advertiseIntervalSec: 0 } }, broker: h.broker, clock: h.clock, uplink: bridge, passwords: () => users });
  h.gateway.attach(h.transport);
  await bridge.start();
  up.last.accept();
  await h.gateway.start();
  return { h, up, opened };
}

function basic(username: string, password: string): v2.PacketOf<'CONNECT'>['auth'] {
  return { method: MQTT_BASIC, data: basicAuthData({ username, password }) };
}

function connect(c: V2Client, clientId: string, extra: Partial<v2.PacketOf<'CONNECT'>> = {}): void {
  c.send({ type: 'CONNECT', cleanStart: true, allowNetworkAddressChanges: false, allowServerSuggestedValues: false, packetId: 7, protocolVersion: 2, keepAlive: 30, maxPacketSize: 0, clientId, ...extra });
}

describe('transparent mode, 2.0 clients', () => {
  it("opens the device's connection with its MQTT-BASIC user name and password, not the gateway's", async () => {
    const { h, up, opened } = await transparent();
    const c = new V2Client(h, 'a');
    connect(c, 'dev-a', { auth: basic('alice', 'pa\u00dfwort') });
    await settle();
    c.nothing(); // CONNACK waits for the upstream's
    assert.equal(opened.at(-1)?.username, 'alice');
    assert.deepEqual(opened.at(-1)?.password, Buffer.from('pa\u00dfwort'));
    up.last.accept();
    await settle();
    const ack = c.one('CONNACK');
    assert.deepEqual([ack.reasonCode, ack.auth?.method], [0, 'MQTT-BASIC']);
    // Without MQTT-BASIC the section's credentials go, as for a 1.2 client.
    const b = new V2Client(h, 'b');
    connect(b, 'dev-b');
    await settle();
    assert.deepEqual([opened.at(-1)?.username, opened.at(-1)?.password], ['gateway-user', 'gateway-secret']);
  });

  it('tells the device CONNACK 0x86 for the upstream CONNACK 4 and 0x87 for 5, and keeps no session', async () => {
    const { h, up } = await transparent();
    const cases: Array<[number, string, number]> = [
      [4, 'Connection refused: Bad username or password', v2.ReasonCode.BAD_USER_NAME_OR_PASSWORD],
      [5, 'Connection refused: Not authorized', v2.ReasonCode.NOT_AUTHORIZED],
      [2, 'Connection refused: Identifier rejected', v2.ReasonCode.UNSPECIFIED_ERROR],
      [3, 'Connection refused: Server unavailable', v2.ReasonCode.CONGESTION],
    ];
    for (const [code, message, reason] of cases) {
      const c = new V2Client(h, `r${code}`);
      // A session to keep after the connection (Session Expiry 1 h): still none for a refused CONNECT.
      connect(c, `refused-${code}`, { auth: basic('alice', 'wrong'), sessionExpiryInterval: 3600 });
      await settle();
      up.last.fail(Object.assign(new Error(message), { code }));
      await settle();
      const ack = c.one('CONNACK');
      assert.deepEqual([ack.reasonCode, ack.packetId, ack.sessionPresent, ack.auth], [reason, 7, false, undefined], message);
      assert.equal(h.gateway.sessions.has(`refused-${code}`), false);
    }
  });

  it('checks a configured password file first: a wrong password is 0x86 without an upstream connection, a right one goes upstream', async () => {
    const text = `alice:${await hashPassword('right')}`;
    const { h, up, opened } = await transparent(new PasswordTable(parsePasswordFile(text).users));
    const before = up.connections.length;
    const c = new V2Client(h, 'a');
    connect(c, 'dev-a', { auth: basic('alice', 'wrong') });
    await until(() => (h.transport.outbox.get('a')?.length ?? 0) > 0, 10_000, 'CONNACK after the password check');
    assert.equal(c.one('CONNACK').reasonCode, v2.ReasonCode.BAD_USER_NAME_OR_PASSWORD);
    assert.equal(up.connections.length, before, 'no upstream connection for a password the gateway refused');
    connect(c, 'dev-a', { auth: basic('alice', 'right'), packetId: 8 });
    await until(() => up.connections.length > before, 10_000, 'the upstream connection after the password check');
    assert.equal(opened.at(-1)?.username, 'alice');
    up.last.accept();
    await settle();
    assert.equal(c.one('CONNACK').reasonCode, 0);
  });

  it('maps Clean Start and Session Expiry onto clean session: 1/0 clean, 0/any kept, 1/>0 a clean connection first', async () => {
    const { h, up, opened } = await transparent();
    const c = new V2Client(h, 'a');
    connect(c, 'dev-s', { cleanStart: true });
    await settle();
    assert.equal(opened.at(-1)?.cleanSession, true);
    up.last.accept();
    await settle();
    c.one('CONNACK');

    // Clean Start 0, session kept for an hour: the upstream session goes on.
    connect(c, 'dev-s', { cleanStart: false, sessionExpiryInterval: 3600, packetId: 8 });
    await settle();
    assert.equal(opened.at(-1)?.cleanSession, false);
    const kept = up.connections.length;
    up.last.accept(true);
    await settle();
    c.one('CONNACK');

    // Clean Start 1 with a session to keep after: what the broker kept is discarded by a clean
    // connection (closed with DISCONNECT), then the kept one opens.
    connect(c, 'dev-s', { cleanStart: true, sessionExpiryInterval: 3600, packetId: 9 });
    await settle();
    assert.equal(up.connections.length, kept + 1);
    const first = up.last;
    assert.equal(opened.at(-1)?.cleanSession, true, 'the discarding connection is clean');
    assert.equal(opened.at(-1)?.will, undefined);
    assert.equal(opened.at(-2)?.cleanSession, false, 'the one after it is kept');
    c.nothing();
    first.accept();
    await settle();
    assert.equal(first.ended, 'graceful');
    assert.equal(up.connections.length, kept + 2, 'then the kept connection');
    up.last.accept(false);
    await settle();
    const ack = c.one('CONNACK');
    assert.deepEqual([ack.reasonCode, ack.sessionPresent], [0, false]);
    // A loss of that connection resumes it: no second discard.
    up.last.drop();
    h.clock.advance(1000);
    await settle();
    assert.equal(up.connections.length, kept + 3);
  });

  it('gives the upstream connection the will of the 2.0 CONNECT', async () => {
    const { h, opened } = await transparent();
    const c = new V2Client(h, 'a');
    connect(c, 'dev-w', { will: { qos: 1, retain: true, payload: Buffer.from('gone'), topicType: 'name', topicName: 'dev/w/status' } });
    await settle();
    assert.deepEqual(opened.at(-1)?.will, { topic: 'dev/w/status', payload: Buffer.from('gone'), qos: 1, retain: true });
  });
});
