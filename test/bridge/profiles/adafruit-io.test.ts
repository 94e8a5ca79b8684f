/** The adafruit-io profile's config checks and pieces, and its pacing, coalescing, throttle and reconnect rules on a fake clock. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mqttOptionsFromConfig } from '../../../src/bridge/connect-options.js';
import { adafruitIoProfile, ADAFRUIT_RECONNECT_FLOOR_MS, ADAFRUIT_RECONNECT_JITTER_MS, feedKey, throttlePauseMs, WindowBudget } from '../../../src/bridge/profiles/index.js';
import { FakeClock } from '../../../src/clock.js';
import { resolveUpstreamSecrets } from '../../../src/config/index.js';
import { cyclingRandom, flappingConnects, mostWithin, withFakeBridge } from '../fake-bridge.js';
import { issuesOf, parseUpstream } from './config-issues.js';

const base = {
  profile: 'adafruit-io',
  url: 'mqtts://io.adafruit.com',
  clientId: 'gw-1',
  username: 'maker1',
  passwordEnv: 'AIO_KEY',
  topics: [{ pattern: 'dev/#', qos: 2 }],
};

describe('adafruit-io profile: config', () => {
  it('takes the user, the key variable and defaults for the budget', async () => {
    const u = parseUpstream(base);
    assert.equal(u.adafruit, undefined);
    const o = mqttOptionsFromConfig(u, await resolveUpstreamSecrets(u, { AIO_KEY: 'aio_x' }));
    assert.deepEqual([o.username, o.password], ['maker1', 'aio_x']);
    const p = adafruitIoProfile('maker1', parseUpstream({ ...base, adafruit: {} }).adafruit!);
    assert.deepEqual(p.publishWindow, { max: 30, windowMs: 63_000 });
  });

  it('names the field of each mistake', () => {
    const plain = issuesOf({ ...base, url: 'mqtt://io.adafruit.com' });
    assert.ok(plain.some((i) => i.path === 'upstream.url' && /mqtts/.test(i.message)), JSON.stringify(plain));
    assert.deepEqual(issuesOf({ ...base, username: undefined, passwordEnv: undefined }).map((i) => i.path).sort(), ['upstream.passwordEnv', 'upstream.username']);
    assert.deepEqual(issuesOf({ ...base, adafruit: { feedTemplate: '{user}/feeds/x' } }).map((i) => i.path), ['upstream.adafruit.feedTemplate']);
    assert.deepEqual(issuesOf({ ...base, adafruit: { dataPointsPerMinute: 0 } }).map((i) => i.path), ['upstream.adafruit.dataPointsPerMinute']);
    assert.deepEqual(issuesOf({ ...base, adafruit: { feedKeySeparator: '_' } }).map((i) => i.path), ['upstream.adafruit.feedKeySeparator']);
    assert.deepEqual(issuesOf({ ...base, profile: undefined, adafruit: {} }).map((i) => i.path), ['upstream.adafruit']);
  });
});

describe('adafruit-io profile: feeds and notices', () => {
  it('makes feed keys of topics', () => {
    assert.equal(feedKey('Sensors/Kitchen/Temp', '-'), 'sensors-kitchen-temp');
    assert.equal(feedKey('sensors/kitchen/temp', '.'), 'sensors.kitchen-temp');
    assert.equal(feedKey('a b/ü_c', '-'), 'a-b--c');
    const p = adafruitIoProfile('me', { feedTemplate: '{user}/f/{topic}', feedKeySeparator: '-', dataPointsPerMinute: 30, budgetWindowSec: 60, keepNewestPerFeed: true });
    assert.deepEqual(p.mapOutbound?.('dev/t'), { topic: 'me/f/dev-t' });
    assert.ok('refused' in (p.mapOutbound?.('//') ?? {}));
  });

  it('reads the wait out of a throttle notice', () => {
    assert.equal(throttlePauseMs('maker1 data rate limit reached, 17 seconds until throttle released'), 17_000);
    assert.equal(throttlePauseMs('slow down'), 60_000);
  });

  it('counts a budget over a sliding window', () => {
    const clock = new FakeClock();
    const w = new WindowBudget(clock, { max: 3, windowMs: 1000 });
    assert.ok(w.take(2));
    clock.advance(400);
    assert.ok(w.take());
    assert.equal(w.available(), 0);
    assert.equal(w.msUntilNext(), 600);
    clock.advance(600);
    assert.equal(w.available(), 2);
  });
});

describe('adafruit-io profile: bridge rules on a fake clock', () => {
  const budget = { dataPointsPerMinute: 2, budgetWindowSec: 1 };
  // 1 s window + 100 ms of margin for arrivals that bunch up on the way
  const WINDOW = 1100;

  it('paces to the budget and, while values wait, keeps only the newest per feed', () =>
    withFakeBridge({}, { ...base, adafruit: budget }, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      for (const v of ['a1', 'a2', 'a3', 'a4']) await local('dev/a', v);
      await local('dev/b', 'b1');
      await local('dev/c', 'c1', 0); // QoS 0 over the budget: waits its turn, a window at most
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2'], 'two in the first window');
      fake.last.ack();
      const c = bridge.status().counters;
      assert.equal(c.coalesced, 1, 'a3 replaced by a4');
      assert.equal(c.droppedRateLimited, 0);
      clock.advance(WINDOW);
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2', 'a4', 'c1'], 'the queue and QoS 0 take turns');
      fake.last.ack();
      clock.advance(WINDOW);
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2', 'a4', 'c1', 'b1']);
      assert.deepEqual(
        fake.last.published.map((p) => p.msg.topic),
        ['maker1/feeds/dev-a', 'maker1/feeds/dev-a', 'maker1/feeds/dev-a', 'maker1/feeds/dev-c', 'maker1/feeds/dev-b'],
      );
    }));

  it('never coalesces a value already sent: an unacknowledged one is sent again after a reconnect', () =>
    withFakeBridge({}, { ...base, adafruit: budget }, async ({ fake, clock, bridge, local }) => {
      fake.last.accept();
      await local('dev/a', 'a1');
      await local('dev/a', 'a2');
      await local('dev/a', 'a3');
      fake.last.drop();
      clock.advance(ADAFRUIT_RECONNECT_FLOOR_MS + ADAFRUIT_RECONNECT_JITTER_MS);
      fake.last.accept();
      // The close came right after the sends: one at a time until the last one then in flight is
      // acknowledged (how a message the upstream closes the connection over is found).
      assert.deepEqual(fake.last.payloads(), ['a1']);
      fake.last.ack(1);
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2'], 'the sent ones again, within the budget');
      fake.last.ack(1);
      clock.advance(WINDOW);
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2', 'a3']);
      assert.equal(bridge.status().counters.coalesced, 0);
    }));

  it('with keepNewestPerFeed false, every QoS 1 value waits its turn', () =>
    withFakeBridge({}, { ...base, adafruit: { ...budget, keepNewestPerFeed: false } }, async ({ fake, clock, local }) => {
      fake.last.accept();
      for (const v of ['a1', 'a2', 'a3', 'a4']) await local('dev/a', v);
      clock.advance(WINDOW);
      assert.deepEqual(fake.last.payloads(), ['a1', 'a2', 'a3', 'a4']);
    }));

  it('obeys a throttle notice, logs error notices, and subscribes to both', () =>
    withFakeBridge({}, { ...base, adafruit: { dataPointsPerMinute: 100 } }, async ({ fake, clock, bridge, logs, local, seen }) => {
      fake.last.accept();
      assert.deepEqual(fake.last.subscriptions.flat().map((s) => s.filter), ['maker1/throttle', 'maker1/errors']);
      await fake.last.deliver('maker1/throttle', 'maker1 data rate limit reached, 5 seconds until throttle released', 0);
      await fake.last.deliver('maker1/errors', 'bad feed', 0);
      await local('dev/a', 'held');
      assert.deepEqual(fake.last.payloads(), [], 'paused');
      clock.advance(4999);
      assert.deepEqual(fake.last.payloads(), []);
      clock.advance(1);
      assert.deepEqual(fake.last.payloads(), ['held']);
      assert.equal(bridge.status().counters.throttled, 1);
      assert.ok(logs.some((l) => l.level === 'warn' && l.obj.notice === 'bad feed'));
      assert.ok(logs.some((l) => l.level === 'warn' && /throttled/.test(l.msg)));
      assert.deepEqual(seen.filter((m) => m.origin === 'bridge'), [], 'notices are not delivered into the gateway');
    }));

  it('waits at least 4 s between connection attempts, whatever the backoff says', () =>
    withFakeBridge({}, { ...base, reconnect: { initialMs: 100, maxMs: 200 } }, ({ fake, clock }) => {
      fake.last.fail(new Error('connack 6'));
      clock.advance(ADAFRUIT_RECONNECT_FLOOR_MS - 1);
      assert.equal(fake.connections.length, 1);
      // The fake bridge's jitter is 0.999: the floor plus nearly all of the jitter.
      clock.advance(ADAFRUIT_RECONNECT_JITTER_MS);
      assert.equal(fake.connections.length, 2);
    }));

  it('keeps connections well under 20 a minute when each drops right after it came up', () =>
    // Shipped reconnect settings; measured before the fix: 19 connections in 60 s, one short of the limit.
    withFakeBridge({}, base, ({ fake, clock }) => {
      const at = flappingConnects({ fake, clock }, 120_000);
      assert.ok(at.length >= 20, `${at.length} in 2 minutes: it kept reconnecting`);
      assert.ok(mostWithin(at, 60_000) <= 15, `${mostWithin(at, 60_000)} connections within a minute`);
    }, { random: cyclingRandom() }));
});
