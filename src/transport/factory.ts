/**
 * Transports from the `transports` entries of gateway.config.json. These are the TypeScript
 * shapes only; validation and messages belong to `config/`. Several entries may run at once.
 *
 * ```json
 * { "type": "udp", "host": "0.0.0.0", "port": 1884 }
 * { "type": "udp", "host": "::", "port": 1884 }
 * { "type": "serial", "path": "/dev/serial/by-id/usb-...", "baudRate": 115200, "framing": "slip" }
 * { "type": "serial", "path": "/dev/ttyUSB1", "baudRate": 9600, "framing": "xbee-api2" }
 * { "type": "serial", "path": "/dev/ttyACM0", "baudRate": 9600, "framing": "raw" }
 * ```
 */
import { ForwarderTransport } from './forwarder.js';
import type { Logger } from './log.js';
import { MemoryTransport } from './memory.js';
import type { SerialLinkOptions } from './serial-link.js';
import { RawSerialTransport, SlipSerialTransport } from './serial.js';
import type { Transport } from './types.js';
import { UdpTransport, type UdpAdvertiseOptions } from './udp.js';
import { XBeeTransport } from './xbee.js';

interface CommonConfig {
  /**
   * Unwrap forwarder encapsulation (0xFE) on this medium and wrap replies to forwarded nodes
   * (MQTT-SN.md §2.7). Default true on UDP (false refuses such datagrams), false elsewhere.
   */
  forwarder?: boolean;
}

export interface UdpTransportConfig extends CommonConfig {
  type: 'udp';
  /** address to bind; the IP family follows it (a host name is resolved at open) */
  host: string;
  port: number;
  /** default true for IPv6 hosts; see `UdpOptions.ipv6Only` */
  ipv6Only?: boolean;
  /** largest datagram sent; default 65507 (IPv4) / 65527 (IPv6). Any datagram received is taken. */
  maxFrameSize?: number;
  /** where ADVERTISE and GWINFO go; without it the gateway cannot broadcast on this transport */
  advertise?: UdpAdvertiseOptions;
  /** trusted front ends whose node ids carry the device's address; see `UdpOptions.frontEnds` */
  frontEnds?: readonly string[];
}

export interface SerialTransportConfig extends CommonConfig, SerialLinkOptions {
  type: 'serial';
  framing: 'slip' | 'raw' | 'xbee-api1' | 'xbee-api2';
  /** SLIP and raw: default 1024; XBee: the module's NP, default 84 */
  maxFrameSize?: number;
  /** default 500 ms (raw: 100 ms); see `SerialCommonOptions.partialFrameTimeoutMs` */
  partialFrameTimeoutMs?: number;
  /** SLIP only: END before each frame too; default true */
  leadingEnd?: boolean;
  /** SLIP only: drop frames whose MQTT-SN Length disagrees with their size; default true */
  checkLength?: boolean;
  /** XBee only: default 5000 ms */
  txStatusTimeoutMs?: number;
  /** XBee only: 0x10 transmit options; default 0 */
  transmitOptions?: number;
  /** XBee only: default 0 (= NH) */
  broadcastRadius?: number;
}

export interface MemoryTransportConfig extends CommonConfig {
  type: 'memory';
  /** the hub's id; default `gateway` */
  id?: string;
  /** default 65535 */
  maxFrameSize?: number;
}

export type TransportConfig = UdpTransportConfig | SerialTransportConfig | MemoryTransportConfig;

export interface TransportDeps {
  /** pino-compatible; default: no logging */
  logger?: Logger;
}

/**
 * A transport for one config entry, closed (call `open()`). UDP unwraps forwarder encapsulation
 * by itself (unless `forwarder: false`); other media with `forwarder: true` come wrapped in a
 * {@link ForwarderTransport}. A `memory` entry gives a fresh {@link MemoryTransport}
 * (reach it with `instanceof`, or the `inner` of the wrapper, to `connect()` clients).
 */
export function createTransport(config: TransportConfig, deps: TransportDeps = {}): Transport {
  const { logger } = deps;
  let transport: Transport;
  switch (config.type) {
    case 'udp':
      transport = new UdpTransport({ ...config, logger });
      break;
    case 'memory':
      transport = new MemoryTransport({ ...config, logger });
      break;
    case 'serial':
      switch (config.framing) {
        case 'slip':
          transport = new SlipSerialTransport({ ...config, logger });
          break;
        case 'raw':
          transport = new RawSerialTransport({ ...config, logger });
          break;
        case 'xbee-api1':
        case 'xbee-api2':
          transport = new XBeeTransport({ ...config, apiMode: config.framing === 'xbee-api1' ? 1 : 2, logger });
          break;
      }
      break;
  }
  return config.forwarder === true && config.type !== 'udp' ? new ForwarderTransport(transport, { logger }) : transport;
}
