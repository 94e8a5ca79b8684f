/** Seeds of the abuse tests: each run prints its seed so that a failure can be replayed. */
export { seededRandom } from '../../firmware-sim/fleet.js';

/** The seed of this run: MQTTSN_FUZZ_SEED when set (to replay a failure), else a fresh one. */
export function runSeed(): number {
  const fromEnv = process.env.MQTTSN_FUZZ_SEED;
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}
