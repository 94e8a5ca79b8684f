/**
 * The README's first demo, as a user runs it: the gateway CLI on the shipped gateway.config.json,
 * then the `npm run sim -- ...` line of the README, checked against mosquitto_sub on the local
 * listener (readme-demo-run.ts says what differs from the README and why). Both runs are in one
 * file so they run one after the other: two 100-node demos at once on a 2-core machine starve
 * each other's load generator.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runReadmeDemo } from './readme-demo-run.js';

describe('README demo: firmware-sim against the gateway as shipped', () => {
  it('reports end-to-end delivery that matches what mosquitto_sub counted on the local listener', { timeout: 120_000 }, async () => {
    await runReadmeDemo();
  });

  // The line README-ADDITIONS-v2sim.md adds: 50 nodes of each version publish QoS 1, observers of
  // both versions measure delivery end to end, and mosquitto_sub counts independently.
  it('with --protocol 1.2,2 --expect-no-loss: connects every node of both versions and loses nothing', { timeout: 120_000 }, async () => {
    const report = await runReadmeDemo(['--protocol', '1.2,2', '--expect-no-loss']);
    assert.match(report, /protocols +1\.2: 50 node\(s\) \(50 connected\) +2\.0: 50 node\(s\) \(50 connected\)/, report);
  });
});
