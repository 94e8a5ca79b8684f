/**
 * Codec throughput: decode and encode of the messages a gateway handles most, against a
 * `Buffer.from` copy of the same bytes measured in the same run, so the ratio means something
 * on any machine.
 */
import { decode, encode, type Packet } from '../../src/codec/index.js';
import { measure, type Row } from './measure.js';

const publish: Packet = {
  type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 42, topicIdType: 'normal', topicId: 7,
  payload: Buffer.from('{"t":21.5,"h":40.2,"b":9}'.slice(0, 20)),
};
const connect: Packet = { type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sensor-node-0042' };
const register: Packet = { type: 'REGISTER', topicId: 0, msgId: 9, topicName: 'site1/building2/room3/temperature' };

export function runCodecBench(): Row[] {
  const rows: Row[] = [];
  for (const [name, p] of [['PUBLISH (20-byte payload)', publish], ['CONNECT', connect], ['REGISTER', register]] as const) {
    const bytes = encode(p);
    let sink = 0;
    const baseline = measure(() => {
      sink += Buffer.from(bytes).length;
    });
    const dec = measure(() => {
      const r = decode(bytes);
      sink += r instanceof Error ? 0 : r.type.length;
    });
    const enc = measure(() => {
      sink += encode(p).length;
    });
    if (sink === 0) throw new Error('unreachable: keeps the work alive');
    rows.push({ name: `decode ${name}`, opsPerSec: dec, baseline: 'Buffer.from copy', ratio: dec / baseline, baselineOps: baseline });
    rows.push({ name: `encode ${name}`, opsPerSec: enc, baseline: 'Buffer.from copy', ratio: enc / baseline, baselineOps: baseline });
  }
  return rows;
}
