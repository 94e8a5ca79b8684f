/**
 * `upstream.profile`: a hosted MQTT service the user names instead of learning its rules. The
 * checks here run inside the `upstream` schema, on the raw section, so a profile's requirements
 * read like every other config mistake: the field, the value, what is expected.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { validateTopicName } from '../topics/topic-names.js';
import { envName } from './env.js';
import { ConfigIssueCode } from './errors.js';
import { isRecord } from './fields.js';
import type { PathSegment } from './path.js';

/** Services with a profile. */
export const UPSTREAM_PROFILES = ['aws-iot', 'azure-iot-hub', 'adafruit-io'] as const;
export type UpstreamProfileName = (typeof UPSTREAM_PROFILES)[number];

export const PROFILE_HELP =
  'A hosted MQTT service whose rules the bridge follows. aws-iot: AWS IoT Core (mqtts with a client certificate, SNI, QoS 0/1, ' +
  '128 KB payloads, at most 7 "/" per topic, paced to its publish rate, subscriptions batched to its limits, reconnects at least 1.5 s apart). ' +
  'azure-iot-hub: Azure IoT Hub as one device (SAS token computed from the device key and renewed, or an X.509 certificate; ' +
  'telemetry to devices/{id}/messages/events/ with the topic as a property; cloud-to-device messages into the gateway; QoS 0/1, no retain); settings in "azure". ' +
  'adafruit-io: Adafruit IO (topics mapped to feed keys, paced to the account\'s data-point budget, newest value per feed kept, ' +
  'throttle notices obeyed, reconnects at least 4 s apart); settings in "adafruit". Without it: a plain MQTT 3.1.1 broker.';

/** The `api-version` the azure-iot-hub profile puts in the user name (the one the service documents for MQTT 3.1.1 devices). */
export const AZURE_API_VERSION = '2021-04-12';

const azureSettings = z
  .strictObject({
    deviceId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('The device id registered in the hub. Default: upstream.clientId (IoT Hub takes the device id as client id, so the two must be equal).'),
    hubHost: z
      .string()
      .min(1)
      .optional()
      .describe("The hub's host name, e.g. my-hub.azure-devices.net, as it goes into the user name and the token. Default: the url's host."),
    deviceKeyEnv: envName(
      "Environment variable holding the device's symmetric key (primary or secondary key, base64, from the hub's device page). Without it, tls.cert and tls.key authenticate the device (X.509).",
    ),
    sasLifetimeSec: z
      .int()
      .min(2)
      .max(365 * 24 * 3600)
      .default(3600)
      .describe('Lifetime of each SAS token the gateway computes. The gateway reconnects with a fresh token before it expires.'),
    topicProperty: z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]*$/, 'expected a property name of ASCII letters, digits and !#$%&\'*+-.^_`|~ (or "" for none)')
      .default('topic')
      .describe('Name of the message property that carries the MQTT-SN topic (after the topic rules) in each telemetry message. "" sends no property.'),
    c2dLocalPrefix: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Where cloud-to-device messages go in the gateway: a message with a topic property arrives as c2dLocalPrefix + that topic, ' +
          'one without as c2dLocalPrefix without its trailing "/". Without it the gateway does not subscribe to cloud-to-device messages.',
      ),
  })
  .describe('Settings of the azure-iot-hub profile.');

const adafruitSettings = z
  .strictObject({
    feedTemplate: z
      .string()
      .default('{user}/feeds/{topic}')
      .describe('Upstream topic of a message: {user} is upstream.username, {topic} the feed key made from the topic (after the topic rules).'),
    feedKeySeparator: z
      .enum(['-', '.'])
      .default('-')
      .describe('What "/" in a topic becomes in the feed key. "-": sensors/kitchen/temp -> sensors-kitchen-temp. ".": the first level names a group (sensors.kitchen-temp).'),
    dataPointsPerMinute: z.int().min(1).max(100_000).default(30).describe("The account's data-point budget: 30 per minute on a free account, 60 on IO Plus. Shared by every client of the account."),
    budgetWindowSec: z.int().min(1).max(3600).default(60).describe('The window the budget is counted over. The service counts per minute; change it only to test.'),
    keepNewestPerFeed: z
      .boolean()
      .default(true)
      .describe('While messages wait for the budget, a newer value of a feed replaces the waiting one (counted as coalesced). false: every QoS 1 value waits its turn.'),
  })
  .describe('Settings of the adafruit-io profile.');

