/**
 * The one description of `gateway.config.json`: TypeScript types (`z.output`), defaults, the
 * checks behind every error message, and (through `.describe()`) the JSON Schema editors use.
 *
 * Every object is strict: a misspelt key is an error with a suggestion, never silently ignored.
 * Nested sections use `.prefault({})` rather than `.default(...)` so that an absent section is
 * parsed from `{}` and picks up each field's own default; defaults are written once, on the field.
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import { ConfigIssueCode } from './errors.js';
import { always, backoffSchema, isRecord, MAX_TIMER_MS, maxPacketBytes, report, type IssueSink } from './fields.js';
import { formatPath } from './path.js';
import { completeUpstream, upstreamSchema } from './upstream.js';
import { httpConfigSchema } from './http.js';
import { shutdownConfigSchema } from './operate.js';
import { storeSchema } from './store.js';
import { authSchema, rateLimitsSchema } from './auth.js';
import { listenerAuthSchema } from './listener-auth.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
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


const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** An IP literal (IPv6 with an optional `%zone`) or an RFC 1123 host name. */
function isHost(value: string): boolean {
  if (isIP(stripZone(value)) !== 0) return true;
  return value.length <= 253 && value.split('.').every((label) => LABEL.test(label));
}

function stripZone(address: string): string {
  const i = address.indexOf('%');
  return i === -1 ? address : address.slice(0, i);
}

/** 4, 6, or 0 for a host name (whose family is unknown until it is resolved). */
function family(host: string): 0 | 4 | 6 {
  const f = isIP(stripZone(host));
  return f === 4 || f === 6 ? f : 0;
}

const host = (description: string, fallback: string) =>
  z
    .string()
    .refine(isHost, {
      params: { code: ConfigIssueCode.INVALID_HOST },
      error: (iss) => `${JSON.stringify(iss.input)} is not an IP address or host name`,
    })
    .default(fallback)
    .describe(description);

const listenPort = (fallback: number, description: string) =>
  z.int().min(0).max(65_535).default(fallback).describe(`${description} 0 picks a free port (tests).`);

