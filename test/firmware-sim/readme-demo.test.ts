/**
 * The README's first demo, as a user runs it: the gateway CLI on the shipped gateway.config.json,
 * then the `npm run sim -- ...` line of the README, checked against mosquitto_sub on the local
 * listener (readme-demo-run.ts says what differs from the README and why).
 */
import { describe, it } from 'node:test';
import { runReadmeDemo } from './readme-demo-run.js';

describe('README demo: firmware-sim against the gateway as shipped', () => {
  it('reports end-to-end delivery that matches what mosquitto_sub counted on the local listener', { timeout: 120_000 }, async () => {
    await runReadmeDemo();
  });
});