/** The profile-specific keys of the `upstream` section. */
export const PROFILE_SETTINGS = { azure: azureSettings.optional(), adafruit: adafruitSettings.optional() };
export type AzureSettings = z.output<typeof azureSettings>;
export type AdafruitSettings = z.output<typeof adafruitSettings>;

export interface ProfileProblem {
  path: PathSegment[];
  code: ConfigIssueCode;
  message: string;
  input: unknown;
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** What the section lacks for its profile (the schema reports plain URL and TLS mistakes itself). */
export function profileProblems(u: Record<string, unknown>): ProfileProblem[] {
  const out = misplacedSettings(u);
  switch (u.profile) {
    case 'aws-iot':
      return [...out, ...awsProblems(u)];
    case 'azure-iot-hub':
      return [...out, ...azureProblems(u)];
    case 'adafruit-io':
      return [...out, ...adafruitProblems(u)];
    default:
      return out;
  }
}

/** Settings of one profile under another (or none) are a mistake the user should hear about, not ignored keys. */
function misplacedSettings(u: Record<string, unknown>): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  for (const [key, profile] of [
    ['azure', 'azure-iot-hub'],
    ['adafruit', 'adafruit-io'],
  ] as const) {
    if (u[key] !== undefined && u.profile !== profile) {
      out.push({ path: [key], code: ConfigIssueCode.INCONSISTENT, message: `is set but profile is not "${profile}"; set "profile": "${profile}", or remove ${key}`, input: undefined });
    }
  }
  return out;
}

function mqttsProblem(u: Record<string, unknown>, service: string, example: string): ProfileProblem[] {
  if (typeof u.url !== 'string' || u.url.startsWith('mqtts://')) return [];
  return [
    {
      path: ['url'],
      code: ConfigIssueCode.INCONSISTENT,
      message: `${JSON.stringify(u.url)} is not mqtts://; ${service} takes MQTT only over TLS: expected ${example}`,
      input: u.url,
    },
  ];
}

function awsProblems(u: Record<string, unknown>): ProfileProblem[] {
  const out: ProfileProblem[] = [];
  const aws = 'AWS IoT Core';
  out.push(...mqttsProblem(u, aws, 'mqtts://<prefix>-ats.iot.<region>.amazonaws.com[:8883]'));
  const tls = isRecord(u.tls) ? u.tls : undefined;
  if (tls === undefined) {
    out.push({
      path: ['tls'],
      code: ConfigIssueCode.MISSING,
      message: `missing; the aws-iot profile needs tls.cert and tls.key (the thing's certificate and private key from the ${aws} console) and usually tls.ca (AmazonRootCA1.pem)`,
      input: undefined,
    });
  } else {
    // The schema already reports a lone cert or key; this is the case where both are absent.
    if (tls.cert === undefined && tls.key === undefined) {
      for (const field of ['cert', 'key'] as const) {
        out.push({
          path: ['tls', field],
          code: ConfigIssueCode.MISSING,
          message: `missing; ${aws} authenticates the thing by its X.509 ${field === 'cert' ? 'certificate (xxx-certificate.pem.crt)' : 'private key (xxx-private.pem.key)'}`,
          input: undefined,
        });
      }
    }
  }
  // Without SNI the service cannot pick the endpoint and refuses the handshake; an IP address cannot be sent as SNI.
  const host = hostOf(u.url);
  if (host !== undefined && host !== '' && isIP(host.replace(/^\[|\]$/g, '')) !== 0 && tls?.servername === undefined) {
    out.push({
      path: ['url'],
      code: ConfigIssueCode.INVALID_VALUE,
      message: `${JSON.stringify(u.url)} names the endpoint by IP address, which cannot be sent as TLS SNI; use the endpoint host name (aws iot describe-endpoint --endpoint-type iot:Data-ATS), or set tls.servername`,
      input: u.url,
    });
  }
  if (u.password !== undefined || u.passwordEnv !== undefined) {
    out.push({
      path: [u.password !== undefined ? 'password' : 'passwordEnv'],
      code: ConfigIssueCode.INCONSISTENT,
      message: `is set, but ${aws} on port 8883 authenticates by client certificate only; remove it`,
      input: '***',
    });
  }
  return out;
}

