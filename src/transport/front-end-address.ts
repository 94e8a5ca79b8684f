/**
 * How a trusted UDP front end (src/frontend/) names the device it forwards for: the 1.2 forwarder
 * encapsulation's Wireless Node Id (MQTT-SN 1.2 §5.5) carries the device's IP address and source
 * port, so an instance behind the front end knows the device's real address (allow-lists, admission
 * per address, logs), and the front end can answer the device from the node id alone, keeping no
 * state per device.
 *
 * ```
 * IPv4: | address (4 bytes) | port (2 bytes, big-endian) |   6 bytes
 * IPv6: | address (16 bytes) | port (2 bytes, big-endian) |  18 bytes
 * ```
 * An IPv4-mapped IPv6 address (a dual-stack socket's `::ffff:a.b.c.d`) is written as IPv4. Only
 * node ids from a configured front end are read this way; anyone else's stay opaque.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';

export interface DeviceAddress {
  address: string;
  port: number;
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The node id for a device at `address`:`port`; a zone (`%eth0`) is not carried. */
export function deviceNodeId(address: string, port: number): Buffer {
  const bare = address.split('%')[0]!;
  const v4 = isIP(bare) === 4 ? bare : MAPPED_V4.exec(bare)?.[1];
  if (v4 !== undefined) {
    const out = Buffer.allocUnsafe(6);
    v4.split('.').forEach((octet, i) => (out[i] = Number(octet)));
    out.writeUInt16BE(port, 4);
    return out;
  }
  if (isIP(bare) !== 6) throw new RangeError(`${JSON.stringify(address)} is not an IP address`);
  const out = Buffer.alloc(18);
  writeV6(bare, out);
  out.writeUInt16BE(port, 16);
  return out;
}

/** The device a node id names, `undefined` when it is not 6 or 18 bytes long. */
export function deviceOfNodeId(id: Buffer): DeviceAddress | undefined {
  if (id.length === 6) return { address: `${id[0]}.${id[1]}.${id[2]}.${id[3]}`, port: id.readUInt16BE(4) };
  if (id.length !== 18) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(id.readUInt16BE(i).toString(16));
  // SocketAddress gives the canonical (compressed) text, the form node:dgram reports senders in.
  return { address: new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address, port: id.readUInt16BE(16) };
}

function writeV6(address: string, out: Buffer): void {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4 was handled above; 64:ff9b::1.2.3.4 is not) becomes two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (quad !== undefined) {
    const b = quad.split('.').map(Number);
    text = text.slice(0, -quad.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head === '' || head === undefined ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
}

/**
 * Which UDP senders are trusted front ends: each entry an IP address (any source port), a CIDR
 * block (`10.0.0.0/24`, `fd00::/64`), or an address and port (`127.0.0.1:1884`, `[::1]:1884`).
 */
export class TrustedSources {
  private readonly blocks = new BlockList();
  private readonly exact = new Set<string>();
  private readonly any: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const p = parseSourcePattern(entry);
      if (typeof p === 'string') throw new RangeError(`front end ${JSON.stringify(entry)}: ${p}`);
      if (p.port === undefined) this.blocks.addSubnet(p.address, p.prefix, p.family);
      else this.exact.add(`${p.address}|${p.port}`);
    }
    this.any = entries.length > 0;
  }

  /** true when no front end is configured */
  get empty(): boolean {
    return !this.any;
  }

  trusts(address: string, port: number): boolean {
    if (!this.any) return false;
    const f = isIP(address);
    if (f === 0) return false;
    if (this.exact.has(`${address}|${port}`)) return true;
    return this.blocks.check(address, f === 4 ? 'ipv4' : 'ipv6');
  }
}

interface SourcePattern {
  address: string;
  family: 'ipv4' | 'ipv6';
  prefix: number;
  port?: number;
}

/** An entry of a front-end list, or why it is not one (for the config's message). */
export function parseSourcePattern(entry: string): SourcePattern | string {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry);
  const v4Port = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(entry);
  const withPort = bracketed ?? v4Port;
  if (withPort !== null) {
    const address = withPort[1]!;
    const port = Number(withPort[2]);
    const f = isIP(address);
    if (f === 0) return `${JSON.stringify(address)} is not an IP address`;
    if (port < 1 || port > 65_535) return `port ${port} is not 1-65535`;
    return { address, family: f === 4 ? 'ipv4' : 'ipv6', prefix: f === 4 ? 32 : 128, port };
  }
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const f = isIP(address);
  if (f === 0) return `${JSON.stringify(address)} is not an IP address (expected 10.0.0.5, 10.0.0.0/24, 10.0.0.5:1884 or [fd00::5]:1884)`;
  const max = f === 4 ? 32 : 128;
  const prefix = slash === -1 ? max : /^\d{1,3}$/.test(entry.slice(slash + 1)) ? Number(entry.slice(slash + 1)) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `prefix length ${JSON.stringify(entry.slice(slash + 1))} is not 0-${max}`;
  return { address, family: f === 4 ? 'ipv4' : 'ipv6', prefix };
}
