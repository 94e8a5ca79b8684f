/**
 * The `upstream` section: the MQTT 3.1.1 connection to the upstream broker and the topic rules of
 * the bridge. Shape and messages follow the rest of the schema (strict objects, a description on
 * every field, cross-field checks that name the field). TLS files are checked, and made absolute
 * against the config file's folder, after the schema by `checkUpstreamFiles` /
 * `resolveUpstreamFiles`: the schema cannot know where the file was.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { validateTopicFilter, validateTopicName } from '../topics/topic-names.js';
import { envName } from './env.js';
import { ConfigIssueCode, type ConfigIssue } from './errors.js';
import { always, backoffSchema, isRecord, MAX_TIMER_MS, maxPacketBytes, report } from './fields.js';
import { formatPath, type PathSegment } from './path.js';
import { PROFILE_HELP, PROFILE_SETTINGS, profileProblems, UPSTREAM_PROFILES } from './profiles.js';

/** Bridge modes: one upstream connection for the gateway, or one per MQTT-SN client. */
export const UPSTREAM_MODES = ['aggregating', 'transparent'] as const;
export type UpstreamMode = (typeof UPSTREAM_MODES)[number];

export const RULE_DIRECTIONS = ['out', 'in', 'both'] as const;
export type RuleDirection = (typeof RULE_DIRECTIONS)[number];

/**
 * Why `url` cannot name the upstream broker, or undefined. With a profile the hint names only
 * what the profile takes (mqtts://, and credentials where the profile wants them).
 */
function urlProblem(url: string, profile: string | undefined): string | undefined {
  const forms = profile === undefined ? 'mqtt://host[:port] or mqtts://host[:port]' : 'mqtts://host[:port]';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL; expected ${forms}`;
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
    const expected = profile === undefined ? 'mqtt:// (TCP) or mqtts:// (TLS)' : `mqtts:// (the ${profile} profile takes TLS only)`;
    return `the scheme ${JSON.stringify(u.protocol.slice(0, -1))} is not supported; expected ${expected}`;
  }
  if (u.hostname === '') return `${JSON.stringify(url)} has no host; expected ${forms}`;
  if (u.username !== '' || u.password !== '') return `the URL carries credentials; ${CREDENTIALS_HINT[profile ?? 'none'] ?? CREDENTIALS_HINT.none}`;
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    return `${JSON.stringify(url)} has a path, query or fragment; expected only ${forms}`;
  }
  return undefined;
}

/** Where credentials go instead of the URL, per profile (each names only fields that profile takes). */
const CREDENTIALS_HINT: Record<string, string> = {
  none: 'put the user name in "username" and the password in the environment variable named by "passwordEnv"',
  'adafruit-io': 'put your Adafruit IO user name in "username" and the AIO key in the environment variable named by "passwordEnv"',
  'aws-iot': 'remove them: AWS IoT Core authenticates the thing by its certificate (tls.cert and tls.key)',
  'azure-iot-hub': 'remove them: the azure-iot-hub profile makes the user name and the SAS token itself, from the key named by azure.deviceKeyEnv',
};

// ── topic rules ────────────────────────────────────────────────────────────────────────────

const prefix = (side: 'local' | 'remote') =>
  z
    .string()
    .default('')
    .describe(
      side === 'local'
        ? 'Prepended to the pattern on the gateway side: a local topic is localPrefix + (the part the pattern matches). Usually ends with "/".'
        : 'Prepended to the pattern on the upstream side: an upstream topic is remotePrefix + (the part the pattern matches). Usually ends with "/", e.g. "site1/".',
    );

