/**
 * Codec throughput: decode and encode of the messages a gateway handles most, in 1.2 and 2.0,
 * against a `Buffer.from` copy of the same bytes measured in the same run, so the ratio means
 * something on any machine. The 2.0 demultiplexer's cost is measured the same way.
 */
import { decode, DecodeError, demultiplex, encode, v2, type Packet } from '../../src/codec/index.js';
import { measure, type Row } from './measure.js';

const payload = Buffer.from('{"t":21.5,"h":40.2,"b":9}'.slice(0, 20));
const publish: Packet = { type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 42, topicIdType: 'normal', topicId: 7, payload };
const connect: Packet = { type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'sensor-node-0042' };
const register: Packet = { type: 'REGISTER', topicId: 0, msgId: 9, topicName: 'site1/building2/room3/temperature' };
const publish2: v2.Packet = { type: 'PUBLISH', dup: false, qos: 1, retain: false, packetId: 42, topicType: 'session', topicAlias: 7, payload };
const connect2: v2.Packet = {
  type: 'CONNECT', cleanStart: true, allowNetworkAddressChanges: false, allowServerSuggestedValues: false,
  packetId: 1, protocolVersion: 2, keepAlive: 60, maxPacketSize: 0, sessionExpiryInterval: 3600, clientId: 'sensor-node-0042',
};

interface Case {
  name: string;
  bytes: Buffer;
  decode: (b: Buffer) => { type: string } | Error;
  encode: () => Buffer;
}

const v12 = (name: string, p: Packet): Case => ({ name, bytes: encode(p), decode: (b) => decode(b), encode: () => encode(p) });
const v20 = (name: string, p: v2.Packet): Case => ({ name: `${name} 2.0`, bytes: v2.encode(p), decode: (b) => v2.decode(b), encode: () => v2.encode(p) });

export function runCodecBench(): Row[] {
  const rows: Row[] = [];
  const cases = [v12('PUBLISH (20-byte payload)', publish), v12('CONNECT', connect), v12('REGISTER', register), v20('PUBLISH (20-byte payload)', publish2), v20('CONNECT', connect2)];
  for (const c of cases) {
    const bytes = c.bytes;
    let sink = 0;
    const baseline = measure(() => {
      sink += Buffer.from(bytes).length;
    });
    const dec = measure(() => {
      const r = c.decode(bytes);
      sink += r instanceof Error ? 0 : r.type.length;
    });
    const enc = measure(() => {
      sink += c.encode().length;
    });
    if (sink === 0) throw new Error('unreachable: keeps the work alive');
    rows.push({ name: `decode ${c.name}`, opsPerSec: dec, baseline: 'Buffer.from copy', ratio: dec / baseline, baselineOps: baseline });
    rows.push({ name: `encode ${c.name}`, opsPerSec: enc, baseline: 'Buffer.from copy', ratio: enc / baseline, baselineOps: baseline });
  }
  // Which codec reads a datagram: a lookup for a sender with a VC, two decodes for a stranger's odd packet.
  const pub2 = v2.encode(publish2);
  const odd = Buffer.from('04100004', 'hex'); // a 1.2 PUBREL from a sender without a VC: outside the §7 table
  let sink = 0;
  const baseline = measure(() => {
    sink += Buffer.from(pub2).length;
  });
  const known = measure(() => {
    sink += demultiplex(pub2, { session: '2.0' }).version.length;
  });
  const stranger = measure(() => {
    sink += demultiplex(odd).version.length;
  });
  if (sink === 0) throw new Error('unreachable: keeps the work alive');
  rows.push({ name: 'demultiplex (sender with a VC)', opsPerSec: known, baseline: 'Buffer.from copy', ratio: known / baseline, baselineOps: baseline });
  rows.push({ name: 'demultiplex (stranger, type outside the table)', opsPerSec: stranger, baseline: 'Buffer.from copy', ratio: stranger / baseline, baselineOps: baseline });
  // What a flood of garbage costs once it gets past admission: a malformed frame decoded to its error.
  const garbage = Buffer.from('05ee0a0709', 'hex');
  const bad = measure(() => {
    sink += decode(garbage) instanceof DecodeError ? 1 : 0;
  });
  rows.push({ name: 'decode a malformed frame (to its DecodeError)', opsPerSec: bad, baseline: 'Buffer.from copy', ratio: bad / baseline, baselineOps: baseline });
  return rows;
}
