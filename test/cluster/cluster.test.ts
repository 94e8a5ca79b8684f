/**
 * The cluster scenario scaled down for the e2e suite (`npm run test:cluster` is the full size):
 * 3 NATS nodes (Debian's nats-server) behind a TCP balancer, the UDP front end (Debian's nginx
 * stream module), 3 gateway instances in transparent mode, 60 devices over real UDP. One
 * instance is SIGKILLed mid-run, then one broker node: every message a device got PUBACK 0x00
 * for reaches its subscriber, the killed instance's devices come back through another instance
 * (told DISCONNECT there), and sleepers on the surviving instances get what was buffered for them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, runScenario } from './scenario.js';

describe('cluster: instances on a NATS cluster behind the UDP front end', () => {
  it('loses no acknowledged message when a gateway instance and then a broker node are killed', { timeout: 300_000 }, async () => {
    const r = await runScenario({
      instances: 3,
      brokerNodes: 3,
      publishers: 45,
      subscribers: 9,
      sleepers: 6,
      perSleeper: 3,
      publishIntervalMs: 1000,
      keepAliveSec: 10,
      sleepSec: 8,
      phaseMs: [5000, 8000, 8000],
      killGateway: true,
      killBroker: true,
      drainMs: 90_000,
    });
    console.log(formatTable(r.rows));
    assert.ok(r.acked > 100, `only ${r.acked} messages acknowledged`);
    assert.deepEqual(r.missing, [], 'acknowledged messages that never arrived');
    assert.ok(r.killedInstanceDevices > 0, 'the killed instance carried no device');
    // Each device of the killed instance was answered DISCONNECT by another instance and came back.
    assert.ok(r.disconnectsFromGateway >= r.killedInstanceDevices, `${r.disconnectsFromGateway} DISCONNECTs for ${r.killedInstanceDevices} moved devices`);
    assert.ok(r.failovers.length >= r.killedInstanceDevices, `${r.failovers.length} failovers for ${r.killedInstanceDevices} moved devices`);
    assert.deepEqual(r.sleeperMissingOnSurvivors, [], "sleepers' buffered messages not delivered at wake-up");
  });
});
