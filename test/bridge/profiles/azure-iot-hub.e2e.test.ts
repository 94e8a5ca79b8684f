/**
 * The azure-iot-hub profile end to end: MQTT-SN sensors (firmware-sim over UDP) behind the
 * gateway, and a local broker that enforces Azure IoT Hub's device rules (./azure-contract.ts).
 * With the profile the gateway signs in with a SAS token it computes, renews it before it
 * expires, keeps every rule and loses no QoS 1 message; the same traffic without the profile
 * breaks the rules, which shows the contract can fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SimMessage } from '../../../firmware-sim/index.js';
import { azureSasToken } from '../../../src/bridge/profiles/index.js';
import { makeTestPki, type TestPki } from '../../helpers/mosquitto.js';
import { scrape, valueOf } from '../../observability/helpers.js';
import { snNode, startBridgedGateway, until, type BridgedGateway } from '../harness.js';
import { startAzureContract, type AzureContract } from './azure-contract.js';

// The server certificate names localhost, which also serves as the hub's host name here.
const HUB = 'localhost';
const DEVICE = 'gw-device-1';
const KEY = randomBytes(32);

describe('azure-iot-hub profile against an Azure IoT Hub contract broker', () => {
  let pki: TestPki;
  let hub: AzureContract;
  const open: BridgedGateway[] = [];

  before(async () => {
    pki = await makeTestPki();
    hub = await startAzureContract({ ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, hubHost: HUB, deviceId: DEVICE, deviceKey: KEY });
  });
  after(async () => {
    await Promise.allSettled(open.map((g) => g.close()));
    await hub.close();
    await pki.close();
  });

  async function gateway(upstream: Record<string, unknown>, key = KEY, sections: Record<string, unknown> = {}): Promise<BridgedGateway> {
    const gw = await startBridgedGateway(
      {
        url: `mqtts://${HUB}:${hub.port}`,
        clientId: DEVICE,
        tls: { ca: pki.ca },
        // QoS 2 allowed by the rule, so a QoS 2 message reaches the bridge as QoS 2.
        topics: [{ pattern: 'dev/#', direction: 'out', qos: 2 }],
        ...upstream,
      },
      { AZURE_DEVICE_KEY: key.toString('base64') },
      sections,
    );
    open.push(gw);
    return gw;
  }

  const since = (n: number) => hub.violations.slice(n);

  it('signs in with a computed SAS token, keeps every rule, brings cloud-to-device messages in, loses no QoS 1 message', async () => {
    const v0 = hub.violations.length;
    const a0 = hub.accepted.length;
    const gw = await gateway({ profile: 'azure-iot-hub', azure: { deviceKeyEnv: 'AZURE_DEVICE_KEY', c2dLocalPrefix: 'cloud/' } });
    await until(() => gw.bridge.connected, 5000, 'connection with a SAS token');
    const node = await snNode(gw.udpPort, 'sensor-a');
    const got: SimMessage[] = [];
    node.on('message', (m) => got.push(m));
    await node.subscribe('cloud/#', 1);
    try {
      const N = 40;
      for (let i = 0; i < N; i++) await node.publish({ topic: `dev/a/t${i % 4}`, payload: `r${i}`, qos: 1 });
      await node.publish({ topic: 'dev/a/q2', payload: 'exactly-once', qos: 2 });
      await node.publish({ topic: 'dev/a/state', payload: 'on', qos: 1, retain: true });
      await until(() => hub.accepted.length - a0 >= N + 2, 10_000, 'every message at the hub');

      assert.deepEqual(since(v0), []);
      const mine = hub.accepted.slice(a0);
      assert.deepEqual(new Set(mine.filter((m) => m.payload.startsWith('r')).map((m) => m.payload)).size, N, 'no QoS 1 message lost');
      assert.ok(mine.every((m) => m.topic.startsWith(`devices/${DEVICE}/messages/events/`)));
      assert.equal(mine.find((m) => m.payload === 'r5')?.properties.topic, 'dev/a/t1', 'the MQTT-SN topic travels as a property');
      assert.deepEqual(mine.filter((m) => m.payload === 'exactly-once').map((m) => m.qos), [1], 'QoS 2 went up as QoS 1');
      assert.ok(mine.some((m) => m.payload === 'on'), 'the retained message went up, without its flag');

      await hub.sendToDevice('%24.mid=42&topic=cmd%2Fled', 'blink');
      await hub.sendToDevice('', 'plain');
      await until(() => got.length >= 2, 5000, 'cloud-to-device messages at the sensor');
      assert.deepEqual(got.map((m) => [m.topic, m.payload.toString()]).sort(), [
        ['cloud', 'plain'],
        ['cloud/cmd/led', 'blink'],
      ]);

      const c = gw.bridge.status().counters;
      assert.equal(c.qosDowngraded, 1);
      assert.equal(c.retainDropped, 1);
      assert.equal(c.disconnects, 0, 'never disconnected by the hub');
    } finally {
      await node.close();
      // One connection per device at the hub: the next test's gateway must not fight this one.
      await gw.close();
    }
  });

  it('reconnects with a fresh token before the old one expires, without losing a message', async () => {
    const v0 = hub.violations.length;
    const a0 = hub.accepted.length;
    const t0 = hub.tokens.length;
    const expired0 = hub.expiredConnections;
    const gw = await gateway({ profile: 'azure-iot-hub', azure: { deviceKeyEnv: 'AZURE_DEVICE_KEY', sasLifetimeSec: 2 } }, KEY, { http: { enabled: true, port: 0 } });
    await until(() => gw.bridge.connected, 5000, 'connection');
    const node = await snNode(gw.udpPort, 'sensor-b');
    try {
      // Steady traffic, each message once the hub has the one before, until the token (2 s) was
      // renewed twice and a few messages more went over the third connection. Bounded in count.
      const atHub = (payload: string): boolean => hub.accepted.slice(a0).some((m) => m.payload === payload);
      let N = 0;
      for (let after = 0; N < 5000 && after < 5; N++) {
        await node.publish({ topic: 'dev/b/t', payload: `s${N}`, qos: 1 });
        await until(() => atHub(`s${N}`), 10_000, `s${N} at the hub`);
        if ((gw.bridge.status().counters.tokenRenewals ?? 0) >= 2) after++;
      }
      await until(() => new Set(hub.accepted.slice(a0).map((m) => m.payload)).size >= N, 10_000, 'every message at the hub');
      const c = gw.bridge.status().counters;
      assert.ok((c.tokenRenewals ?? 0) >= 2, `renewed ${c.tokenRenewals} times`);
      assert.ok(new Set(hub.tokens.slice(t0)).size >= 3, 'a new token on each connection');
      assert.equal(hub.expiredConnections, expired0, 'the hub never had to cut an expired connection');
      assert.equal(c.disconnects, 0);
      assert.deepEqual(since(v0), []);
      const { samples } = await scrape(gw.running.http!.port);
      const shown = valueOf(samples, 'mqttsn_upstream_token_renewals_total', { profile: 'azure-iot-hub' }) ?? -1;
      // Renewals go on while the test reads: the scrape lies between the two readings.
      assert.ok(shown >= (c.tokenRenewals ?? 0) && shown <= (gw.bridge.status().counters.tokenRenewals ?? 0), `renewals on /metrics: ${shown}`);
    } finally {
      await node.close();
      // One connection per device at the hub: the next test's gateway must not fight this one.
      await gw.close();
    }
  });

  it('signs in with an X.509 client certificate instead of a key', async () => {
    const logins = hub.certificateLogins;
    const a0 = hub.accepted.length;
    const gw = await gateway({ profile: 'azure-iot-hub', tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    const node = await snNode(gw.udpPort, 'sensor-x');
    try {
      await until(() => gw.bridge.connected, 5000, 'connection with the certificate');
      assert.equal(hub.certificateLogins, logins + 1);
      await node.publish({ topic: 'dev/x/t', payload: 'by-cert', qos: 1 });
      await until(() => hub.accepted.slice(a0).some((m) => m.payload === 'by-cert'), 5000, 'telemetry at the hub');
      assert.equal(gw.bridge.status().counters.tokenRenewals, 0, 'nothing to renew');
    } finally {
      await node.close();
      await gw.close();
    }
  });

  it('is refused with the wrong device key', async () => {
    const v0 = hub.violations.length;
    const gw = await gateway({ profile: 'azure-iot-hub', azure: { deviceKeyEnv: 'AZURE_DEVICE_KEY' } }, randomBytes(32));
    await until(() => since(v0).some((v) => v.rule === 'signature'), 5000, 'a signature refusal');
    // The refusal is written down before the CONNACK leaves: the bridge hears of it a moment later.
    await until(() => gw.bridge.status().counters.connectFailures >= 1, 5000, 'the attempt counted as failed');
    assert.equal(gw.bridge.status().counters.connects, 0, 'never connected');
    await gw.close();
  });

  it('without the profile, the same traffic breaks the rules: a topic the hub does not take, then an expired token', async () => {
    const v0 = hub.violations.length;
    // What a user would have to write by hand: the user name and a token made once, here for 2 s.
    const token = azureSasToken({ hubHost: HUB, deviceId: DEVICE }, KEY, Math.ceil(Date.now() / 1000) + 2);
    const gw = await gateway({ username: `${HUB}/${DEVICE}/?api-version=2021-04-12`, password: token });
    await until(() => gw.bridge.connected, 5000, 'connection with the hand-made token');
    const node = await snNode(gw.udpPort, 'sensor-c');
    try {
      await node.publish({ topic: 'dev/c/t', payload: 'x', qos: 1 });
      await node.publish({ topic: 'dev/c/q2', payload: 'y', qos: 2 });
      await until(() => since(v0).some((v) => v.rule === 'topic'), 5000, 'a topic violation');
      // After the token ran out, reconnecting with it is refused.
      await until(() => since(v0).some((v) => v.rule === 'expired'), 8000, 'an expired-token refusal');
    } finally {
      await node.close();
      // One connection per device at the hub: the next test's gateway must not fight this one.
      await gw.close();
    }
  });
});
