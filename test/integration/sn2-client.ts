/**
 * A bare MQTT-SN 2.0 client on its own UDP socket, for the end-to-end tests: it sends packets of
 * the project's 2.0 codec (or raw bytes) and keeps what the gateway sent, decoded as 2.0. A frame
 * that does not decode as 2.0 is kept apart in `notV2`, which a test asserts stays empty.
 */
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import * as v2 from '../../src/codec/v2/index.js';
import { scaled } from '../helpers/time-scale.js';
import { until } from '../helpers/wait.js';

export class Sn2Client {
  readonly got: v2.Packet[] = [];
  readonly notV2: string[] = [];
  /** every frame from the gateway, as it came (hex) */
  readonly frames: string[] = [];

  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (m) => {
      this.frames.push(m.toString('hex'));
      const p = v2.decode(m);
      if (p instanceof v2.DecodeError) this.notV2.push(m.toString('hex'));
      else this.got.push(p);
    });
  }

  static async open(port: number): Promise<Sn2Client> {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return new Sn2Client(s, port);
  }

  sendRaw(hex: string): void {
    this.socket.send(Buffer.from(hex, 'hex'), this.port, '127.0.0.1');
  }

  send(p: v2.Packet): void {
    this.socket.send(v2.encode(p), this.port, '127.0.0.1');
  }

  /** The first packet of this type received and not yet taken (others stay), or a timeout error. */
  async next<T extends v2.PacketName>(type: T, timeoutMs = scaled(5000)): Promise<v2.PacketOf<T>> {
    let found: v2.Packet | undefined;
    await until(() => (found = this.got.find((p) => p.type === type)) !== undefined, timeoutMs, `a 2.0 ${type}`);
    this.got.splice(this.got.indexOf(found!), 1);
    return found as v2.PacketOf<T>;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
