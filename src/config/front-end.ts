/**
 * The front end's own config file (`mqttsn-gateway front-end --config FILE`): where devices send,
 * the gateway instances behind it, how they are probed, and its discovery answers. A file of its
 * own: the front end runs no gateway, and a gateway's file has no place for its instance list.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError, ConfigIssueCode } from './errors.js';
import { always, isRecord, report } from './fields.js';
import { fromZodIssues } from './issues.js';
import { parseJsonText } from './json-text.js';
import { describeReadError } from './load.js';
import { logSchema } from './log.js';
import { formatAddress, listenPort } from './net.js';

const ipLiteral = (description: string) =>
  z
    .string()
    .refine((a) => isIP(a) !== 0, {
      params: { code: ConfigIssueCode.INVALID_HOST },
      error: (iss) => `${JSON.stringify(iss.input)} is not an IP address (a host name is not resolved here: the hash must not change with DNS)`,
    })
    .describe(description);

const instance = z
  .strictObject({
    host: ipLiteral("IP address of the instance's UDP transport (of the listening address's family)."),
    port: z.int().min(1).max(65_535).describe("UDP port of the instance's transport."),
  })
  .describe('A gateway instance. Its UDP transport must list this front end in frontEnds.');

export const frontEndConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of a JSON Schema, for editors. Ignored.'),
    host: ipLiteral('Address the devices send to: 0.0.0.0 or :: for every interface. Instances must be of its IP family.').default('0.0.0.0'),
    port: listenPort(1884, 'UDP port the devices send to.'),
    instances: z.array(instance).min(1).max(64).describe('The gateway instances devices are spread over, by rendezvous hashing on the device address and port.'),
    gatewayId: z.int().min(0).max(255).default(1).describe('GwId in the GWINFO the front end answers SEARCHGW with, and in its ADVERTISE.'),
    health: z
      .strictObject({
        intervalMs: z.int().min(50).max(60_000).default(1000).describe('How often each instance is probed (SEARCHGW, answered with GWINFO).'),
        missedProbes: z
          .int()
          .min(1)
          .max(100)
          .default(3)
          .describe(
            "Intervals without a word from an instance whose port refused a probe meanwhile (ICMP port unreachable: its process is gone) before its devices go to the others: out within (missedProbes + 1) x intervalMs. Any datagram from the instance, a device's answer too, counts as a word.",
          ),
        silentProbes: z
          .int()
          .min(1)
          .max(1000)
          .default(10)
          .describe(
            'Intervals without a word and without a refusal before an instance is out: a process stalled by load and a lost host look alike, and moving a live instance\'s devices makes two instances take their sessions in turn, so silence alone waits longer. At least missedProbes.',
          ),
      })
      .prefault({})
      .describe('Instance health probing: SEARCHGW to each instance every intervalMs, from a socket connected to it.'),
    affinity: z
      .strictObject({
        maxEntries: z
          .int()
          .min(0)
          .max(10_000_000)
          .default(100_000)
          .describe(
            'Devices remembered on the instance they moved to when theirs was out (about 200 bytes each: the default takes at most about 20 MB), so they stay there when it returns. Beyond it a moved device is routed by the hash alone, back home when its instance returns, and counted (affinityFull). 0: no affinity.',
          ),
        idleSec: z
          .int()
          .min(1)
          .max(31_536_000)
          .default(86_400)
          .describe(
            "Seconds after a moved device's last datagram that it is forgotten and goes home like a new device. Longer than every keep-alive x 1.5 and sleep duration, so a live device is not moved back under its session.",
          ),
      })
      .prefault({})
      .describe('Where devices that failed over stay when their instance comes back: only new devices and those idle for idleSec go to it.'),
    advertise: z
      .strictObject({
        address: ipLiteral('Broadcast or multicast address devices listen on for ADVERTISE.'),
        port: z.int().min(1).max(65_535).default(1884).describe('UDP port devices listen on for ADVERTISE.'),
        intervalSec: z.int().min(1).max(65_535).default(900).describe('Seconds between ADVERTISE messages (their Duration field).'),
      })
      .optional()
      .describe('ADVERTISE sent by the front end while an instance is alive. Without it: none (SEARCHGW is still answered).'),
    log: logSchema,
  })
  .superRefine((c: unknown, ctx) => {
    if (!isRecord(c) || !Array.isArray(c.instances)) return;
    const family = isIP(typeof c.host === 'string' ? c.host : '0.0.0.0');
    const h = isRecord(c.health) ? c.health : {};
    const missed = typeof h.missedProbes === 'number' ? h.missedProbes : 3;
    const silent = typeof h.silentProbes === 'number' ? h.silentProbes : 10;
    if (silent < missed) {
      report(ctx, ['health', 'silentProbes'], ConfigIssueCode.INCONSISTENT, `${silent} is below health.missedProbes (${missed}); expected silentProbes >= missedProbes (silence without a refusal waits at least as long)`, silent);
    }
    const seen = new Set<string>();
    (c.instances as unknown[]).forEach((i, n) => {
      if (!isRecord(i) || typeof i.host !== 'string' || typeof i.port !== 'number') return;
      const f = isIP(i.host);
      if (f !== 0 && family !== 0 && f !== family) {
        report(ctx, ['instances', n, 'host'], ConfigIssueCode.ADDRESS_FAMILY, `${i.host} is IPv${f} but the front end listens on IPv${family}; expected instances of one family with host`, i.host);
      }
      const key = formatAddress(i.host, i.port);
      if (seen.has(key)) report(ctx, ['instances', n], ConfigIssueCode.DUPLICATE_ADDRESS, `${key} is listed twice; expected each instance once`, key);
      seen.add(key);
    });
  }, always)
  .describe('Configuration of the MQTT-SN UDP front end (mqttsn-gateway front-end).');

export type FrontEndConfig = Omit<z.output<typeof frontEndConfigSchema>, '$schema'>;

/** Reads and validates a front-end file. @throws ConfigError naming every bad field */
export async function loadFrontEndConfig(path: string): Promise<FrontEndConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([describeReadError(err, path)], path, { cause: err });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const { line, column } = parsed.position;
    throw new ConfigError([{ path: '', code: ConfigIssueCode.INVALID_JSON, message: `invalid JSON: ${parsed.message}`, line, column }], path);
  }
  const result = frontEndConfigSchema.safeParse(parsed.value);
  if (!result.success) throw new ConfigError(fromZodIssues(result.error.issues, frontEndConfigSchema, parsed.value), path);
  const { $schema: _editorsOnly, ...config } = result.data;
  return config;
}
