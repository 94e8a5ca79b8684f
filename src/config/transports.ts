/**
 * The `transports` section: the media the gateway listens on (UDP sockets, serial ports), their
 * frame limits and broadcast targets. Hosts, ports and bind collisions follow the shared rules
 * of net.ts.
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import { ConfigIssueCode } from './errors.js';
import { always, backoffSchema, isRecord, report } from './fields.js';
import { bindOf, claimBind, family, formatAddress, hostField, listenPort, reportClash, stripZone, type Bind } from './net.js';
import { formatPath } from './path.js';
import { parseSourcePattern } from '../transport/front-end-address.js';

export const SERIAL_FRAMINGS = ['slip', 'raw', 'xbee-api1', 'xbee-api2'] as const;
export type SerialFraming = (typeof SERIAL_FRAMINGS)[number];

/** Where a transport with no `maxFrameSize` draws the line, per medium. */
export const DEFAULT_MAX_FRAME_SIZE = {
  // Fits one Ethernet/Wi-Fi MTU with IPv6 and UDP headers, so no datagram is fragmented
  // (MQTT-SN.md §1.1: "a UDP datagram should fit one MTU").
  udp: 1400,
  // SLIP has no limit of its own; this only bounds what line noise can make the gateway buffer.
  slip: 1024,
  // Bare frames: the same bound, and a frame declaring more is thrown away whole.
  raw: 1024,
  // ATNP of a typical Zigbee XBee without encryption. Modules differ (FRAMING.md §2.7): set it to ATNP.
  xbee: 84,
} as const;

// The largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP).
const MAX_UDP_PAYLOAD = 65_507;
// No real medium carries less; a smaller value is a typo, not a setting.
const MIN_FRAME_SIZE = 16;

/**
 * How long a serial line may be quiet mid-frame before the partial frame is dropped. Raw framing
 * has no delimiter, so its gap is short: it is how the line gets back in step after noise (a
 * frame's bytes come ~1 ms apart at 9600 baud, USB adapters batch them within ~16 ms).
 */
export const DEFAULT_PARTIAL_FRAME_TIMEOUT_MS = { raw: 100, other: 500 } as const;

const advertiseTarget = z
  .strictObject({
    address: z
      .string()
      .refine((a) => isIP(stripZone(a)) !== 0, {
        params: { code: ConfigIssueCode.INVALID_HOST },
        error: (iss) => `${JSON.stringify(iss.input)} is not an IP address`,
      })
      .describe(
        'Destination of ADVERTISE and GWINFO broadcasts: an IPv4 broadcast address such as 255.255.255.255, ' +
          'or an IPv6 multicast group such as ff02::1 (append %interface for link-local scope).',
      ),
    port: z.int().min(1).max(65_535).default(1884).describe('UDP port the clients listen on for broadcasts.'),
  })
  .describe('Broadcast target for ADVERTISE and GWINFO. Without it this transport sends no broadcasts.');

const udpTransport = z
  .strictObject({
    type: z.literal('udp').describe('MQTT-SN over UDP datagrams, one message per datagram.'),
    host: hostField('Address to bind: an IP address (0.0.0.0 or :: for every interface) or a host name.', '0.0.0.0'),
    port: listenPort(1884, 'UDP port to bind.'),
    forwarder: z
      .boolean()
      .default(true)
      .describe(
        'Accept frames that MQTT-SN forwarders wrap (0xFE, MQTT-SN 1.2 §5.5), e.g. mqtt-sn-tools --fe: each node behind a forwarder ' +
          'is a client of its own and is answered wrapped. Plain frames are always accepted. false refuses wrapped ones (dropped, counted, logged at info).',
      ),
    frontEnds: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const why = parseSourcePattern(entry);
          if (typeof why === 'string') report(ctx, [], ConfigIssueCode.INVALID_HOST, why, entry);
        }),
      )
      .max(64)
      .default([])
      .describe(
        'Trusted UDP front ends (mqttsn-gateway front-end) that spread devices over several gateways: an IP address, a CIDR block ' +
          '(10.0.0.0/24) or address:port (127.0.0.1:1884, [::1]:1884). The forwarder node id of a frame one of them wraps carries the ' +
          "device's IP address and port, which allow-lists, per-address limits, logs and /api/sessions then use. Anyone else's node ids " +
          'stay opaque. Name only hosts you control: a listed sender can claim any device address.',
      ),
    advertise: advertiseTarget.optional(),
    maxFrameSize: z
      .int()
      .min(MIN_FRAME_SIZE)
      .max(MAX_UDP_PAYLOAD)
      .default(DEFAULT_MAX_FRAME_SIZE.udp)
      .describe(
        'Largest MQTT-SN message, in bytes, the gateway sends on this transport: a message to a client that would not fit is skipped ' +
          '(counted and logged), never truncated. Datagrams received are taken up to the UDP maximum: they arrived whole.',
      ),
    receiveBufferBytes: z
      .int()
      .min(4096)
      .max(256 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe('Socket receive buffer asked of the kernel (SO_RCVBUF), which caps it at net.core.rmem_max. Bursts from many sensors wait here.'),
    sendBufferBytes: z
      .int()
      .min(4096)
      .max(256 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Socket send buffer asked of the kernel (SO_SNDBUF).'),
  })
  .superRefine((t: unknown, ctx) => {
    if (isRecord(t) && t.forwarder === false && Array.isArray(t.frontEnds) && t.frontEnds.length > 0) {
      report(
        ctx,
        ['frontEnds'],
        ConfigIssueCode.INCONSISTENT,
        'front ends wrap every frame in forwarder encapsulation, which "forwarder": false refuses; remove "forwarder": false or the front ends',
        t.frontEnds,
      );
    }
    // A socket sends with its own family: a v4 socket cannot reach ff02::1, nor a v6 one 255.255.255.255.
    if (!isRecord(t) || typeof t.host !== 'string' || !isRecord(t.advertise) || typeof t.advertise.address !== 'string') return;
    const bound = family(t.host);
    const target = family(t.advertise.address);
    if (bound !== 0 && target !== 0 && bound !== target) {
      report(
        ctx,
        ['advertise', 'address'],
        ConfigIssueCode.ADDRESS_FAMILY,
        `${t.advertise.address} is an IPv${target} address but the transport binds the IPv${bound} address ${t.host}; ` +
          `use an IPv${bound} broadcast target or bind an IPv${target} address`,
        t.advertise.address,
      );
    }
  }, always)
  .describe('A UDP socket.');

