/**
 * The memory benchmark's baseline: a bare Node process holding the same sockets as the gateway
 * (a UDP socket per transport, a TCP listener for the broker port) and answering just enough of
 * MQTT-SN by hand (CONNECT, REGISTER, PINGREQ; forwarder-encapsulated too) for the same load to
 * run against it. No codec, no sessions, no broker: what Node itself costs for that traffic.
 *
 *   node bare-sockets-child.js '{"udp":[port, ...],"tcp":port}'   prints "ready" once bound
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createServer } from 'node:net';

const o = JSON.parse(process.argv[2] ?? '{}') as { udp: number[]; tcp: number };

/** The answer to one (unwrapped) MQTT-SN frame with a one-byte length, or undefined. */
function answer(m: Buffer): Buffer | undefined {
  if (m.length < 2 || m[0] === 1) return undefined;
  switch (m[1]) {
    case 0x04: // CONNECT -> CONNACK accepted
      return Buffer.from([3, 0x05, 0]);
    case 0x0a: // REGISTER -> REGACK with topic id 1 and the same msg id
      return m.length >= 6 ? Buffer.from([7, 0x0b, 0, 1, m[4]!, m[5]!, 0]) : undefined;
    case 0x16: // PINGREQ -> PINGRESP
      return Buffer.from([2, 0x17]);
    default:
      return undefined;
  }
}

let bound = 0;
for (const port of o.udp) {
  const s = createSocket('udp4');
  s.on('message', (m: Buffer, from: RemoteInfo) => {
    if (m[1] === 0xfe && m[0]! >= 3) {
      // forwarder encapsulation: answer inside the same header
      const header = m.subarray(0, m[0]);
      const inner = answer(m.subarray(m[0]));
      if (inner !== undefined) s.send(Buffer.concat([header, inner]), from.port, from.address);
      return;
    }
    const a = answer(m);
    if (a !== undefined) s.send(a, from.port, from.address);
  });
  s.bind(port, '127.0.0.1', () => {
    if (++bound === o.udp.length) process.stdout.write('ready\n');
  });
}
createServer((socket) => socket.on('error', () => socket.destroy())).listen(o.tcp, '127.0.0.1');
// The parent closes stdin to stop us.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