const rule = z
  .strictObject({
    pattern: z
      .string()
      .describe(
        'Topic filter (with MQTT wildcards + and #) of the messages this rule carries, without the prefixes. ' +
          '"" with both prefixes set carries exactly one topic, renamed from localPrefix to remotePrefix.',
      ),
    direction: z
      .enum(RULE_DIRECTIONS)
      .default('out')
      .describe('out: from the gateway (MQTT-SN and local MQTT clients) to the upstream. in: from the upstream to the gateway. both: either way.'),
    qos: z
      .int()
      .min(0)
      .max(2)
      .default(1)
      .describe('Highest QoS of forwarded messages: a message keeps its own QoS up to this. QoS 1 and 2 are queued while the upstream is away; QoS 0 is dropped then.'),
    localPrefix: prefix('local'),
    remotePrefix: prefix('remote'),
  })
  .superRefine((r: unknown, ctx) => {
    if (!isRecord(r) || typeof r.pattern !== 'string') return;
    const pattern = r.pattern;
    for (const key of ['localPrefix', 'remotePrefix'] as const) {
      const p = r[key] ?? '';
      if (typeof p !== 'string') continue;
      const why = p === '' ? undefined : validateTopicName(p);
      if (why !== undefined) {
        report(ctx, [key], ConfigIssueCode.INVALID_TOPIC_NAME, `${JSON.stringify(p)} ${why}; expected the start of a topic name, without wildcards`, p);
        continue;
      }
      const filter = p + pattern;
      const bad = validateTopicFilter(filter);
      if (bad !== undefined) {
        const what = filter === '' ? 'the pattern and this prefix are both empty' : `${JSON.stringify(filter)} (${key} + pattern) is not a topic filter: ${bad}`;
        report(ctx, pattern === '' ? [key] : ['pattern'], ConfigIssueCode.INVALID_TOPIC_NAME, `${what}; expected a valid MQTT topic filter`, pattern);
      }
    }
  }, always)
  .describe('One topic rule, as in a mosquitto bridge: pattern, direction, QoS and the prefixes that rename topics between the two sides.');

// ── TLS ────────────────────────────────────────────────────────────────────────────────────

export const TLS_FILE_FIELDS = ['ca', 'cert', 'key'] as const;

const tls = z
  .strictObject({
    ca: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the CA certificate(s) that signed the upstream broker's certificate, relative to the config file. Without it the system's CAs are trusted."),
    cert: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of the client certificate, relative to the config file, for brokers that require one (set key too).'),
    key: z.string().min(1).optional().describe('PEM file of the private key of cert, relative to the config file.'),
    passphraseEnv: envName('Environment variable holding the passphrase of an encrypted key.'),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Refuse a broker whose certificate does not verify (CA and host name). false lets anyone in the middle read and change the traffic: tests only.'),
    servername: z
      .string()
      .min(1)
      .optional()
      .describe("Host name to verify the broker's certificate against (and to send as SNI) when it differs from the url's host."),
  })
  .superRefine((t: unknown, ctx) => {
    if (!isRecord(t)) return;
    if (t.cert !== undefined && t.key === undefined) report(ctx, ['key'], ConfigIssueCode.INCONSISTENT, 'missing; a client certificate (cert) needs its private key', undefined);
    if (t.key !== undefined && t.cert === undefined) report(ctx, ['cert'], ConfigIssueCode.INCONSISTENT, 'missing; a private key (key) needs its certificate', undefined);
    if (t.passphraseEnv !== undefined && t.key === undefined) {
      report(ctx, ['passphraseEnv'], ConfigIssueCode.INCONSISTENT, 'is set but there is no key to decrypt; set key, or remove passphraseEnv', t.passphraseEnv);
    }
  }, always)
  .describe('TLS settings of an mqtts:// upstream.');

// ── the section ─────────────────────────────────────────────────────────────────────────────

const reconnect = backoffSchema({
  initialMs: 1000,
  maxMs: 60_000,
  initialText: 'Wait before the first new attempt after a failed or lost connection.',
  maxText: 'The wait doubles after each failed attempt, up to this.',
  description: 'Backoff between connection attempts, with random jitter so that many gateways do not all come back at once.',
});

const queue = z
  .strictObject({
    maxMessages: z.int().min(1).default(100_000).describe('QoS 1 and 2 messages kept for the upstream, at most.'),
    maxBytes: z
      .int()
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe('Bytes (topics and payloads) kept for the upstream, at most.'),
  })
  .prefault({})
  .describe(
    'QoS 1 and 2 messages bound for the upstream wait here while it is away (and until it acknowledges them). ' +
      'When full, the oldest is dropped and counted.',
  );

