/**
 * `npm run test:cluster`: the full-size cluster run of issue #21 (3 NATS nodes, the front end,
 * 3 gateway instances in transparent mode, 1,000 publishing devices, 100 subscribed, 20 sleepers;
 * one gateway instance and later one broker node SIGKILLed mid-run). Prints the summary table;
 * exits 1 when an acknowledged message did not arrive or a sleeper on a surviving instance missed
 * what was buffered for it. Sizes can be lowered for a quick look: CLUSTER_PUBLISHERS=200.
 */
import { formatTable, runScenario } from './scenario.js';

const num = (name: string, d: number): number => {
  const v = process.env[name];
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: expected a whole number above 0`);
  return n;
};

const started = Date.now();
// A hang bound only (no timing assertion): the run takes about 2-3 minutes here.
const hang = setTimeout(() => {
  console.error('test:cluster: still running after 15 minutes; giving up');
  process.exit(2);
}, 15 * 60_000);
hang.unref();

const r = await runScenario({
  instances: 3,
  brokerNodes: 3,
  publishers: num('CLUSTER_PUBLISHERS', 1000),
  subscribers: num('CLUSTER_SUBSCRIBERS', 100),
  sleepers: num('CLUSTER_SLEEPERS', 20),
  perSleeper: 5,
  publishIntervalMs: num('CLUSTER_PUBLISH_INTERVAL_MS', 5000),
  keepAliveSec: 20,
  sleepSec: 30,
  phaseMs: [20_000, 20_000, 20_000],
  killGateway: true,
  killBroker: true,
  drainMs: 120_000,
  log: (l) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${l}`),
});
console.log('\n' + formatTable(r.rows));
const problems: string[] = [];
if (r.acked === 0) problems.push('no message was acknowledged');
if (r.missing.length > 0) problems.push(`${r.missing.length} acknowledged messages did not arrive, e.g. ${r.missing.slice(0, 5).join(', ')}`);
if (r.sleeperMissingOnSurvivors.length > 0) problems.push(`sleepers on surviving instances missed ${r.sleeperMissingOnSurvivors.length}: ${r.sleeperMissingOnSurvivors.slice(0, 5).join(', ')}`);
if (r.killedInstanceDevices > 0 && r.disconnectsFromGateway === 0) problems.push("no device of the killed instance was told DISCONNECT by another instance");
if (problems.length > 0) {
  console.error('\nFAILED:\n- ' + problems.join('\n- '));
  process.exit(1);
}
console.log('\nOK: every acknowledged message arrived');
process.exit(0);
