/**
 * The aws-iot profile end to end against a local broker that enforces AWS IoT Core's rules
 * (./aws-contract.ts): the gateway with the profile keeps every rule and loses no QoS 1 message;
 * the same gateway without it breaks the rules, which shows the contract can fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import type { Bridge } from '../../../src/bridge/types.js';
import { parseConfig } from '../../../src/config/index.js';
import { createGateway, type RunningGateway } from '../../../src/index.js';
import { makeTestPki, type TestPki } from '../../helpers/mosquitto.js';
import { recorder, sleep, until, type LogLine } from '../harness.js';
import { startAwsContract, type AwsContract } from './aws-contract.js';

// The server certificate names localhost, which resolves to 127.0.0.1 only here, and a host name
// (unlike an IP address) can travel as SNI.
const ENDPOINT = 'localhost';
const THING = 'thing-gw-1';
const BULK = 300;

interface Running {
  running: RunningGateway;
  bridge: Bridge;
  local: MqttClient;
  logs: LogLine[];
  close(): Promise<void>;
}

describe('aws-iot profile against an AWS IoT Core contract broker', () => {
  let pki: TestPki;
  let aws: AwsContract;

  before(async () => {
    pki = await makeTestPki();
    aws = await startAwsContract({ ca: pki.ca, cert: pki.serverCert, key: pki.serverKey, endpoint: ENDPOINT });
  });
  after(async () => {
    await aws.close();
    await pki.close();
  });

  async function start(o: { profile?: 'aws-iot'; clientId: string; inbound?: number; shippedReconnect?: boolean }): Promise<Running> {
    const inbound = Array.from({ length: o.inbound ?? 0 }, (_, i) => ({ pattern: `cmd/${i}/#`, direction: 'in', qos: 1 }));
    const config = parseConfig({
      transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
      broker: { listen: [{ host: '127.0.0.1', port: 0 }] },
      timers: { advertiseIntervalSec: 0 },
      upstream: {
        ...(o.profile === undefined ? {} : { profile: o.profile }),
        url: `mqtts://${ENDPOINT}:${aws.port}`,
        clientId: o.clientId,
        tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
        // QoS 2 allowed by the rule, so a QoS 2 message reaches the bridge as QoS 2.
        topics: [{ pattern: 'dev/#', direction: 'out', qos: 2 }, ...inbound],
        ...(o.shippedReconnect === true ? {} : { reconnect: { initialMs: 100, maxMs: 300 } }),
      },
    });
    const logs: LogLine[] = [];
    const running = await createGateway(config, { logger: recorder(logs) });
    const bridge = running.bridge;
    const listener = running.broker.listeners[0];
    assert.ok(bridge !== undefined && listener !== undefined);
    const local = await mqtt.connectAsync(`mqtt://127.0.0.1:${listener.port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: `local-${o.clientId}` });
    return {
      running,
      bridge,
      local,
      logs,
      close: async () => {
        await local.endAsync(true);
        await running.close();
      },
    };
  }

  /** A burst from the local side, as fast as the local broker takes it. */
  const burst = (c: MqttClient, tag: string): Promise<unknown> =>
    Promise.all(Array.from({ length: BULK }, (_, i) => c.publishAsync(`dev/${tag}/${i}`, `${tag}-${i}`, { qos: 1 })));

  const violationsOf = (clientId: string) => aws.violations.filter((v) => v.clientId === clientId);

  it('keeps every rule: paced, QoS capped, oversize refused, subscriptions batched, no QoS 1 message lost', async () => {
    const gw = await start({ profile: 'aws-iot', clientId: THING, inbound: 60 });
    try {
      await until(() => gw.bridge.connected, 5000, 'TLS connection with the thing certificate');
      await until(() => aws.subscriptionsOf(THING) === 50, 5000, '50 subscriptions');

      const started = performance.now();
      await burst(gw.local, 'bulk');
      await gw.local.publishAsync('dev/q2/a', 'exactly-once', { qos: 2 });
      await gw.local.publishAsync('dev/state', 'on', { qos: 1, retain: true });
      await gw.local.publishAsync('dev/big', Buffer.alloc(128 * 1024 + 1, 0x61), { qos: 1 });
      await gw.local.publishAsync('dev/a/b/c/d/e/f/g/h', 'deep', { qos: 1 });

      const mine = () => aws.accepted.filter((a) => a.clientId === THING);
      await until(() => mine().length >= BULK + 2, 15_000, 'every message at the contract broker');
      const elapsed = performance.now() - started;

      assert.deepEqual(violationsOf(THING), []);
      const got = mine();
      const bulk = new Set(got.filter((a) => a.topic.startsWith('dev/bulk/')).map((a) => a.payload));
      assert.equal(bulk.size, BULK, 'every QoS 1 message of the burst arrived');
      assert.deepEqual(
        got.filter((a) => a.topic === 'dev/q2/a').map((a) => a.qos),
        [1],
        'QoS 2 went up as QoS 1',
      );
      assert.equal(got.find((a) => a.topic === 'dev/state')?.retain, true, 'retain is carried');
      assert.ok(!got.some((a) => a.topic === 'dev/big' || a.topic.startsWith('dev/a/')), 'nothing the service would refuse went up');
      // 300 messages at 70/s after a burst of 5 cannot take less than ~4.2 s: the bridge paced them.
      assert.ok(elapsed > 3500, `paced: ${Math.round(elapsed)} ms`);

      const s = gw.bridge.status();
      assert.equal(s.counters.connects, 1, 'never disconnected by the service');
      assert.equal(s.counters.disconnects, 0);
      assert.equal(s.counters.qosDowngraded, 1);
      assert.equal(s.counters.refusedByProfile, 2);
      const refusal = gw.logs.find((l) => l.msg.startsWith('message not sent upstream: AWS IoT Core would refuse it'));
      assert.ok(refusal, 'a refusal is logged');
      assert.match(String(refusal.obj.reason), /131073 bytes|"\/"/);
      // Rate-limited: the second refusal, within the interval, is counted and not logged.
      assert.equal(gw.logs.filter((l) => l.msg.startsWith('message not sent upstream')).length, 1);

      assert.ok(aws.sni.includes(ENDPOINT));
      assert.ok(Math.max(...aws.subscribeSizes) <= 8, `SUBSCRIBE sizes ${aws.subscribeSizes.join(',')}`);
      assert.ok(gw.logs.some((l) => l.level === 'warn' && Array.isArray(l.obj.leftOut) && l.obj.leftOut.length === 10), 'the 10 filters beyond 50 are named');
    } finally {
      await gw.close();
    }
  });

  it('QoS 0 under the rate goes up in full while a QoS 1 backlog drains at the pace', async () => {
    const id = 'thing-mixed';
    const gw = await start({ profile: 'aws-iot', clientId: id });
    try {
      await until(() => gw.bridge.connected, 5000, 'connection');
      await burst(gw.local, 'backlog');
      // 20 QoS 0 readings a second for 5 s while the 300 QoS 1 drain at 70/s (about 4.3 s).
      for (let i = 0; i < 100; i++) {
        gw.local.publish(`dev/reading/${i}`, `r-${i}`, { qos: 0 });
        await sleep(50);
      }
      const mine = () => aws.accepted.filter((a) => a.clientId === id);
      await until(() => mine().filter((a) => a.qos === 1).length >= BULK, 15_000, 'the QoS 1 backlog at the contract broker');
      await until(() => mine().filter((a) => a.qos === 0).length >= 100 || gw.bridge.status().counters.droppedRateLimited > 0, 5000, 'the QoS 0 readings');
      assert.deepEqual(violationsOf(id), []);
      assert.equal(gw.bridge.status().counters.droppedRateLimited, 0);
      assert.equal(new Set(mine().filter((a) => a.qos === 0).map((a) => a.payload)).size, 100, 'every QoS 0 reading went up');
    } finally {
      await gw.close();
    }
  });

  it('a connection the service closes right after it came up is not opened again within the second', async () => {
    // The shipped reconnect backoff (1 s halved at random) alone comes back in 0.5-1 s.
    const id = 'thing-flapping';
    aws.flapping.add(id);
    const gw = await start({ profile: 'aws-iot', clientId: id, shippedReconnect: true });
    try {
      await until(() => aws.connectTimes(id).length >= 4, 15_000, 'four connections');
      assert.deepEqual(violationsOf(id), []);
      const at = aws.connectTimes(id);
      const gaps = at.slice(1).map((t, i) => Math.round(t - at[i]!));
      assert.ok(Math.min(...gaps) >= 1000, `gaps ${gaps.join(' ')} ms`);
    } finally {
      aws.flapping.delete(id);
      await gw.close();
    }
  });

  it('without the profile, the same burst breaks the rate rule and the service disconnects the bridge', async () => {
    const id = 'plain-rate';
    const gw = await start({ clientId: id });
    try {
      await until(() => gw.bridge.connected, 5000, 'connection');
      await burst(gw.local, 'bulk');
      await until(() => violationsOf(id).some((v) => v.rule === 'rate'), 10_000, 'a rate violation');
      await until(() => gw.bridge.status().counters.disconnects >= 1, 5000, 'a disconnect');
    } finally {
      await gw.close();
    }
  });

  it('without the profile, a QoS 2 message goes up as QoS 2 and is refused', async () => {
    const id = 'plain-qos2';
    const gw = await start({ clientId: id });
    try {
      await until(() => gw.bridge.connected, 5000, 'a connection');
      await gw.local.publishAsync('dev/q2/b', 'exactly-once', { qos: 2 });
      await until(() => violationsOf(id).some((v) => v.rule === 'qos2'), 5000, 'a QoS 2 violation');
    } finally {
      await gw.close();
    }
  });

  it('without the profile, 60 inbound filters go up in one SUBSCRIBE and are refused', async () => {
    const id = 'plain-subscribe';
    const gw = await start({ clientId: id, inbound: 60 });
    try {
      await until(() => violationsOf(id).some((v) => v.rule === 'subscribe-batch'), 5000, 'a SUBSCRIBE batch violation');
    } finally {
      await gw.close();
    }
  });
});
