/**
 * `node --import tsx firmware-sim/cli.ts --gateway udp://127.0.0.1:1884 --nodes 100 ...`
 *
 * Runs simulated devices against a gateway, shows progress (a live line on a TTY, plain lines
 * otherwise, on stderr) and prints the report on stdout. Exit codes: 0 done, 1 the run failed
 * (loss with --expect-no-loss, no node could connect, a link could not be opened), 2 bad options.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { QoS } from '../src/codec/index.js';
import { SimError } from './errors.js';
import { runFleet, type FleetOptions, type FleetProgress, type FleetTarget } from './fleet.js';
import { parseUdpUrl } from './link.js';
import { FRAMINGS, type Framing } from './links/serial.js';
import { isProfileName, PROFILE_NAMES, profiles, type ProfileName } from './profiles.js';
import type { SimReport } from './stats.js';
import { parseProtocol, PROTOCOL_VERSIONS, type ProtocolVersion } from './wire/index.js';

export const HELP = `firmware-sim: simulated MQTT-SN 1.2 and 2.0 devices for trying, testing and loading a gateway

Usage:
  node --import tsx firmware-sim/cli.ts --gateway udp://127.0.0.1:1884 [options]
  node --import tsx firmware-sim/cli.ts --serial /dev/ttyUSB0 --framing slip [options]

Where the gateway is (one of):
  --gateway URL          udp://HOST:PORT; IPv6 in brackets: udp://[::1]:1884
  --search URL           find the gateway with SEARCHGW sent to URL (a broadcast, multicast
                         or unicast address, e.g. udp://255.255.255.255:1884) and use the
                         sender of the first GWINFO
  --serial PATH          a serial device (a USB dongle, or one end of a pty pair)
    --framing F          slip | xbee-api1 | xbee-api2 (default slip)
    --baud N             line speed (default 115200)
    --xbee-role R        module: play the gateway's XBee module and every node's radio
                         (default); host: drive a real XBee module as one node
    --forwarder          SLIP: wrap frames in forwarder encapsulation so that several
                         nodes share the line (needed for --nodes > 1 over SLIP)

What the devices do:
  --nodes N              number of nodes (default 1); each UDP node has its own socket
  --profile P[,P...]     behaviour, assigned round-robin (default temperature):
${PROFILE_NAMES.map((n) => `                           ${n.padEnd(12)} ${profiles[n].description}`).join('\n')}
  --rate R               publishes per second per node (default 1; may be fractional)
  --qos Q                -1 | 0 | 1 | 2: QoS of readings (default 1)
  --duration S           stop after S seconds (default 10; 0 = until Ctrl-C)
  --count N              stop after N publishes in total
  --keep-alive S         CONNECT keep-alive (default 60)
  --persistent-session   CONNECT with CleanSession=0 (default: clean)
  --will                 connect with a will: <topic-prefix>/<id>/status = offline
  --sleep S              sleepy profile: seconds asleep between wake-ups (default 10)
  --predefined-id N      beacon profile: predefined topic id (default 1)
  --protocol V[,V...]    MQTT-SN version: 1.2 (default) or 2 (OASIS MQTT-SN 2.0 CSD01). A list
                         mixes versions, assigned round-robin over rounds of --profile: with
                         --profile a,b --protocol 1.2,2 the nodes run a/1.2, b/1.2, a/2, b/2, ...
                         so every profile runs in every version; 1.2,2,2 makes two thirds 2.0.
                         The report counts the nodes of each version.
  --username U           2.0 nodes: MQTT-BASIC authentication in CONNECT (1.2 has none)
  --password P           2.0 nodes: the password for --username
  --session-expiry S     2.0 nodes: Session Expiry Interval in seconds (default 0 with a clean
                         session, never expiring with --persistent-session, as in 1.2)
  --client-prefix S      client ids are S001, S002, ... (default sim-)
  --topic-prefix S       topics are S/<client id>/... (default sim)
  --observe              require the observers (below): exit 1 if the gateway refuses them
  --no-observe           no observers: count only acknowledgements
                         By default observer nodes subscribe under <topic-prefix>/ when the
                         gateway lets them (one on <topic-prefix>/#, or one per 250 msg/s,
                         each on its share of the nodes' topics) and check that every QoS 1/2
                         publish arrives once (end-to-end loss, duplicates and latency); the
                         report says whether loss was measured end to end or by
                         acknowledgements only.

Protocol timers (MQTT-SN 1.2 §4.13):
  --retry-ms N           T_RETRY in ms (default 10000)
  --retries N            N_RETRY (default 3); a 2.0 CONNECT is never resent (MQTT-SN-4.4.2-1):
                         after one T_RETRY the node connects anew, with backoff

Run control and output:
  --ramp S               spread node starts over S seconds (default: 10 ms per node, max 10 s)
  --drain S              after the stop, wait up to S seconds for in-flight messages (default 5)
  --seed N               seed of the random choices, for repeatable runs (default 1)
  --json                 print the report as JSON
  --quiet                no progress output
  --expect-no-loss       exit 1 if any QoS 1/2 message was lost (as far as the run could see:
                         end to end with the observer, else never acknowledged)
  -h, --help             this text

The report counts publishes sent and acknowledged, messages received, QoS 1/2 messages lost
(and how that was measured), duplicates, retransmissions, errors by code, and latency p50 / p99
per message kind.
`;

/** A bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export interface CliConfig {
  fleet: Omit<FleetOptions, 'signal' | 'onProgress'>;
  json: boolean;
  quiet: boolean;
  expectNoLoss: boolean;
}

function num(name: string, v: string | undefined, def: number, check: (n: number) => boolean, want: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} ${JSON.stringify(v)}: expected ${want}`);
  return n;
}

const int = (n: number): boolean => Number.isInteger(n);

/** `--protocol 1.2`, `2` or a list like `1.2,2`; a bad value names the flag and the choices. */
function parseProtocols(v: string | undefined): ProtocolVersion[] {
  if (v === undefined) return ['1.2'];
  return v.split(',').map((part) => {
    const version = parseProtocol(part);
    if (version === undefined) {
      throw new UsageError(`--protocol ${JSON.stringify(v)}: expected ${PROTOCOL_VERSIONS.join(' or ')}, or a comma-separated list of them assigned round-robin (e.g. 1.2,2)`);
    }
    return version;
  });
}

