/**
 * The cluster scenario, shared by `npm run test:cluster` (full size), the scaled-down e2e test and
 * the cluster bench: a 3-node NATS cluster behind a TCP balancer, gateway instances in
 * transparent mode behind the UDP front end, simulated devices over real UDP:
 *
 *   publishers  pub-N  REGISTER c/<N mod S>/<N>, PUBLISH QoS 1 "pub-N:<seq>" every interval
 *   subscribers sub-K  SUBSCRIBE c/<K>/# (QoS 1), PINGREQ every keep-alive / 2
 *   sleepers    sl-J   SUBSCRIBE s/<J>, sleep; an MQTT client publishes to s/<J>; they wake later
 *
 * Mid-run one gateway instance is SIGKILLed, later one broker node. Every message a publisher
 * got PUBACK 0x00 for must reach its subscriber (duplicates allowed, counted).
 */
import mqtt from 'mqtt';
import { until } from '../helpers/wait.js';
import { Device, sleep, type DeviceOptions } from './device.js';
import type { GatewayInstance } from './gateway-instance.js';
import { startStack } from './stack.js';

export interface ScenarioOptions {
  instances: number;
  brokerNodes: number;
  publishers: number;
  subscribers: number;
  sleepers: number;
  /** messages the MQTT client sends each sleeper while it sleeps */
  perSleeper: number;
  publishIntervalMs: number;
  keepAliveSec: number;
  sleepSec: number;
  /** from all devices up to the gateway kill, then to the broker kill, then to the end of publishing */
  phaseMs: [number, number, number];
  killGateway: boolean;
  killBroker: boolean;
  /** everything acknowledged must have arrived within this after publishing stopped */
  drainMs: number;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  rows: [string, string][];
  published: number;
  acked: number;
  missing: string[];
  duplicates: number;
  sleeperMissingOnSurvivors: string[];
  sleeperLostWithInstance: number;
  sleeperExpected: number;
  failovers: number[];
  stalls: number[];
  disconnectsFromGateway: number;
  killedInstanceDevices: number;
  wallMs: number;
}

// N_retry 4 (MQTT-SN 1.2 §6.13 suggests 3-5): nginx loses the first three datagrams after an
// instance dies (see the README's Deployment section), the fourth reaches another instance.
const DEVICE: Omit<DeviceOptions, 'keepAliveSec'> = { retryMs: 2000, retries: 4, connectDeadlineMs: 180_000 };