/** Glob of client ids: `*` is any run of characters, everything else literal. */
export function clientIdGlob(pattern: string): RegExp {
  const body = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${body.join('.*')}$`, 's');
}

const clientCredentials = z
  .strictObject({
    clientId: z
      .string()
      .min(1)
      .describe('The MQTT-SN client ids these credentials are for: an exact id, or a pattern with * (any run of characters), e.g. "sensor-*".'),
    username: z.string().optional().describe('User name upstream; %c is replaced by the client id (without the prefix).'),
    password: z.string().optional().describe('The password, inline. Discouraged; prefer passwordEnv.'),
    passwordEnv: envName('Environment variable holding the password, read when the gateway starts.'),
    cert: z.string().min(1).optional().describe("PEM file of the device's client certificate, relative to the config file (set key too)."),
    key: z.string().min(1).optional().describe('PEM file of the private key of cert, relative to the config file.'),
  })
  .superRefine((c: unknown, ctx) => {
    if (!isRecord(c)) return;
    if (c.password !== undefined && c.passwordEnv !== undefined) report(ctx, ['password'], ConfigIssueCode.INCONSISTENT, 'is set together with passwordEnv; keep one', '***');
    if ((c.password !== undefined || c.passwordEnv !== undefined) && c.username === undefined) {
      report(ctx, ['username'], ConfigIssueCode.INCONSISTENT, 'missing; MQTT 3.1.1 sends a password only with a user name', undefined);
    }
    if (c.cert !== undefined && c.key === undefined) report(ctx, ['key'], ConfigIssueCode.INCONSISTENT, 'missing; a client certificate (cert) needs its private key', undefined);
    if (c.key !== undefined && c.cert === undefined) report(ctx, ['cert'], ConfigIssueCode.INCONSISTENT, 'missing; a private key (key) needs its certificate', undefined);
  }, always)
  .describe('Upstream credentials of some MQTT-SN clients (transparent mode), so the upstream broker authenticates and authorizes each device itself.');

export const upstreamSchema = z
  .strictObject({
    profile: z.enum(UPSTREAM_PROFILES).optional().describe(PROFILE_HELP),
    ...PROFILE_SETTINGS,
    // Checked with the section below, where the profile is known.
    url: z
      .string()
      .describe('The upstream broker: mqtt://host[:port] (TCP, port 1883 by default) or mqtts://host[:port] (TLS, port 8883 by default).'),
    mode: z
      .enum(UPSTREAM_MODES)
      .default('aggregating')
      .describe(
        'aggregating: one upstream connection for the whole gateway; the topic rules say what flows where. ' +
          "transparent: every MQTT-SN client gets its own upstream connection with its client id, clean-session flag, keep-alive and will; the upstream broker's sessions, retained messages and ACLs apply per device.",
      ),
    clientIdPrefix: z
      .string()
      .max(65_535)
      .default('')
      .describe('Transparent mode: prepended to each MQTT-SN client id upstream, e.g. "site1-", so devices of several gateways cannot collide.'),
    maxConnections: z
      .int()
      .min(2)
      .optional()
      .describe(
        'Transparent mode: upstream connections open at once, the gateway\'s own and those still closing included. A CONNECT (or will update) that would open one more is answered 0x01 (try later). ' +
          'Default: 1000, what one small host keeps open comfortably; the upstream broker has limits of its own.',
      ),
    clients: z
      .array(clientCredentials)
      .default([])
      .describe('Transparent mode: per-device credentials, first matching entry wins; a client without an entry uses the section\'s username, password and tls.'),
    clientId: z
      .string()
      .min(1)
      .max(65_535)
      // The default needs gatewayId, outside this section: filled in by `completeUpstream`.
      .optional()
      .describe(
        "The gateway's MQTT client id upstream. Unique on that broker; keep it stable when cleanSession is false. " +
          'Default: mqttsn-<host name>-<gatewayId>, e.g. mqttsn-raspberrypi-1 (required by the aws-iot and azure-iot-hub profiles, where it is the thing or device id).',
      ),
    username: z.string().optional().describe('User name for the upstream broker.'),
    password: z
      .string()
      .optional()
      .describe('The password, inline. Discouraged: the file then holds a secret. Prefer passwordEnv. Masked wherever the config is shown.'),
    passwordEnv: envName('Environment variable holding the password, read when the gateway starts.'),
    tls: tls.optional(),
    topics: z
      .array(rule)
      // Absent means "everything" in aggregating mode, and is the only choice in transparent mode
      // (checked below); the default is filled in by `completeUpstream`, which knows the mode.
      .optional()
      .describe(
        'Topic rules (aggregating mode), tried in order: the first rule that matches a message decides where it goes and under which topic. ' +
          'Default: every topic both ways, [{ "pattern": "#", "direction": "both" }]; with a profile every topic out, [{ "pattern": "#", "direction": "out" }].',
      ),
    maxInflight: z
      .int()
      .min(1)
      .max(65_535)
      .default(100)
      .describe('QoS 1 and 2 messages sent upstream and not yet acknowledged, at most; the rest wait in the queue, in order.'),
    queue,
    keepAlive: z.int().min(0).max(65_535).default(60).describe('MQTT keep-alive of the upstream connection, in seconds. 0 turns it off.'),
    cleanSession: z
      .boolean()
      .default(true)
      .describe('true: a fresh session on every connection. false: the upstream keeps the subscriptions and queues messages for the gateway while it is away.'),
    connectTimeoutMs: z
      .int()
      .min(1)
      .max(MAX_TIMER_MS)
      .default(30_000)
      .describe('A connection attempt (TCP, TLS and CONNACK) that takes longer fails, and the next one is scheduled.'),
    maxPacketBytes: maxPacketBytes('Largest MQTT packet the upstream broker may send; a larger one closes the connection, which is then reopened as after any loss.'),
    reconnect,
  })
  .superRefine((u: unknown, ctx) => {
    if (!isRecord(u)) return;
    if (u.password !== undefined && u.passwordEnv !== undefined) {
      report(ctx, ['password'], ConfigIssueCode.INCONSISTENT, 'is set together with passwordEnv; keep one (passwordEnv is preferred)', '***');
    }
    // [MQTT-3.1.2-22]: no password without a user name.
    if ((u.password !== undefined || u.passwordEnv !== undefined) && u.username === undefined) {
      report(ctx, ['username'], ConfigIssueCode.INCONSISTENT, 'missing; MQTT 3.1.1 sends a password only with a user name', undefined);
    }
    if (typeof u.url === 'string' && u.url.startsWith('mqtt://') && u.tls !== undefined) {
      report(ctx, ['tls'], ConfigIssueCode.INCONSISTENT, 'is set but the url is mqtt:// (plain TCP); use an mqtts:// url, or remove tls', undefined);
    }
    const badUrl = typeof u.url === 'string' ? urlProblem(u.url, typeof u.profile === 'string' ? u.profile : undefined) : undefined;
    if (badUrl !== undefined) report(ctx, ['url'], ConfigIssueCode.INVALID_VALUE, badUrl, u.url);
    // A url that is no URL at all gets one line, not a second one from the profile.
    for (const p of profileProblems(u)) if (badUrl === undefined || p.path.join('.') !== 'url') report(ctx, p.path, p.code, p.message, p.input);
    // Refinements see the defaulted section: an absent `clients` is [] here, and `clientIdPrefix` is "".
    const given = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== '');
    if (u.clientId === undefined && (u.profile === 'aws-iot' || u.profile === 'azure-iot-hub')) {
      const what = u.profile === 'aws-iot' ? 'the thing name (AWS IoT Core policies allow iot:Connect by it)' : 'the device id registered in the hub (IoT Hub takes it as client id)';
      report(ctx, ['clientId'], ConfigIssueCode.MISSING, `missing; the ${u.profile} profile needs it set to ${what}`, undefined);
    }
    if (u.mode === 'transparent') {
      // One account or device identity for the gateway: these services cannot take one connection per sensor.
      if (u.profile === 'azure-iot-hub' || u.profile === 'adafruit-io') {
        report(ctx, ['mode'], ConfigIssueCode.INCONSISTENT, `"transparent" does not work with the ${u.profile} profile (it signs in as one device or account); use "mode": "aggregating"`, u.mode);
      }
      if (u.topics !== undefined) {
        report(ctx, ['topics'], ConfigIssueCode.INCONSISTENT, 'has no effect in transparent mode (every client\'s messages go up on its own connection); remove it, or use "mode": "aggregating"', undefined);
      }
    } else {
      if (Array.isArray(u.topics) && u.topics.length === 0) {
        const ways = u.profile === undefined ? 'both' : 'out';
        report(
          ctx,
          ['topics'],
          ConfigIssueCode.MISSING,
          `empty, so nothing would cross; give at least one topic rule, or leave topics out for [{ "pattern": "#", "direction": "${ways}" }] (every topic ${ways === 'both' ? 'both ways' : 'out'})`,
          undefined,
        );
      }
      // Only where transparent mode is possible is it offered as the fix.
      const fix = u.profile === 'azure-iot-hub' || u.profile === 'adafruit-io' ? `remove it (the ${u.profile} profile works in aggregating mode only)` : 'remove it, or set "mode": "transparent"';
      for (const key of ['clientIdPrefix', 'clients', 'maxConnections'] as const) {
        if (given(u[key])) report(ctx, [key], ConfigIssueCode.INCONSISTENT, `applies to transparent mode only; ${fix}`, undefined);
      }
    }
  }, always)
  .nullable()
  // `null` rather than an optional key: the parsed config has every key, so "no upstream" is a
  // value a consumer checks, not a default it could forget.
  .default(null)
  .describe('The upstream MQTT 3.1.1 broker the gateway bridges to. Without it (or null) the gateway runs on its local broker core alone.');

/** The section as the schema leaves it, before `completeUpstream`. */
export type UpstreamSection = NonNullable<z.output<typeof upstreamSchema>>;
export type UpstreamTopicRule = z.output<typeof rule>;
/** The section with every default filled in. */
export type UpstreamConfig = Omit<UpstreamSection, 'clientId' | 'topics'> & { clientId: string; topics: UpstreamTopicRule[] };

/**
 * The gateway's client id upstream when the config names none: unique per host and gateway (two
 * gateways on one broker must not take each other's connection), and the same at every start, as
 * mosquitto's bridge makes its remote client id from the host name.
 */
export function defaultUpstreamClientId(gatewayId: number, host: string = hostname()): string {
  return `mqttsn-${host}-${gatewayId}`;
}

/** Every topic, both ways: the bridge of a minimal config carries everything (the echo filter keeps it loop- and duplicate-free). */
const EVERYTHING_BOTH_WAYS: UpstreamTopicRule = { pattern: '#', direction: 'both', qos: 1, localPrefix: '', remotePrefix: '' };

/**
 * The defaults that depend on more than one field: the client id (on gatewayId), and the topic
 * rules (on the mode and profile: a hosted service gets every topic out only, since what it lets
 * a client subscribe to differs by service, and Azure IoT Hub takes no inbound rule at all).
 */
export function completeUpstream(u: UpstreamSection, gatewayId: number): UpstreamConfig {
  const topics = u.topics ?? (u.mode === 'transparent' ? [] : [{ ...EVERYTHING_BOTH_WAYS, direction: u.profile === undefined ? 'both' : 'out' }]);
  return { ...u, clientId: u.clientId ?? defaultUpstreamClientId(gatewayId), topics };
}
export type UpstreamTlsConfig = NonNullable<UpstreamConfig['tls']>;

// ── TLS files ───────────────────────────────────────────────────────────────────────────────

/**
 * Problems with the TLS files named in a config (raw input, read defensively so it also runs when
 * the schema found other mistakes): a file that is missing, a folder or unreadable is an issue on
 * its field. Relative paths are taken from `baseDir`, the config file's folder (the working
 * directory when the config did not come from a file).
 */
export function checkUpstreamFiles(input: unknown, baseDir?: string): ConfigIssue[] {
  if (!isRecord(input) || !isRecord(input.upstream)) return [];
  const u = input.upstream;
  const named: Array<{ at: PathSegment[]; value: unknown }> = [];
  if (isRecord(u.tls)) for (const field of TLS_FILE_FIELDS) named.push({ at: ['upstream', 'tls', field], value: u.tls[field] });
  if (Array.isArray(u.clients)) {
    u.clients.forEach((c: unknown, i) => {
      if (isRecord(c)) for (const field of ['cert', 'key'] as const) named.push({ at: ['upstream', 'clients', i, field], value: c[field] });
    });
  }
  const issues: ConfigIssue[] = [];
  for (const { at, value } of named) {
    if (typeof value !== 'string' || value === '') continue;
    const path = formatPath(at);
    const full = resolve(baseDir ?? '', value);
    let isFile: boolean;
    try {
      isFile = statSync(full).isFile();
    } catch {
      issues.push({ path, code: ConfigIssueCode.FILE_NOT_FOUND, message: `file not found (${full})` });
      continue;
    }
    if (!isFile) {
      issues.push({ path, code: ConfigIssueCode.FILE_UNREADABLE, message: `${full} is not a file; expected a PEM file` });
      continue;
    }
    try {
      accessSync(full, constants.R_OK);
    } catch {
      issues.push({ path, code: ConfigIssueCode.FILE_UNREADABLE, message: `permission denied reading ${full}` });
    }
  }
  return issues;
}

/** The section with its TLS file paths made absolute against `baseDir` (see `checkUpstreamFiles`). */
export function resolveUpstreamFiles(upstream: UpstreamConfig | null, baseDir?: string): UpstreamConfig | null {
  if (upstream === null) return upstream;
  const full = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolve(baseDir ?? '', p));
  let tls = upstream.tls;
  if (tls !== undefined) {
    tls = { ...tls };
    for (const field of TLS_FILE_FIELDS) tls[field] = full(tls[field]);
  }
  const clients = upstream.clients.map((c) => ({ ...c, cert: full(c.cert), key: full(c.key) }));
  return { ...upstream, ...(tls === undefined ? {} : { tls }), clients };
}
