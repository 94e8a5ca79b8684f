/**
 * The adafruit-io profile end to end: an MQTT-SN sensor (firmware-sim over UDP) behind the
 * gateway, and a local broker that enforces Adafruit IO's rules (./adafruit-contract.ts) with a
 * small budget (6 data points per 2 s) so the test stays short. With the profile the gateway maps
 * topics to feed keys, paces to the budget and never goes over it. The coalescing rule, stated:
 * with keepNewestPerFeed (the default) a value waiting for the budget is replaced by a newer value
 * of the same feed, so every feed's newest value arrives and every QoS 1 value either arrives or
 * is counted as coalesced; with keepNewestPerFeed false every QoS 1 value arrives. Without the
 * profile the same traffic goes over the budget and loses data, which shows the contract can fail.
 * When another client spends the account's budget, the service drops a value and sends a throttle
 * notice, and the gateway holds back for the time it names.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { makeTestPki, type TestPki } from '../../helpers/mosquitto.js';
import { scrape, valueOf } from '../../observability/helpers.js';
import { publisher, snNode, startBridgedGateway, until, type BridgedGateway } from '../harness.js';
import { startAdafruitContract, type AdafruitContract } from './adafruit-contract.js';

const USER = 'maker1';
const AIO_KEY = 'aio_TestKey0123456789';
const BUDGET = 6;
const WINDOW_SEC = 2;
const FEEDS = ['Kitchen/Temp', 'kitchen/humidity', 'garage/door'];
const VALUES = 5;

describe('adafruit-io profile against an Adafruit IO contract broker', () => {
  let pki: TestPki;
  let io: AdafruitContract;
  const open: BridgedGateway[] = [];

  before(async () => {
    pki = await makeTestPki();
    io = await startAdafruitContract({
      ca: pki.ca,
      cert: pki.serverCert,
      key: pki.serverKey,
      user: USER,
      aioKey: AIO_KEY,
      budget: BUDGET,
      windowMs: WINDOW_SEC * 1000,
      minReconnectMs: 3000,
    });
  });
  after(async () => {
    await Promise.allSettled(open.map((g) => g.close()));
    await io.close();
    await pki.close();
  });

  async function gateway(upstream: Record<string, unknown>, sections: Record<string, unknown> = {}): Promise<BridgedGateway> {
    const gw = await startBridgedGateway(
      {
        url: `mqtts://localhost:${io.port}`,
        tls: { ca: pki.ca },
        username: USER,
        passwordEnv: 'AIO_KEY',
        ...upstream,
      },
      { AIO_KEY },
      sections,
    );
    open.push(gw);
    return gw;
  }

  /** VALUES values for each feed, interleaved, as fast as the sensor gets its PUBACKs, then one QoS 2. */
  async function traffic(gw: BridgedGateway, clientId: string, topicOf: (feed: string) => string): Promise<void> {
    const node = await snNode(gw.udpPort, clientId);
    try {
      for (let v = 0; v < VALUES; v++) {
        for (const feed of FEEDS) await node.publish({ topic: topicOf(feed), payload: `${feed}=${v}`, qos: 1 });
      }
      await node.publish({ topic: topicOf('status'), payload: 'q2', qos: 2 });
    } finally {
      await node.close();
    }
  }

  /** The service's budget is account-wide: wait until no point it stored is inside its window. */
  const freshWindow = (): Promise<void> =>
    until(() => io.accepted.every((a) => performance.now() - a.at >= WINDOW_SEC * 1000), (WINDOW_SEC + 5) * 1000, "a window without the earlier tests' points");

  const key = (feed: string): string => feed.toLowerCase().replace('/', '-');

  it('stays within the budget, keeps the newest value of every feed, loses no QoS 1 value but by coalescing', async () => {
    const v0 = io.violations.length;
    const a0 = io.accepted.length;
    const gw = await gateway({
      profile: 'adafruit-io',
      topics: [{ pattern: 'dev/#', direction: 'out', qos: 2, localPrefix: '', remotePrefix: '' }],
      adafruit: { dataPointsPerMinute: BUDGET, budgetWindowSec: WINDOW_SEC },
    }, { http: { enabled: true, port: 0 } });
    try {
      await until(() => gw.bridge.connected, 5000, 'connection');
      await until(() => io.subscribed.includes(`${USER}/throttle`) && io.subscribed.includes(`${USER}/errors`), 5000, 'throttle and errors subscribed');
      await traffic(gw, 'sensor-a', (f) => `dev/${f}`);
      const total = FEEDS.length * VALUES + 1;
      await until(() => io.accepted.length - a0 + (gw.bridge.status().counters.coalesced ?? 0) >= total, 10_000, 'every value stored or coalesced');
      await until(() => gw.bridge.status().queue.messages === 0, 5000, 'queue drained');

      assert.deepEqual(io.violations.slice(v0), []);
      const got = io.accepted.slice(a0);
      for (const feed of FEEDS) {
        const values = got.filter((a) => a.feed === `dev-${key(feed)}`).map((a) => a.payload);
        assert.equal(values.at(-1), `${feed}=${VALUES - 1}`, `the newest value of ${feed} arrived last`);
      }
      assert.deepEqual(got.filter((a) => a.feed === 'dev-status').map((a) => a.qos), [1], 'QoS 2 went up as QoS 1');
      const c = gw.bridge.status().counters;
      assert.equal(got.length + (c.coalesced ?? 0), total, 'each value stored or coalesced, none lost otherwise');
      assert.ok((c.coalesced ?? 0) > 0, 'the burst was over the budget: values were coalesced');
      assert.equal(c.qosDowngraded, 1);
      assert.equal(c.disconnects, 0);

      const { samples } = await scrape(gw.running.http!.port);
      const metric = (name: string) => valueOf(samples, `mqttsn_upstream_${name}_total`, { profile: 'adafruit-io' });
      assert.equal(metric('coalesced'), c.coalesced, 'coalesced on /metrics');
      assert.equal(metric('qos_downgraded'), 1, 'qosDowngraded on /metrics');
      assert.equal(metric('refused_by_profile'), 0);
      assert.equal(metric('dropped_rate_limited'), 0);
    } finally {
      await gw.close();
    }
  });

  it('with keepNewestPerFeed false, every QoS 1 value arrives, paced', async () => {
    const v0 = io.violations.length;
    const a0 = io.accepted.length;
    await freshWindow();
    const gw = await gateway({
      profile: 'adafruit-io',
      topics: [{ pattern: 'all/#', direction: 'out', qos: 1 }],
      adafruit: { dataPointsPerMinute: BUDGET, budgetWindowSec: WINDOW_SEC, keepNewestPerFeed: false, feedKeySeparator: '.' },
    });
    try {
      await until(() => gw.bridge.connected, 5000, 'connection');
      await traffic(gw, 'sensor-b', (f) => `all/${f}`);
      const total = FEEDS.length * VALUES + 1;
      await until(() => io.accepted.length - a0 >= total, 15_000, 'every value stored');
      assert.deepEqual(io.violations.slice(v0), []);
      assert.equal(gw.bridge.status().counters.coalesced, 0);
      // "." names a group: all/garage/door -> all.garage-door
      assert.ok(io.accepted.slice(a0).some((a) => a.feed === 'all.garage-door'));
    } finally {
      await gw.close();
    }
  });

  it('holds back when another client of the account spent the budget and the service sends a throttle notice', async () => {
    await freshWindow();
    const gw = await gateway({
      profile: 'adafruit-io',
      topics: [{ pattern: 'dev/#', direction: 'out', qos: 1 }],
      adafruit: { dataPointsPerMinute: BUDGET, budgetWindowSec: WINDOW_SEC },
    });
    const other = await publisher(`mqtts://localhost:${io.port}`, { ca: await readFile(pki.ca), username: USER, password: AIO_KEY });
    const node = await snNode(gw.udpPort, 'sensor-t');
    try {
      await until(() => gw.bridge.connected && io.subscribed.includes(`${USER}/throttle`), 5000, 'connection and throttle subscription');
      for (let i = 0; i < BUDGET; i++) await other.publishAsync(`${USER}/feeds/other`, `o${i}`, { qos: 1 });
      // The service drops this one (the account is over its budget) and sends a notice.
      await node.publish({ topic: 'dev/t', payload: 'spent', qos: 1 });
      await until(() => (gw.bridge.status().counters.throttled ?? 0) >= 1, 5000, 'the throttle notice taken');
      assert.ok(gw.logs.some((l) => l.level === 'warn' && typeof l.obj.notice === 'string' && /data rate limit reached/.test(l.obj.notice)), 'the notice is logged');
      await node.publish({ topic: 'dev/t', payload: 'after', qos: 1 });
      await until(() => io.accepted.some((a) => a.payload === 'after'), 5000, 'sent once the pause is over');
      // Sent before the account's window had room again, the service would have dropped it.
      assert.deepEqual(
        io.dropped.filter((d) => d.payload === 'after'),
        [],
        'paused for the time the notice names',
      );
    } finally {
      await node.close();
      await other.endAsync();
      await gw.close();
    }
  });

  it('without the profile, the same traffic goes over the budget and data is lost', async () => {
    const v0 = io.violations.length;
    await freshWindow();
    // What a user would write by hand: the feeds' prefix as the rule's remote prefix.
    const gw = await gateway({ topics: [{ pattern: '#', direction: 'out', qos: 2, localPrefix: 'plain/', remotePrefix: `${USER}/feeds/` }] });
    try {
      await until(() => gw.bridge.connected, 5000, 'connection');
      await traffic(gw, 'sensor-c', (f) => `plain/${key(f)}`);
      await until(() => io.violations.slice(v0).some((v) => v.rule === 'rate'), 5000, 'a budget violation');
      assert.ok(io.dropped.length > 0, 'values dropped by the service');
      // QoS 2 closes the connection; the plain bridge comes back within the reconnect rule's 3 s.
      await until(() => io.violations.slice(v0).some((v) => v.rule === 'qos2'), 5000, 'a QoS 2 violation');
      await until(() => io.violations.slice(v0).some((v) => v.rule === 'reconnect'), 5000, 'a reconnect violation');
    } finally {
      await gw.close();
    }
  });
});