const reconnect = backoffSchema({
  initialMs: 500,
  maxMs: 30_000,
  initialText: 'Delay before the first attempt to reopen a lost or absent device.',
  maxText: 'The delay doubles after each failed attempt up to this.',
  description: 'Backoff for reopening the serial device (USB unplugged, not yet present).',
});

const serialTransport = z
  .strictObject({
    type: z.literal('serial').describe('MQTT-SN over a serial line: a radio or MCU on a UART or USB adapter.'),
    path: z.string().min(1).describe('Serial device, e.g. /dev/ttyUSB0, /dev/serial/by-id/..., COM3.'),
    baudRate: z.int().min(50).max(12_000_000).default(115_200).describe('Line speed in baud.'),
    framing: z
      .enum(SERIAL_FRAMINGS)
      .default('slip')
      .describe(
        'slip: RFC 1055 frames. raw: bare MQTT-SN frames delimited by their own Length (mqtt-sn-tools\' serial bridge, firmware that writes ' +
          'frames without SLIP). xbee-api1 / xbee-api2: Digi XBee API frames, AP=1 (unescaped) or AP=2 (escaped).',
      ),
    forwarder: z
      .boolean()
      .default(false)
      .describe(
        'Frames arrive in MQTT-SN forwarder encapsulation (MQTT-SN 1.2 §5.5, MQTT-SN.md §2.7), e.g. several nodes behind one SLIP line. ' +
          'Without it a wrapped frame is refused (counted, logged at info).',
      ),
    maxFrameSize: z
      .int()
      .min(MIN_FRAME_SIZE)
      .max(65_535)
      .optional()
      .describe(
        `Largest MQTT-SN message, in bytes. Default: ${DEFAULT_MAX_FRAME_SIZE.slip} with slip and raw, ` +
          `${DEFAULT_MAX_FRAME_SIZE.xbee} with XBee (set it to the module's ATNP).`,
      ),
    partialFrameTimeoutMs: z
      .int()
      .min(1)
      .max(60_000)
      .optional()
      .describe(
        `Idle gap, in ms: a frame still unfinished after the line was quiet this long is dropped, so noise or a device reset mid-frame ` +
          `cannot swallow the next frame. Default: ${DEFAULT_PARTIAL_FRAME_TIMEOUT_MS.raw} with raw (how it gets back in step), ` +
          `${DEFAULT_PARTIAL_FRAME_TIMEOUT_MS.other} otherwise. Suits 9600 to 115200 baud; raise it for a device that pauses mid-frame.`,
      ),
    reconnect,
  })
  // The right defaults depend on the framing, which a field default cannot see.
  .transform((t) => ({
    ...t,
    maxFrameSize: t.maxFrameSize ?? (t.framing === 'slip' || t.framing === 'raw' ? DEFAULT_MAX_FRAME_SIZE[t.framing] : DEFAULT_MAX_FRAME_SIZE.xbee),
    partialFrameTimeoutMs: t.partialFrameTimeoutMs ?? (t.framing === 'raw' ? DEFAULT_PARTIAL_FRAME_TIMEOUT_MS.raw : DEFAULT_PARTIAL_FRAME_TIMEOUT_MS.other),
  }))
  .describe('A serial port.');

const transport = z.discriminatedUnion('type', [udpTransport, serialTransport]);

export const transportsSchema = z
  .array(transport)
  .min(1)
  .superRefine((list: unknown, ctx) => {
    if (!Array.isArray(list)) return;
    const udp: Bind[] = [];
    const serial = new Map<string, number>();
    (list as readonly unknown[]).forEach((t, index) => {
      if (!isRecord(t)) return;
      const bind = t.type === 'udp' ? bindOf(t, index) : undefined;
      if (bind !== undefined) {
        const clash = claimBind(udp, bind);
        if (clash !== undefined) {
          const other = formatPath(['transports', clash.index]);
          reportClash(
            ctx,
            bind,
            `udp ${formatAddress(bind.host, bind.port)} collides with ${other} (udp ${formatAddress(clash.host, clash.port)}); ` +
              'expected each UDP transport on its own address and port',
          );
        }
      } else if (t.type === 'serial' && typeof t.path === 'string' && t.path !== '') {
        const key = posix.normalize(t.path);
        const first = serial.get(key);
        if (first === undefined) serial.set(key, index);
        else {
          report(
            ctx,
            [index, 'path'],
            ConfigIssueCode.DUPLICATE_ADDRESS,
            `${JSON.stringify(t.path)} is already opened by ${formatPath(['transports', first])}; expected each serial device once`,
            t.path,
          );
        }
      }
    });
  }, always)
  .describe('The media the gateway listens on: at least one. Each UDP address and port, and each serial device, once.');
