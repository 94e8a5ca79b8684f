/**
 * The README's first demo with MQTT-SN 1.2 and 2.0 nodes mixed (`--protocol 1.2,2`, the line
 * the README's First run shows) and `--expect-no-loss`, against the gateway CLI on the shipped
 * config: 50 nodes of each version publish QoS 1, observers of both versions measure delivery end
 * to end, and mosquitto_sub on the local listener counts independently (readme-demo-run.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runReadmeDemo } from './readme-demo-run.js';

describe('README demo with --protocol 1.2,2 against the gateway as shipped', () => {
  it('connects every node of both versions and loses nothing, as mosquitto_sub counts', { timeout: 120_000 }, async () => {
    const report = await runReadmeDemo(['--protocol', '1.2,2', '--expect-no-loss']);
    assert.match(report, /protocols +1\.2: 50 node\(s\) \(50 connected\) +2\.0: 50 node\(s\) \(50 connected\)/, report);
  });
});
