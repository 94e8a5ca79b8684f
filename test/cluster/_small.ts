import { formatTable, runScenario } from './scenario.js';
const r = await runScenario({ instances: 3, brokerNodes: 3, publishers: 30, subscribers: 6, sleepers: 6, perSleeper: 3, publishIntervalMs: 1000, keepAliveSec: 10, sleepSec: 8, phaseMs: [6000, 10000, 10000], killGateway: true, killBroker: true, drainMs: 60000, log: (l) => console.log(l) });
console.log(formatTable(r.rows));
console.log('missing', r.missing.slice(0, 10), r.sleeperMissingOnSurvivors.slice(0,10));