function azureProblems(u: Record<string, unknown>): ProfileProblem[] {
  const hub = 'Azure IoT Hub';
  const out = mqttsProblem(u, hub, 'mqtts://<hub name>.azure-devices.net[:8883]');
  const a = isRecord(u.azure) ? u.azure : {};
  const tls = isRecord(u.tls) ? u.tls : {};
  const x509 = tls.cert !== undefined || tls.key !== undefined;
  if (a.deviceKeyEnv === undefined && !x509) {
    out.push({
      path: ['azure', 'deviceKeyEnv'],
      code: ConfigIssueCode.MISSING,
      message: `missing; ${hub} authenticates the device by its symmetric key (name the environment variable holding it) or by an X.509 certificate (set tls.cert and tls.key)`,
      input: undefined,
    });
  }
  if (a.deviceKeyEnv !== undefined && x509) {
    out.push({
      path: ['azure', 'deviceKeyEnv'],
      code: ConfigIssueCode.INCONSISTENT,
      message: 'is set together with tls.cert/tls.key; the device authenticates with one of them: keep deviceKeyEnv (SAS token) or the certificate',
      input: a.deviceKeyEnv,
    });
  }
  if (typeof a.deviceId === 'string' && typeof u.clientId === 'string' && a.deviceId !== u.clientId) {
    out.push({
      path: ['azure', 'deviceId'],
      code: ConfigIssueCode.INCONSISTENT,
      message: `${JSON.stringify(a.deviceId)} differs from clientId ${JSON.stringify(u.clientId)}; ${hub} takes the device id as MQTT client id: make them equal, or leave deviceId out`,
      input: a.deviceId,
    });
  }
  for (const field of ['username', 'password', 'passwordEnv'] as const) {
    if (u[field] !== undefined) {
      out.push({
        path: [field],
        code: ConfigIssueCode.INCONSISTENT,
        message: `is set, but the azure-iot-hub profile makes the user name ({hub}/{device}/?api-version=${AZURE_API_VERSION}) and the password (a SAS token) itself; remove it`,
        input: field === 'username' ? u[field] : '***',
      });
    }
  }
  if (typeof a.c2dLocalPrefix === 'string') {
    const why = validateTopicName(a.c2dLocalPrefix);
    if (why !== undefined) {
      out.push({ path: ['azure', 'c2dLocalPrefix'], code: ConfigIssueCode.INVALID_TOPIC_NAME, message: `${JSON.stringify(a.c2dLocalPrefix)} ${why}; expected the start of a topic name`, input: a.c2dLocalPrefix });
    }
  }
  // The hub has one fixed topic for cloud-to-device messages; rules that subscribe elsewhere would be refused.
  if (Array.isArray(u.topics)) {
    u.topics.forEach((r: unknown, i) => {
      if (isRecord(r) && (r.direction === 'in' || r.direction === 'both')) {
        out.push({
          path: ['topics', i, 'direction'],
          code: ConfigIssueCode.INCONSISTENT,
          message: `${JSON.stringify(r.direction)}: ${hub} sends devices only cloud-to-device messages, which azure.c2dLocalPrefix brings in; expected "out"`,
          input: r.direction,
        });
      }
    });
  }
  return out;
}

function adafruitProblems(u: Record<string, unknown>): ProfileProblem[] {
  const io = 'Adafruit IO';
  const out = mqttsProblem(u, io, 'mqtts://io.adafruit.com[:8883]');
  if (u.username === undefined) {
    out.push({ path: ['username'], code: ConfigIssueCode.MISSING, message: `missing; ${io} takes your Adafruit IO user name`, input: undefined });
  }
  if (u.passwordEnv === undefined && u.password === undefined) {
    out.push({ path: ['passwordEnv'], code: ConfigIssueCode.MISSING, message: `missing; name the environment variable holding your Adafruit IO key (AIO key)`, input: undefined });
  }
  const a = isRecord(u.adafruit) ? u.adafruit : {};
  if (typeof a.feedTemplate === 'string' && !a.feedTemplate.includes('{topic}')) {
    out.push({
      path: ['adafruit', 'feedTemplate'],
      code: ConfigIssueCode.INVALID_VALUE,
      message: `${JSON.stringify(a.feedTemplate)} has no {topic}; expected e.g. "{user}/feeds/{topic}"`,
      input: a.feedTemplate,
    });
  }
  return out;
}
