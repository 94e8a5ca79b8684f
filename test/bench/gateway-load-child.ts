/**
 * A load process of the gateway benchmark: firmware-sim's generator with each payload carrying
 * its send time, so the MQTT subscriber in the parent measures end-to-end latency. Run as
 * `node --import tsx gateway-load-child.ts '<json options>'`; prints one JSON report line.
 */
import { runLoad } from '../../firmware-sim/load.js';
import type { QoS } from '../../src/codec/index.js';
import type { ProtocolVersion } from '../../firmware-sim/node-types.js';

interface ChildOptions {
  gateway: string;
  nodes: number;
  rate: number;
  durationMs: number;
  qos: QoS;
  clientPrefix: string;
  topicPrefix: string;
  /** the MQTT-SN version the nodes speak; absent: 1.2 */
  protocol?: ProtocolVersion;
}

const o = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const wallNow = (): number => performance.timeOrigin + performance.now();

const report = await runLoad({
  gateway: o.gateway,
  nodes: o.nodes,
  rate: o.rate,
  durationMs: o.durationMs,
  qos: o.qos,
  clientPrefix: o.clientPrefix,
  topicPrefix: o.topicPrefix,
  ...(o.protocol === undefined ? {} : { protocol: o.protocol }),
  connectRate: 5000,
  keepAlive: 600,
  drainMs: 3000,
  burst: Math.max(1, o.rate / 50),
  tickMs: 2,
  payload: (seq) => {
    const b = Buffer.allocUnsafe(20);
    b.writeDoubleBE(wallNow(), 0);
    b.writeUInt32BE(seq, 8);
    b.fill(0x61, 12);
    return b;
  },
});
process.stdout.write(`${JSON.stringify(report)}\n`);
