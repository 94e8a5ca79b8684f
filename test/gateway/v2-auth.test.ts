/**
 * MQTT-SN 2.0 MQTT-BASIC [4.11]: a 2.0 CONNECT's user name and password are checked against the
 * local listener's password file format (real scrypt hashes, broker/passwords.ts); a wrong one
 * gets CONNACK 0x86 and no session, another method 0x8C. The vector's bytes: user "M", password "PW".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parsePasswordFile, PasswordTable } from '../../src/broker/passwords.js';
import { defaultConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { PasswordChecker } from '../../src/gateway/password-gate.js';
import { until } from '../helpers/wait.js';
import { Harness } from './harness.js';
import { connectPacket, V2Client } from './harness-v2.js';

/** A harness whose gateway checks MQTT-BASIC against `users` (undefined: no password file). */
async function withUsers(users: PasswordChecker | undefined): Promise<Harness> {
  const h = new Harness();
  const options = defaultConfig();
  h.gateway = new Gateway({ options: { ...options, timers: { ...options.timers, advertiseIntervalSec: 0 } }, broker: h.broker, clock: h.clock, passwords: () => users });
  h.gateway.attach(h.transport);
  await h.gateway.start();
  return h;
}

async function table(lines: Record<string, string>): Promise<PasswordTable> {
  const text = (await Promise.all(Object.entries(lines).map(async ([user, password]) => `${user}:${await hashPassword(password)}`))).join('\n');
  return new PasswordTable(parsePasswordFile(text).users);
}

/** The CONNACK once the password check is done. */
async function connack(c: V2Client): Promise<ReturnType<V2Client['one']> & { type: 'CONNACK' }> {
  await until(() => (c.h.transport.outbox.get(c.key)?.length ?? 0) > 0, 10_000, 'CONNACK after the password check');
  return c.one('CONNACK');
}

describe('gateway 2.0: MQTT-BASIC', () => {
  it('lets in the right user name and password, naming the method again in CONNACK', async () => {
    const h = await withUsers(await table({ M: 'PW' }));
    const c = new V2Client(h, 'a');
    c.sendVector('connect_auth_mqtt_basic'); // client "C"
    const ack = await connack(c);
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.auth?.method, 'MQTT-BASIC');
    assert.equal(h.gateway.sessions.get('C')?.state, 'active');
  });

  it('refuses a wrong password with CONNACK 0x86 and keeps no session', async () => {
    const h = await withUsers(await table({ M: 'something else' }));
    const c = new V2Client(h, 'a');
    c.sendVector('connect_auth_mqtt_basic');
    await until(() => (h.transport.outbox.get('a')?.length ?? 0) > 0, 10_000, 'CONNACK');
    assert.deepEqual(c.takeHex(), ['060200000186']);
    assert.equal(h.gateway.sessions.has('C'), false);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 1);
  });

  it('refuses an unknown user like a wrong password', async () => {
    const h = await withUsers(await table({ someone: 'PW' }));
    const c = new V2Client(h, 'a');
    c.sendVector('connect_auth_mqtt_basic');
    assert.equal((await connack(c)).reasonCode, 0x86);
  });

  it('refuses MQTT-BASIC data that is not a user name and a password with 0x81', async () => {
    const h = await withUsers(await table({ M: 'PW' }));
    const c = new V2Client(h, 'a');
    c.send(connectPacket('x', { packetId: 2, auth: { method: 'MQTT-BASIC', data: Buffer.from([0, 5, 0x4d]) } }));
    assert.deepEqual(c.takeHex(), ['060200000281']);
  });

  it('takes credentials as they come without a password file, and CONNECTs without any', async () => {
    const h = await withUsers(undefined);
    const c = new V2Client(h, 'a');
    c.sendVector('connect_auth_mqtt_basic');
    assert.equal((await connack(c)).reasonCode, 0);
    const plain = await withUsers(await table({ M: 'PW' }));
    await new V2Client(plain, 'b').connect('no-credentials');
  });
});
