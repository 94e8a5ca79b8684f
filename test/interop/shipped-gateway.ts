/**
 * The gateway as shipped (gateway.config.json: its transports, its limits) on free loopback
 * ports, for replays of other people's clients. What reaches the broker core and what the
 * gateway logged are kept for assertions. Frames are written byte for byte, not with our codec.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { hex } from './harness.js';
import { Queue } from '../transport/helpers.js';

export { Queue };
export { hex, startShipped, type ShippedGateway, type ShippedJson } from './harness.js';
export { until } from '../helpers/wait.js';

export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** One MQTT-SN message: the Length (1 byte, or 0x01 and 2 bytes beyond 255, MQTT-SN.md §1.1), then the parts. */
export function message(...parts: Array<Buffer | string>): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? hex(p) : p)));
  if (body.length + 1 <= 255) return Buffer.concat([Buffer.from([body.length + 1]), body]);
  const head = Buffer.from([0x01, 0, 0]);
  head.writeUInt16BE(body.length + 3, 1);
  return Buffer.concat([head, body]);
}

/** A UDP socket on the loopback that sends bytes to the gateway and queues what comes back. */
export async function udpClient(gatewayPort: number): Promise<{ send(bytes: Buffer): void; received: Queue<Buffer>; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const received = new Queue<Buffer>();
  socket.on('message', (m) => received.push(m));
  return {
    send: (bytes) => socket.send(bytes, gatewayPort, '127.0.0.1'),
    received,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