// ── transports ──────────────────────────────────────────────────────────────────────────────

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
    host: host('Address to bind: an IP address (0.0.0.0 or :: for every interface) or a host name.', '0.0.0.0'),
    port: listenPort(1884, 'UDP port to bind.'),
    forwarder: z
      .boolean()
      .default(true)
      .describe(
        'Accept frames that MQTT-SN forwarders wrap (0xFE, MQTT-SN 1.2 §5.5), e.g. mqtt-sn-tools --fe: each node behind a forwarder ' +
          'is a client of its own and is answered wrapped. Plain frames are always accepted. false refuses wrapped ones (dropped, counted, logged at info).',
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

/** Two UDP binds collide when they are equal or one of them is a wildcard that covers the other. */
function bindsOverlap(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  // The UDP transport binds :: IPv6-only, so `0.0.0.0` and `::` on one port can run side by side.
  if (x === '::') return family(y) === 6;
  if (y === '::') return family(x) === 6;
  if (x === '0.0.0.0') return family(y) === 4;
  if (y === '0.0.0.0') return family(x) === 4;
  return false;
}

const transports = z
  .array(transport)
  .min(1)
  .superRefine((list: unknown, ctx) => {
    if (!Array.isArray(list)) return;
    const udp: Array<{ index: number; host: string; port: number }> = [];
    const serial = new Map<string, number>();
    (list as readonly unknown[]).forEach((t, index) => {
      if (!isRecord(t)) return;
      if (t.type === 'udp' && typeof t.host === 'string' && typeof t.port === 'number' && t.port !== 0) {
        const { host: h, port: p } = t as { host: string; port: number };
        const clash = udp.find((o) => o.port === p && bindsOverlap(o.host, h));
        if (clash === undefined) udp.push({ index, host: h, port: p });
        else {
          const other = formatPath(['transports', clash.index]);
          report(
            ctx,
            [index],
            ConfigIssueCode.DUPLICATE_ADDRESS,
            `udp ${formatAddress(h, p)} collides with ${other} (udp ${formatAddress(clash.host, clash.port)}); ` +
              'expected each UDP transport on its own address and port',
            { host: h, port: p },
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

function formatAddress(h: string, p: number): string {
  return family(h) === 6 ? `[${h}]:${p}` : `${h}:${p}`;
}

// ── predefined topics ───────────────────────────────────────────────────────────────────────

/** Predefined ids take the whole TopicId range except the reserved 0x0000 and 0xFFFF (MQTT-SN.md §1.5 TopicId, §4.5). */
export const PREDEFINED_ID_MIN = 1;
export const PREDEFINED_ID_MAX = 0xfffe;
// The same rule as a pattern, so an editor flags a bad id before the gateway does.
const PREDEFINED_ID_PATTERN = '^(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-4])$';
// Wildcards are for SUBSCRIBE only (MQTT-SN.md §1.5, TopicName); U+0000 is forbidden in MQTT topic names.
const TOPIC_NAME_PATTERN = '^[^+#\\u0000]+$';

const predefinedTopics = z
  .record(
    z.string().meta({ pattern: PREDEFINED_ID_PATTERN }),
    z.string().meta({ pattern: TOPIC_NAME_PATTERN }).describe('A topic name without wildcards.'),
  )
  .superRefine((table: unknown, ctx) => {
    if (!isRecord(table)) return;
    const byName = new Map<string, string>();
    for (const [id, name] of Object.entries(table)) {
      checkPredefinedId(id, ctx);
      if (typeof name !== 'string') continue; // the value schema already reported it
      if (name === '') {
        report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_NAME, 'got an empty topic name; expected a topic name without wildcards', name);
        continue;
      }
      if (/[+#]/.test(name)) {
        report(
          ctx,
          [id],
          ConfigIssueCode.INVALID_TOPIC_NAME,
          `${JSON.stringify(name)} contains a wildcard (+ or #), which only subscriptions may use; expected a topic name without wildcards`,
          name,
        );
      } else if (name.includes('\u0000')) {
        report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_NAME, `${JSON.stringify(name)} contains U+0000, which MQTT forbids in topic names`, name);
      }
      const earlier = byName.get(name);
      if (earlier === undefined) byName.set(name, id);
      else {
        report(
          ctx,
          [id],
          ConfigIssueCode.DUPLICATE_TOPIC_NAME,
          `${JSON.stringify(name)} is already predefined as id ${earlier}; expected each topic name under one id`,
          name,
        );
      }
    }
  }, always)
  .default({})
  .describe(
    'Topic ids known to the clients without REGISTER (TopicIdType 0b01). Keys: decimal ids 1..65534; ' +
      'values: topic names without wildcards. Each id and each name once.',
  );

function checkPredefinedId(id: string, ctx: IssueSink): void {
  if (!/^[0-9]+$/.test(id)) {
    report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_ID, `${JSON.stringify(id)} is not a topic id; expected a decimal number from 1 to 65534`, id);
  } else if (id.length > 1 && id.startsWith('0')) {
    // "01" next to "1" would be two keys for one id.
    report(ctx, [id], ConfigIssueCode.INVALID_TOPIC_ID, `${JSON.stringify(id)} has a leading zero; expected ${JSON.stringify(String(Number(id)))}`, id);
  } else {
    const n = Number(id);
    if (n < PREDEFINED_ID_MIN || n > PREDEFINED_ID_MAX) {
      report(
        ctx,
        [id],
        ConfigIssueCode.TOPIC_ID_OUT_OF_RANGE,
        `${id} is out of range; expected a topic id from ${PREDEFINED_ID_MIN} to ${PREDEFINED_ID_MAX} (0 and 65535 are reserved)`,
        id,
      );
    }
  }
}

// ── the rest ────────────────────────────────────────────────────────────────────────────────

const qosMinusOne = z
  .strictObject({
    inlineTopicNames: z
      .boolean()
      .default(false)
      .describe("Accept Paho's non-standard QoS -1 PUBLISH that carries a full topic name (TopicIdType 0b00) instead of a predefined id or short name."),
  })
  .prefault({})
  .describe('Publishing without a connection (QoS -1, MQTT-SN 1.2 §6.8).');

const listener = z.strictObject({
  host: host('Address the MQTT listener binds.', '127.0.0.1'),
  port: listenPort(1883, 'TCP port of the MQTT listener.'),
});

const broker = z
  .strictObject({
    listen: z
      .array(listener)
      .superRefine((list: unknown, ctx) => {
        if (!Array.isArray(list)) return;
        const seen: Array<{ index: number; host: string; port: number }> = [];
        (list as readonly unknown[]).forEach((l, index) => {
          if (!isRecord(l) || typeof l.host !== 'string' || typeof l.port !== 'number' || l.port === 0) return;
          const { host: h, port: p } = l as { host: string; port: number };
          const clash = seen.find((o) => o.port === p && bindsOverlap(o.host, h));
          if (clash === undefined) seen.push({ index, host: h, port: p });
          else {
            report(
              ctx,
              [index],
              ConfigIssueCode.DUPLICATE_ADDRESS,
              `${formatAddress(h, p)} collides with broker.listen[${clash.index}] (${formatAddress(clash.host, clash.port)}); expected each listener on its own address and port`,
              { host: h, port: p },
            );
          }
        });
      }, always)
      .default([{ host: '127.0.0.1', port: 1883 }])
      .describe('Local MQTT 3.1.1 listeners on the broker core, for local applications. [] opens none.'),
    auth: listenerAuthSchema.optional(),
    maxConnections: z
      .int()
      .min(1)
      .default(1000)
      .describe('TCP connections to the listeners at once, CONNECTed or not; one beyond it is closed as soon as it is accepted.'),
    maxPacketBytes: maxPacketBytes('Largest MQTT packet a listener client may send; a larger one closes its connection.'),
    connectTimeoutMs: z
      .int()
      .min(1)
      .max(MAX_TIMER_MS)
      .default(10_000)
      .describe('A listener connection that has not sent its CONNECT within this is closed.'),
  })
  .prefault({})
  .describe('The local broker core.');

const limits = z
  .strictObject({
    maxSessions: z.int().min(1).default(100_000).describe('Sessions of all states together; a CONNECT beyond it gets CONNACK 0x01 (congestion).'),
    maxPendingConnects: z
      .int()
      .min(1)
      .default(1000)
      .describe(
        'Half-open sessions: CONNECTs with a will whose will exchange is not finished (each lasts at most timers.connectTimeoutMs). ' +
          'A CONNECT with a will beyond it gets CONNACK 0x01 (congestion), so a CONNECT flood cannot park thousands of them.',
      ),
    maxRegistrationsPerClient: z
      .int()
      .min(1)
      .max(PREDEFINED_ID_MAX)
      .default(1000)
      .describe('Normal topic ids per client (at most 65534: 0x0000 and 0xFFFF are reserved).'),
    maxSubscriptionsPerClient: z.int().min(1).default(100).describe('Subscriptions per client; a SUBSCRIBE beyond it gets SUBACK 0x01.'),
    sleepBufferMessages: z
      .int()
      .min(0)
      .default(100)
      .describe('Messages kept per sleeping client; the oldest is dropped when full. 0 keeps none.'),
    maxInflightQueue: z
      .int()
      .min(0)
      .default(1000)
      .describe('Outbound messages queued per awake client behind the one in flight; the oldest is dropped when full.'),
    maxBufferedBytesTotal: z
      .int()
      .min(0)
      .default(64 * 1024 * 1024)
      .describe(
        'Payload and topic bytes waiting in the queues of all clients together. When reached, a new message for a sleeping or absent client ' +
          'is dropped (counted as dropped.bufferedBytesFull) and nothing already buffered is touched; sleepBufferMessages still caps each client.',
      ),
    rate: rateLimitsSchema,
  })
  .prefault({})
  .describe('Resource limits that keep one client, or many, from exhausting the gateway.');

const timers = z
  .strictObject({
    retryMs: z.int().min(1).max(MAX_TIMER_MS).default(10_000).describe('T_RETRY: wait for an acknowledgement before resending (MQTT-SN 1.2 §6.13).'),
    maxRetries: z.int().min(0).max(100).default(3).describe('N_RETRY: resends before giving up. An unanswered PUBLISH or PUBREL loses the client; an unanswered REGISTER drops that message and the topic for that client.'),
    keepAliveFactor: z
      .number()
      .min(1)
      .max(10)
      .default(1.5)
      .describe('A client silent for this many keep-alive (or sleep) periods is lost.'),
    advertiseIntervalSec: z
      .int()
      .min(0)
      .max(65_535)
      .default(900)
      // ADVERTISE carries T_ADV in its 16-bit Duration field (MQTT-SN.md §1.5, §4.2).
      .describe('T_ADV, seconds between ADVERTISE broadcasts (a 16-bit Duration on the wire). 0 sends no ADVERTISE.'),
    connectTimeoutMs: z.int().min(1).max(MAX_TIMER_MS).default(30_000).describe('A CONNECT whose will exchange is not finished within this is abandoned.'),
  })
  .prefault({})
  .describe('Protocol timers.');

const log = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').describe('Least severe level written.'),
  })
  .prefault({})
  .describe('Logging.');

/**
 * The top level. Extension points: later features add their section here, next to the others
 * (`upstream`: the MQTT 3.1.1 bridge; `store`: memory | SQLite; `http`: health, metrics, sessions
 * API; `auth`: client credentials). Until a section is added here its key is an unknown-key error,
 * which is what we want: a config written for a newer gateway must not be half-applied.
 */
export const gatewayConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors. Ignored by the gateway.'),
    gatewayId: z.int().min(0).max(255).default(1).describe('GwId sent in ADVERTISE and GWINFO.'),
    transports,
    predefinedTopics,
    qosMinusOne,
    broker,
    limits,
    timers,
    log,
    upstream: upstreamSchema,
    store: storeSchema,
    http: httpConfigSchema,
    shutdown: shutdownConfigSchema,
    auth: authSchema,
  })
  // Defaults of one section that depend on another (the upstream client id names the gatewayId).
  .transform((c) => ({ ...c, upstream: c.upstream === null ? null : completeUpstream(c.upstream, c.gatewayId) }))
  .describe('Configuration of the MQTT-SN gateway (gateway.config.json).');

/** What the file may contain: every field with a default is optional. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/** The parsed configuration, every default filled in; `$schema` is dropped. */
export type GatewayConfig = Omit<z.output<typeof gatewayConfigSchema>, '$schema'>;
export type TransportConfig = GatewayConfig['transports'][number];
export type UdpTransportConfig = Extract<TransportConfig, { type: 'udp' }>;
export type SerialTransportConfig = Extract<TransportConfig, { type: 'serial' }>;
export type BrokerConfig = GatewayConfig['broker'];
export type LimitsConfig = GatewayConfig['limits'];
export type TimersConfig = GatewayConfig['timers'];
export type LogLevel = (typeof LOG_LEVELS)[number];
