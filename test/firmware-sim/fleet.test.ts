/** Every profile together in one short run, in process, with end-to-end tracking. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseUdpUrl } from '../../firmware-sim/link.js';
import { runFleet } from '../../firmware-sim/fleet.js';
import { PROFILE_NAMES } from '../../firmware-sim/profiles.js';
import { gatewaysUnderTest, startGatewayUnderTest, type GatewayUnderTest } from './gateway-under-test.js';

for (const which of gatewaysUnderTest()) describe(`runFleet against ${which}`, () => {
  let gw: GatewayUnderTest;
  before(async () => {
    gw = await startGatewayUnderTest(which);
  });
  after(() => gw.close());

  it('runs every profile side by side without losing a QoS 1/2 message', async () => {
    const progress: number[] = [];
    const r = await runFleet({
      target: { kind: 'udp', gateway: parseUdpUrl(gw.url) },
      nodes: PROFILE_NAMES.length * 2,
      profiles: PROFILE_NAMES,
      rate: 8,
      qos: 2,
      durationMs: 1500,
      keepAlive: 30,
      cleanSession: true,
      will: true,
      sleepSec: 1,
      predefinedId: 1,
      clientPrefix: 'fleet-',
      topicPrefix: 'fleet',
      observe: true,
      retryMs: 500,
      maxRetries: 3,
      rampMs: 100,
      drainMs: 3000,
      seed: 7,
      progressMs: 500,
      onProgress: (p) => progress.push(p.sent),
    });
    // Beacons and misbehaving nodes never connect; the rest all do.
    assert.equal(r.nodes.connected, PROFILE_NAMES.length * 2 - 4);
    assert.equal(r.nodes.failed, 0);
    assert.equal(r.lost, 0, JSON.stringify(r, null, 1));
    assert.equal(r.duplicates, 0);
    assert.ok(r.publish['2'].sent > 0 && r.publish['1'].sent > 0 && r.publish['-1'].sent > 0);
    assert.ok(r.endToEnd && r.endToEnd.delivered === r.endToEnd.expected && r.endToEnd.expected > 0);
    // Sleepy nodes slept and woke; actuators received commands from the controller.
    assert.ok((r.latency.sleep?.count ?? 0) >= 2, 'sleep cycles');
    assert.ok((r.latency.wake?.count ?? 0) >= 1, 'wake-ups');
    const misbehaved = Object.entries(r.counters).filter(([k]) => k.startsWith('misbehave.')).reduce((n, [, v]) => n + v, 0);
    assert.ok(misbehaved > 0);
    assert.ok(progress.length >= 2);
  });
});