async function inBatches<T>(items: readonly T[], size: number, f: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export function summarize(xs: readonly number[]): string {
  return xs.length === 0 ? '-' : `n=${xs.length} median ${(pct(xs, 50) / 1000).toFixed(1)} s, p95 ${(pct(xs, 95) / 1000).toFixed(1)} s, max ${(Math.max(...xs) / 1000).toFixed(1)} s`;
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const devices: Device[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  try {
    // The front end forgets a quiet device after proxy_timeout: longer than the gateway's own
    // supervision (keep-alive x 1.5) and than a sleeper's sleep.
    const stack = await startStack({ instances: o.instances, brokerNodes: o.brokerNodes, proxyTimeoutSec: Math.ceil(Math.max(o.keepAliveSec * 1.5, o.sleepSec) * 2) });
    cleanup.push(() => stack.stop());
    const { cluster, brokerUrl, instances, front } = stack;
    log(`up: ${o.brokerNodes} NATS nodes, ${o.instances} instances, front end ${front.name} in ${Date.now() - t0} ms`);

    const opts: DeviceOptions = { ...DEVICE, keepAliveSec: o.keepAliveSec };
    const subs = Array.from({ length: o.subscribers }, (_, k) => new Device(`sub-${k}`, front.listen, opts));
    const pubs = Array.from({ length: o.publishers }, (_, n) => new Device(`pub-${n}`, front.listen, opts));
    const sleepers = Array.from({ length: o.sleepers }, (_, j) => new Device(`sl-${j}`, front.listen, opts));
    devices.push(...subs, ...pubs, ...sleepers);
    await inBatches(devices, 100, (d) => d.open());

    // Subscribers and sleepers first, so nothing is published before its subscription exists.
    await inBatches([...subs, ...sleepers], 25, async (d) => {
      await d.connect();
      await d.settled(() => d.subscribe(d.id.startsWith('sub-') ? `c/${d.id.slice(4)}/#` : `s/${d.id.slice(3)}`));
    });
    log(`subscribers and sleepers connected at ${Date.now() - t0} ms`);
    await inBatches(sleepers, 25, (d) => d.settled(() => d.sleep(o.sleepSec)));
    const sleptAt = Date.now();

    const acked = new Set<string>();
    let published = 0;
    let refused = 0;
    let publishing = true;
    const stalls: number[] = [];
    const loops: Promise<void>[] = [];
    // A device loop that fails (no CONNACK 0 within its deadline) is kept and reported at the end.
    const loopErrors: unknown[] = [];
    const keep = (p: Promise<void>): void => void loops.push(p.catch((e: unknown) => void loopErrors.push(e)));
    // Subscribers: a PINGREQ every keep-alive / 2 is what finds a dead instance (DISCONNECT from the next one).
    for (const s of subs) keep(s.run(() => s.ping(), () => Promise.resolve(), () => (o.keepAliveSec * 500) * (0.8 + Math.random() * 0.4)));

    await inBatches(pubs, 25, (d) => d.connect());
    log(`publishers connected at ${Date.now() - t0} ms`);
    for (const p of pubs) {
      const n = Number(p.id.slice(4));
      const topic = `c/${n % o.subscribers}/${n}`;
      let topicId = await p.settled(() => p.register(topic));
      let seq = 0;
      let refusedSince: number | undefined;
      keep(
        p.run(
          async () => {
            if (!publishing) return;
            const payload = `${p.id}:${seq}`;
            published++;
            const rc = await p.publish(topicId, payload);
            if (rc === 0) {
              acked.add(payload);
              seq++;
              if (refusedSince !== undefined) stalls.push(Date.now() - refusedSince);
              refusedSince = undefined;
            } else if (rc === 2) {
              topicId = await p.register(topic);
            } else {
              refused++;
              refusedSince ??= Date.now(); // 0x01: the device's upstream connection is down; same payload again
            }
          },
          async () => {
            topicId = await p.register(topic);
          },
          () => (publishing ? o.publishIntervalMs * (0.5 + Math.random()) : 200),
        ),
      );
    }

    // What the sleepers get while asleep: QoS 1 from a plain MQTT client on the broker cluster.
    const sleeperAcked = new Map<string, string[]>();
    const controller = await mqtt.connectAsync(brokerUrl, { clientId: 'cluster-controller', clean: true, reconnectPeriod: 1000 });
    cleanup.push(async () => {
      await controller.endAsync(true);
    });
    for (const s of sleepers) {
      const j = s.id.slice(3);
      const list: string[] = [];
      for (let m = 0; m < o.perSleeper; m++) {
        const payload = `${s.id}:${m}`;
        await controller.publishAsync(`s/${j}`, payload, { qos: 1 });
        list.push(payload);
      }
      sleeperAcked.set(s.id, list);
    }
    log(`sleepers' messages published at ${Date.now() - t0} ms`);

    await sleep(o.phaseMs[0]);
    let killed: GatewayInstance | undefined;
    const killedDevices = new Set<string>();
    if (o.killGateway && instances[0] !== undefined) {
      killed = instances[0];
      for (const id of await killed.sessionIds()) killedDevices.add(id);
      log(`SIGKILL gateway instance ${killed.options.gatewayId} (pid ${killed.pid}, ${killedDevices.size} devices) at ${Date.now() - t0} ms`);
      killed.kill();
    }

    // The sleepers wake when their sleep is over, and after the kill: the killed instance's
    // sleepers find another instance.
    const wakeAt = Math.max(sleptAt + o.sleepSec * 1000, Date.now() + 2000);
    // Settled at once (an error kept), so a failure surfaces at `await wakes`, not as an unhandled rejection.
    const wakes = (async () => {
      await sleep(Math.max(0, wakeAt - Date.now()));
      await inBatches(sleepers, 25, async (s) => {
        await s.wake();
      });
    })().then(
      () => undefined,
      (e: unknown) => e,
    );

    await sleep(o.phaseMs[1]);
    const victim = cluster.nodes[1];
    if (o.killBroker && victim !== undefined) {
      log(`SIGKILL broker node ${victim.name} (pid ${victim.proc?.pid}) at ${Date.now() - t0} ms`);
      cluster.kill(victim.name);
    }
    await sleep(o.phaseMs[2]);
    publishing = false;
    log(`publishing stopped at ${Date.now() - t0} ms: ${acked.size} acknowledged of ${published} sent`);
    const wakeError = await wakes;
    if (wakeError instanceof Error) throw wakeError;
    if (wakeError !== undefined) throw new Error('a sleeper failed to wake');

    // Every acknowledged message at its subscriber, bounded by drainMs.
    const subOf = (payload: string): Device | undefined => subs[Number(payload.slice(4, payload.indexOf(':'))) % o.subscribers];
    const missingNow = (): string[] => [...acked].filter((m) => subOf(m)?.received.has(m) !== true);
    const sleeperSurvivors = sleepers.filter((s) => !killedDevices.has(s.id));
    const sleeperMissing = (): string[] => sleeperSurvivors.flatMap((s) => (sleeperAcked.get(s.id) ?? []).filter((m) => !s.received.has(m)));
    const drainStart = Date.now();
    // ... and every device of the killed instance back (a CONNECT still under way when publishing
    // stopped, e.g. refused 0x01 while the broker node was lost, is let finish, not cut off).
    const moved = devices.filter((d) => killedDevices.has(d.id));
    const movedBack = (): boolean => moved.every((d) => d.downtimes.length > 0);
    await until(() => missingNow().length === 0 && sleeperMissing().length === 0 && movedBack(), o.drainMs, 'every acknowledged message at its subscriber', 250).catch(() => undefined);
    const drainedMs = Date.now() - drainStart;
    for (const d of devices) d.close();
    await Promise.all(loops);
    if (loopErrors.length > 0) throw new Error(`${loopErrors.length} device loops failed, the first: ${String(loopErrors[0])}`);

    const missing = missingNow();
    let duplicates = 0;
    for (const d of [...subs, ...sleepers]) for (const c of d.received.values()) duplicates += c - 1;
    const failovers = devices.flatMap((d) => d.downtimes);
    const lostSleepers = sleepers.filter((s) => killedDevices.has(s.id));
    const sleeperLost = lostSleepers.reduce((a, s) => a + (sleeperAcked.get(s.id) ?? []).filter((m) => !s.received.has(m)).length, 0);
    const gone = devices.reduce((a, d) => a + d.disconnectsFromGateway, 0);
    const rows: [string, string][] = [
      ['broker nodes / gateway instances / front end', `${o.brokerNodes} / ${o.instances} / ${front.name}`],
      ['devices (publishers + subscribers + sleepers)', `${o.publishers} + ${o.subscribers} + ${o.sleepers}`],
      ['QoS 1 PUBLISH sent / PUBACK 0x00', `${published} / ${acked.size}`],
      ['acknowledged and not delivered', String(missing.length)],
      ['duplicates delivered', String(duplicates)],
      ['gateway killed: its devices', killed === undefined ? '-' : `instance ${killed.options.gatewayId}: ${killedDevices.size}`],
      ['DISCONNECTs from the gateway (failover signal)', String(gone)],
      ['instances taken out of the front end\'s hash', front.takenOut === undefined ? '(not reported)' : String(front.takenOut())],
      ['failovers, instance or broker node lost (first unanswered packet -> CONNACK 0)', summarize(failovers)],
      ['PUBACK 0x01 answers (device upstream connection down)', String(refused)],
      ['publish stall (first 0x01 -> next 0x00; broker node lost)', summarize(stalls)],
      ['sleepers on survivors: messages delivered at wake-up', `${sleeperSurvivors.length * o.perSleeper - sleeperMissing().length} of ${sleeperSurvivors.length * o.perSleeper}`],
      ["sleepers of the killed instance: buffered messages lost", `${sleeperLost} of ${lostSleepers.length * o.perSleeper}`],
      ['drain after publishing stopped', `${(drainedMs / 1000).toFixed(1)} s`],
      ['wall time', `${((Date.now() - t0) / 1000).toFixed(1)} s`],
    ];
    return {
      rows,
      published,
      acked: acked.size,
      missing,
      duplicates,
      sleeperMissingOnSurvivors: sleeperMissing(),
      sleeperLostWithInstance: sleeperLost,
      sleeperExpected: sleepers.length * o.perSleeper,
      failovers,
      stalls,
      disconnectsFromGateway: gone,
      killedInstanceDevices: killedDevices.size,
      wallMs: Date.now() - t0,
    };
  } finally {
    for (const d of devices) d.close();
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
}

export function formatTable(rows: readonly [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)} | ${v}`).join('\n');
}
