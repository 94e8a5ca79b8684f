/**
 * The one description of `gateway.config.json`: TypeScript types (`z.output`), defaults, the
 * checks behind every error message, and (through `.describe()`) the JSON Schema editors use.
 * Each top-level key has its module (transports.ts, broker.ts, upstream.ts, ...); this one puts
 * them together.
 *
 * Every object is strict: a misspelt key is an error with a suggestion, never silently ignored.
 * Nested sections use `.prefault({})` rather than `.default(...)` so that an absent section is
 * parsed from `{}` and picks up each field's own default; defaults are written once, on the field.
 */
import { z } from 'zod';
import { authSchema } from './auth.js';
import { brokerSchema } from './broker.js';
import { httpConfigSchema } from './http.js';
import { limitsSchema } from './limits.js';
import { logSchema } from './log.js';
import { shutdownConfigSchema } from './operate.js';
import { predefinedTopicsSchema } from './predefined-topics.js';
import { qosMinusOneSchema } from './qos-minus-one.js';
import { storeSchema } from './store.js';
import { timersSchema } from './timers.js';
import { transportsSchema } from './transports.js';
import { completeUpstream, upstreamSchema } from './upstream.js';

export { LOG_LEVELS, type LogLevel } from './log.js';
export { DEFAULT_MAX_FRAME_SIZE, DEFAULT_PARTIAL_FRAME_TIMEOUT_MS, SERIAL_FRAMINGS, type SerialFraming } from './transports.js';

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
    transports: transportsSchema,
    predefinedTopics: predefinedTopicsSchema,
    qosMinusOne: qosMinusOneSchema,
    broker: brokerSchema,
    limits: limitsSchema,
    timers: timersSchema,
    log: logSchema,
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
