/**
 * What a simulated node talks through: one gateway, frames in and out. A link knows addressing
 * and framing, never MQTT-SN; the node knows MQTT-SN, never the medium.
 */
import { isIP } from 'node:net';
import { SimError, SimErrorCode } from './errors.js';

/**
 * The medium as a node sees it. `send` goes to the gateway the link is pointed at. The optional
 * members are for discovery (MQTT-SN.md §4.2): `broadcast` carries SEARCHGW, and `useGateway`
 * points the link at the sender of a GWINFO or ADVERTISE (`from` of `onFrame`).
 */
export interface Link {
  /** for logs and reports, e.g. `udp:127.0.0.1:40123->127.0.0.1:1884` */
  readonly name?: string;
  send(frame: Buffer): void | Promise<void>;
  /** One listener; each frame is a Buffer of its own. `from` is an opaque source address when the medium has one. */
  onFrame(cb: (frame: Buffer, from?: string) => void): void;
  close(): Promise<void>;
  /** Sends to every gateway in reach; `radius` is the MQTT-SN broadcast radius where the medium has hops. */
  broadcast?(frame: Buffer, radius: number): void | Promise<void>;
  /** Points `send` at the sender of a frame received on this link. */
  useGateway?(from: string): void;
}

/**
 * Sends one frame (broadcast when a radius is given and the link can), never throwing: a frame the
 * medium refused is a lost frame, which T_RETRY covers.
 */
export function sendOn(link: Link, frame: Buffer, broadcast?: number): void {
  try {
    const r = broadcast !== undefined && link.broadcast ? link.broadcast(frame, broadcast) : link.send(frame);
    if (r) r.catch(() => {});
  } catch {
    // lost, see above
  }
}

/** A parsed gateway address: `udp://127.0.0.1:1884`, `udp://[::1]:1884`, `udp://localhost:1884`. */
export interface UdpAddress {
  host: string;
  port: number;
  family: 4 | 6 | undefined;
}


/** Parses `udp://host:port`; IPv6 literals in brackets. Throws BAD_ARGUMENT with a message a user can act on. */
export function parseUdpUrl(url: string): UdpAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SimError(SimErrorCode.BAD_ARGUMENT, `"${url}" is not a URL; expected udp://host:port, e.g. udp://127.0.0.1:1884 or udp://[::1]:1884`);
  }
  if (u.protocol !== 'udp:') {
    throw new SimError(SimErrorCode.BAD_ARGUMENT, `"${url}": only udp:// gateway URLs are supported (use --serial for serial lines)`);
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = Number(u.port);
  if (host === '' || u.port === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SimError(SimErrorCode.BAD_ARGUMENT, `"${url}" needs a host and a port 1..65535, e.g. udp://127.0.0.1:1884`);
  }
  const fam = isIP(host);
  return { host, port, family: fam === 4 ? 4 : fam === 6 ? 6 : undefined };
}
