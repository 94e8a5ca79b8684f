/** The azure-iot-hub profile's config checks, credentials and pieces, and its bridge rules on a fake clock. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mqttOptionsFromConfig } from '../../../src/bridge/connect-options.js';
import { azureIotHubProfile, azureSasToken, parsePropertyBag, profileFor, renewalLeadMs } from '../../../src/bridge/profiles/index.js';
import { ConfigError, resolveUpstreamSecrets } from '../../../src/config/index.js';
import { withFakeBridge } from '../fake-bridge.js';
import { issuesOf, parseUpstream } from './config-issues.js';

const base = {
  profile: 'azure-iot-hub',
  url: 'mqtts://my-hub.azure-devices.net',
  clientId: 'dev-1',
  azure: { deviceKeyEnv: 'DEVICE_KEY' },
  topics: [{ pattern: 'dev/#' }],
};
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');


describe('azure-iot-hub profile: config', () => {
  it('takes a hub url, a device id and the name of the key variable, with defaults', () => {
    const u = parseUpstream(base);
    assert.equal(u.azure?.sasLifetimeSec, 3600);
    assert.equal(u.azure?.topicProperty, 'topic');
  });

  it('names the field of each mistake', () => {
    const plain = issuesOf({ ...base, url: 'mqtt://my-hub.azure-devices.net:1883' });
    assert.ok(plain.some((i) => i.path === 'upstream.url' && /mqtts/.test(i.message)), JSON.stringify(plain));
    assert.deepEqual(issuesOf({ ...base, azure: {} }).map((i) => i.path), ['upstream.azure.deviceKeyEnv']);
    assert.deepEqual(issuesOf({ ...base, azure: { deviceKeyEnv: 'K', deviceId: 'other' } }).map((i) => i.path), ['upstream.azure.deviceId']);
    assert.deepEqual(issuesOf({ ...base, username: 'u', passwordEnv: 'P' }).map((i) => i.path).sort(), ['upstream.passwordEnv', 'upstream.username']);
    assert.deepEqual(issuesOf({ ...base, topics: [{ pattern: 'cmd/#', direction: 'in' }] }).map((i) => i.path), ['upstream.topics[0].direction']);
    assert.deepEqual(issuesOf({ ...base, azure: { deviceKeyEnv: 'K', c2dLocalPrefix: 'a/#' } }).map((i) => i.path), ['upstream.azure.c2dLocalPrefix']);
    assert.deepEqual(issuesOf({ ...base, azure: { deviceKeyEnv: 'K', sasLifetimeSec: 1 } }).map((i) => i.path), ['upstream.azure.sasLifetimeSec']);
    assert.deepEqual(issuesOf({ ...base, profile: undefined }).map((i) => i.path), ['upstream.azure'], 'azure settings without the profile');
  });

  it('takes an X.509 certificate instead of a key, not both', () => {
    const tls = { cert: '/nonexistent/dev.pem', key: '/nonexistent/dev.key' };
    const x509 = issuesOf({ ...base, azure: {}, tls });
    assert.ok(!x509.some((i) => i.path.startsWith('upstream.azure')), JSON.stringify(x509));
    assert.ok(issuesOf({ ...base, tls }).some((i) => i.path === 'upstream.azure.deviceKeyEnv' && /tls\.cert/.test(i.message)));
  });
});

describe('azure-iot-hub profile: credentials', () => {
  it('signs the url-encoded resource and expiry with the decoded device key', () => {
    const token = azureSasToken({ hubHost: 'h.azure-devices.net', deviceId: 'd 1' }, KEY, 1_700_000_000);
    const sr = encodeURIComponent('h.azure-devices.net/devices/d 1');
    const sig = createHmac('sha256', KEY).update(`${sr}\n1700000000`).digest('base64');
    assert.equal(token, `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=1700000000`);
  });

  it('computes a fresh token for each connection attempt, client id = device id', async () => {
    const u = parseUpstream({ ...base, azure: { deviceKeyEnv: 'DEVICE_KEY', sasLifetimeSec: 60 } });
    let now = 1_700_000_000_500;
    const o = mqttOptionsFromConfig(u, await resolveUpstreamSecrets(u, { DEVICE_KEY: KEY.toString('base64') }), { now: () => now });
    assert.equal(o.clientId, 'dev-1');
    assert.equal(o.username, 'my-hub.azure-devices.net/dev-1/?api-version=2021-04-12');
    assert.equal(o.password, undefined);
    const first = o.passwordProvider?.() ?? '';
    // Rounded up: the token lives at least the configured 60 s.
    assert.match(first, /&se=1700000061$/);
    now += 30_000;
    assert.match(o.passwordProvider?.() ?? '', /&se=1700000091$/);
  });

  it('names the variable when the key is missing or not base64', async () => {
    const u = parseUpstream(base);
    for (const env of [{}, { DEVICE_KEY: 'not base64!' }]) {
      await assert.rejects(resolveUpstreamSecrets(u, env), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map((i) => i.path), ['upstream.azure.deviceKeyEnv']);
        assert.match(err.message, /DEVICE_KEY/);
        return true;
      });
    }
  });
});

describe('azure-iot-hub profile: topics', () => {
  const p = azureIotHubProfile({ hubHost: 'h', deviceId: 'd1' }, { sasLifetimeSec: 3600, topicProperty: 'topic', c2dLocalPrefix: 'cloud/' }, true);

  it('sends telemetry to the device topic with the MQTT-SN topic as a property', () => {
    assert.deepEqual(p.mapOutbound?.('dev/a b/t'), { topic: 'devices/d1/messages/events/topic=dev%2Fa%20b%2Ft' });
    const none = azureIotHubProfile({ hubHost: 'h', deviceId: 'd1' }, { sasLifetimeSec: 3600, topicProperty: '' }, true);
    assert.deepEqual(none.mapOutbound?.('dev/x'), { topic: 'devices/d1/messages/events/' });
    assert.deepEqual(none.subscriptions, [], 'no c2d subscription without c2dLocalPrefix');
  });

  it('brings cloud-to-device messages to the local prefix, by their topic property', () => {
    assert.deepEqual(p.subscriptions, [{ filter: 'devices/d1/messages/devicebound/#', qos: 1 }]);
    assert.deepEqual(p.inbound?.('devices/d1/messages/devicebound/%24.mid=1&topic=cmd%2Fled', Buffer.alloc(0)), { kind: 'local', topic: 'cloud/cmd/led' });
    assert.deepEqual(p.inbound?.('devices/d1/messages/devicebound/', Buffer.alloc(0)), { kind: 'local', topic: 'cloud' });
    assert.equal(p.inbound?.('elsewhere', Buffer.alloc(0)), undefined);
    assert.deepEqual([...parsePropertyBag('a=1&b=x%2By&c&%ZZ=1')], [
      ['a', '1'],
      ['b', 'x+y'],
      ['c', ''],
      ['%ZZ', '1'],
    ]);
  });

  it('renews a token a quarter of its life before expiry, at most a minute before', () => {
    assert.equal(renewalLeadMs(2), 500);
    assert.equal(renewalLeadMs(3600), 60_000);
    assert.equal(p.renewConnectionAfterMs, 3_540_000);
    assert.equal(profileFor({ profile: 'azure-iot-hub', url: 'mqtts://h', clientId: 'd', azure: { sasLifetimeSec: 60, topicProperty: 'topic' } })?.renewConnectionAfterMs, undefined, 'X.509: nothing expires');
  });
});

describe('azure-iot-hub profile: bridge rules on a fake clock', () => {
  const upstream = { ...base, topics: [{ pattern: 'dev/#', qos: 2 }], azure: { deviceKeyEnv: 'K', sasLifetimeSec: 8 } };

  it('caps QoS, strips retain, and renews only once the in-flight messages are acknowledged', () =>
    withFakeBridge({}, upstream, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      await local('dev/a', 'one', 2, true);
      const first = fake.last;
      assert.deepEqual(
        first.published.map((p) => [p.msg.topic, p.msg.qos, p.msg.retain]),
        [['devices/dev-1/messages/events/topic=dev%2Fa', 1, false]],
      );
      assert.equal(bridge.status().counters.qosDowngraded, 1);
      assert.equal(bridge.status().counters.retainDropped, 1);

      clock.advance(6000); // 8 s - 2 s lead: renewal due, but "one" is unacknowledged
      await local('dev/a', 'two', 1);
      assert.equal(fake.connections.length, 1, 'waits for the ack');
      assert.equal(first.published.length, 1, 'sends nothing new meanwhile');
      first.ack();
      assert.equal(fake.connections.length, 2, 'a new connection (with a new token)');
      assert.equal(first.ended, 'graceful');
      assert.equal(bridge.status().counters.tokenRenewals, 1);
      fake.last.accept();
      assert.deepEqual(fake.last.payloads(), ['two']);
      assert.equal(bridge.status().counters.disconnects, 0);
    }));
});
