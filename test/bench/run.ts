/** `npm run bench`: every benchmark of the project, printed as Markdown tables with the machine. */
import { runCodecBench } from './codec.js';
import { runTransportBench } from './transport.js';
import { gatewayTables, runGatewayBench } from './gateway.js';
import { runBridgeBench } from './bridge.js';
import { runStoreBench } from './store.js';
import { runTopicsBench } from './topics.js';
import { memoryTables, runMemoryBench } from './memory.js';
import { admissionTable, runAdmissionBench } from './admission.js';
import { clusterTable, runClusterBench } from './cluster.js';
import { machine, table } from './measure.js';
import { executable } from '../cluster/processes.js';

console.log(`# mqttsn-gateway benchmarks\n\n${machine()}\n`);
console.log(table('Codec (one core)', runCodecBench()));
console.log('');
console.log(table('Topics (one core)', runTopicsBench()));
console.log('');
console.log(table('Transports (loopback, pty)', await runTransportBench()));
console.log('');
console.log(gatewayTables(await runGatewayBench()));
console.log('');
console.log(admissionTable(await runAdmissionBench()));
console.log('');
console.log(table('Upstream bridge (aggregating and transparent) against MQTT.js straight to mosquitto', await runBridgeBench()));
console.log('');
console.log(table('QoS 1 with the SQLite store against the memory store', await runStoreBench()));
console.log('');
console.log(memoryTables(await runMemoryBench()));
console.log('');
// The cluster bench needs Debian's nats-server and nginx stream module; without them it says so.
let clusterTools: string | undefined;
try {
  executable('nats-server', 'apt-get install -y nats-server');
  executable('nginx', 'apt-get install -y nginx libnginx-mod-stream');
} catch (e) {
  clusterTools = (e as Error).message;
}
console.log(clusterTools === undefined ? clusterTable(await runClusterBench()) : `### Cluster\n\nNot run: ${clusterTools}`);