/** parseArgs options of one type, named (parseArgs still types each value by its name). */
function options<const T extends 'string' | 'boolean', const K extends string>(type: T, names: readonly K[]): Record<K, { type: T }> {
  return Object.fromEntries(names.map((n) => [n, { type }])) as Record<K, { type: T }>;
}

/** argv (without node and script) -> configuration; `undefined` means --help. */
export function parseCli(argv: string[]): CliConfig | undefined {
  // parseArgs takes "-1" for an option: glue a negative number to its option (--qos -1).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...options('string', ['gateway', 'search', 'serial', 'framing', 'baud', 'xbee-role', 'nodes', 'profile', 'rate', 'qos', 'duration', 'count', 'keep-alive', 'sleep', 'protocol', 'username', 'password', 'session-expiry']),
        ...options('string', ['predefined-id', 'client-prefix', 'topic-prefix', 'retry-ms', 'retries', 'ramp', 'drain', 'seed']),
        ...options('boolean', ['forwarder', 'persistent-session', 'will', 'observe', 'no-observe', 'json', 'quiet', 'expect-no-loss']),
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs names the unknown option or the missing value.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) return undefined;

  const where = [values.gateway, values.search, values.serial].filter((v) => v !== undefined).length;
  if (where !== 1) throw new UsageError(where === 0 ? 'say where the gateway is: --gateway URL, --search URL or --serial PATH' : '--gateway, --search and --serial exclude each other');
  let target: FleetTarget;
  const udp = (flag: string, url: string): ReturnType<typeof parseUdpUrl> => {
    try {
      return parseUdpUrl(url);
    } catch (err) {
      throw new UsageError(`--${flag}: ${err instanceof SimError ? err.message : String(err)}`);
    }
  };
  if (values.gateway !== undefined) target = { kind: 'udp', gateway: udp('gateway', values.gateway) };
  else if (values.search !== undefined) target = { kind: 'udp-search', search: udp('search', values.search) };
  else {
    const framing = values.framing ?? 'slip';
    if (!(FRAMINGS as readonly string[]).includes(framing)) throw new UsageError(`--framing ${JSON.stringify(framing)}: expected one of ${FRAMINGS.join(', ')}`);
    const role = values['xbee-role'] ?? 'module';
    if (role !== 'module' && role !== 'host') throw new UsageError(`--xbee-role ${JSON.stringify(role)}: expected module or host`);
    if (values.serial === '') throw new UsageError('--serial needs a device path');
    target = {
      kind: 'serial',
      path: values.serial!,
      framing: framing as Framing,
      baudRate: num('baud', values.baud, 115200, (n) => int(n) && n > 0, 'a positive integer'),
      xbeeRole: role,
      forwarder: values.forwarder === true,
    };
  }
  if (target.kind !== 'serial') {
    for (const k of ['framing', 'baud', 'xbee-role', 'forwarder'] as const) {
      if (values[k] !== undefined) throw new UsageError(`--${k} applies to --serial only`);
    }
  }

  const profileNames = (values.profile ?? 'temperature').split(',').map((s) => s.trim());
  for (const p of profileNames) {
    if (!isProfileName(p)) throw new UsageError(`--profile ${JSON.stringify(p)}: expected one of ${PROFILE_NAMES.join(', ')}`);
  }
  const nodes = num('nodes', values.nodes, 1, (n) => int(n) && n >= 1 && n <= 100_000, 'an integer 1..100000');
  if (target.kind === 'serial' && nodes > 1 && target.framing === 'slip' && target.forwarder !== true) {
    throw new UsageError('SLIP carries one node per line: add --forwarder for --nodes > 1');
  }
  if (target.kind === 'serial' && target.xbeeRole === 'host' && nodes > 1) throw new UsageError('--xbee-role host drives one module: one node');
  const qos = num('qos', values.qos, 1, (n) => [-1, 0, 1, 2].includes(n), '-1, 0, 1 or 2') as QoS;
  const protocols = parseProtocols(values.protocol);
  const speaks2 = protocols.includes('2');
  for (const k of ['username', 'password', 'session-expiry'] as const) {
    if (values[k] !== undefined && !speaks2) throw new UsageError(`--${k} applies to MQTT-SN 2.0 nodes: add --protocol 2 (or a list with 2); 1.2 has no ${k === 'session-expiry' ? 'session expiry' : 'authentication'}`);
  }
  if (values.password !== undefined && values.username === undefined) throw new UsageError('--password needs --username (MQTT-BASIC sends both)');
  const keepAlive = num('keep-alive', values['keep-alive'], 60, (n) => int(n) && n >= 0 && n <= 65535, 'seconds 0..65535');
  if (keepAlive === 0 && speaks2) throw new UsageError('--keep-alive 0: MQTT-SN 2.0 cannot turn keep-alive off (MQTT-SN-3.1.6-4); give 1..65535 with --protocol 2');
  const prefix = values['topic-prefix'] ?? 'sim';
  if (prefix === '' || /[+#]/.test(prefix)) throw new UsageError(`--topic-prefix ${JSON.stringify(prefix)}: expected a topic without wildcards`);
  if (values.observe === true && values['no-observe'] === true) throw new UsageError('--observe and --no-observe exclude each other');
  const retryMs = num('retry-ms', values['retry-ms'], 10_000, (n) => int(n) && n >= 1, 'a positive integer (milliseconds)');
  const ramp = num('ramp', values.ramp, Math.min(nodes * 0.01, 10), (n) => n >= 0, 'seconds >= 0');

  return {
    fleet: {
      target,
      nodes,
      profiles: profileNames as ProfileName[],
      rate: num('rate', values.rate, 1, (n) => n > 0 && n <= 10_000, 'publishes per second per node, > 0'),
      qos,
      durationMs: num('duration', values.duration, 10, (n) => n >= 0, 'seconds >= 0') * 1000,
      count: values.count === undefined ? undefined : num('count', values.count, 0, (n) => int(n) && n >= 1, 'a positive integer'),
      keepAlive,
      protocols,
      ...(values.username !== undefined ? { auth: { username: values.username, password: values.password ?? '' } } : {}),
      ...(values['session-expiry'] !== undefined
        ? { sessionExpiry: num('session-expiry', values['session-expiry'], 0, (n) => int(n) && n >= 0 && n <= 0xffffffff, 'seconds 0..4294967295') }
        : {}),
      cleanSession: values['persistent-session'] !== true,
      will: values.will === true,
      sleepSec: num('sleep', values.sleep, 10, (n) => int(n) && n >= 1 && n <= 65535, 'seconds 1..65535'),
      predefinedId: num('predefined-id', values['predefined-id'], 1, (n) => int(n) && n >= 1 && n <= 0xfffe, 'an id 1..65534'),
      clientPrefix: values['client-prefix'] ?? 'sim-',
      topicPrefix: prefix,
      observe: values.observe === true ? true : values['no-observe'] === true ? false : 'auto',
      retryMs,
      maxRetries: num('retries', values.retries, 3, (n) => int(n) && n >= 0 && n <= 100, 'an integer 0..100'),
      rampMs: ramp * 1000,
      drainMs: num('drain', values.drain, 5, (n) => n >= 0, 'seconds >= 0') * 1000,
      seed: num('seed', values.seed, 1, int, 'an integer'),
    },
    json: values.json === true,
    quiet: values.quiet === true,
    expectNoLoss: values['expect-no-loss'] === true,
  };
}

const f = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

export function formatProgress(p: FleetProgress): string {
  return `${(p.elapsedMs / 1000).toFixed(1)}s  nodes ${p.connected}/${p.nodes}  sent ${p.sent}  acked ${p.acknowledged}  received ${p.received}  lost ${p.lost}${p.stopping ? '  (draining)' : ''}`;
}

/** What `lost` counts, in the report's words: a reader must not take acknowledgements for delivery. */
export function lossWording(r: SimReport, topicPrefix: string): string {
  if (r.lossMeasured === 'end-to-end') return `end to end: QoS 1/2 publishes not acknowledged, or acknowledged and never delivered to the run's observers (subscribed under ${topicPrefix}/)`;
  return `acknowledgements only: QoS 1/2 publishes the gateway never acknowledged; delivery not observed (${r.observerNote ?? 'no observer'})`;
}

/** `1.2: 3 nodes (3 connected)   2.0: 3 nodes (2 connected)` */
function formatProtocols(r: SimReport): string {
  return PROTOCOL_VERSIONS.flatMap((v) => {
    const c = r.protocols[v];
    return c ? [`${v === '2' ? '2.0' : v}: ${c.nodes} node(s) (${c.connected} connected)`] : [];
  }).join('   ');
}

export function formatReport(r: SimReport, profileList: string, topicPrefix = 'sim'): string {
  const lines = [
    `firmware-sim report: ${r.nodes.total} node(s) [${profileList}], ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  nodes          connected ${r.nodes.connected}   never connected ${r.nodes.failed}`,
    `  protocols      ${formatProtocols(r)}`,
    `  sent           ${r.sent}`,
    `  acknowledged   ${r.acknowledged}`,
    `  received       ${r.received}`,
    `  lost           ${r.lost}`,
    `    measured     ${lossWording(r, topicPrefix)}`,
    `  duplicates     ${r.duplicates}`,
    `  retransmitted  ${r.retransmissions}`,
    '',
    '  publishes by QoS     sent    acked     lost  refused',
  ];
  for (const q of ['-1', '0', '1', '2'] as const) {
    const c = r.publish[q];
    if (c.sent + c.refused === 0) continue;
    const acked = q === '1' || q === '2' ? String(c.acknowledged) : '-';
    const lost = q === '1' || q === '2' ? String(c.lost) : '-';
    lines.push(`    QoS ${q.padStart(2)}         ${String(c.sent).padStart(8)} ${acked.padStart(8)} ${lost.padStart(8)} ${String(c.refused).padStart(8)}`);
  }
  if (r.endToEnd) {
    const e = r.endToEnd;
    lines.push('', `  end to end     expected ${e.expected}   delivered ${e.delivered}   lost ${e.lost}   duplicates ${e.duplicates}`);
  }
  const kinds = Object.entries(r.latency);
  if (kinds.length > 0) {
    lines.push('', '  latency (ms)        count       p50       p99       max');
    for (const [k, l] of kinds) lines.push(`    ${k.padEnd(14)} ${String(l.count).padStart(8)} ${f(l.p50).padStart(9)} ${f(l.p99).padStart(9)} ${f(l.max).padStart(9)}`);
  }
  const errors = Object.entries(r.errors);
  if (errors.length > 0) lines.push('', `  errors         ${errors.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  const counters = Object.entries(r.counters);
  if (counters.length > 0) lines.push(`  counters       ${counters.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (r.unexpected > 0) lines.push(`  unexpected     ${r.unexpected} frame(s) from the gateway nothing was waiting for`);
  return lines.join('\n');
}

export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  signal?: AbortSignal;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let cfg: CliConfig | undefined;
  try {
    cfg = parseCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`firmware-sim: ${err.message}\nRun with --help for the options.\n`);
    return 2;
  }
  if (!cfg) {
    io.stdout.write(HELP);
    return 0;
  }
  const tty = io.stderr.isTTY === true;
  const onProgress = cfg.quiet
    ? undefined
    : (p: FleetProgress): void => {
        if (tty) io.stderr.write(`\r\x1b[2K${formatProgress(p)}${p.stopping ? '\n' : ''}`);
        else io.stderr.write(`${formatProgress(p)}\n`);
      };
  let report: SimReport;
  try {
    report = await runFleet({ ...cfg.fleet, signal: io.signal, onProgress, progressMs: tty ? 250 : 2000 });
  } catch (err) {
    io.stderr.write(`${tty ? '\n' : ''}firmware-sim: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof SimError && err.code === 'SIM_ERR_BAD_ARGUMENT' ? 2 : 1;
  }
  io.stdout.write(cfg.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report, cfg.fleet.profiles.join(','), cfg.fleet.topicPrefix)}\n`);
  if (cfg.expectNoLoss && report.lost > 0) {
    const how = report.lossMeasured === 'end-to-end' ? 'end to end' : 'never acknowledged';
    io.stderr.write(`firmware-sim: ${report.lost} QoS 1/2 message(s) lost, ${how} (--expect-no-loss)\n`);
    return 1;
  }
  if (cfg.fleet.observe === true && report.lossMeasured !== 'end-to-end') {
    io.stderr.write(`firmware-sim: --observe: delivery could not be observed: ${report.observerNote ?? 'no observer'}\n`);
    return 1;
  }
  if (report.nodes.failed > 0 && report.nodes.connected === 0) {
    io.stderr.write('firmware-sim: no node could connect to the gateway\n');
    return 1;
  }
  return 0;
}

// Run when executed, not when imported (tests import main and parseCli).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ac = new AbortController();
  let interrupted = 0;
  const onSignal = (): void => {
    // First signal: stop and report; second: leave at once.
    if (++interrupted > 1) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: ac.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`firmware-sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
