/**
 * The aggregating bridge against a scripted upstream (./fake-upstream.ts), the real broker core in
 * process and a fake clock: for the bridge's rules and the profiles' timing, in milliseconds.
 */
import { AggregatingBridge } from '../../src/bridge/aggregating.js';
import { createLocalBroker } from '../../src/broker/local-broker.js';
import type { BrokerCore } from '../../src/broker/types.js';
import { FakeClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/index.js';
import { MemoryOutboundQueue } from '../../src/store/memory-queue.js';
import { FakeUpstream } from './fake-upstream.js';
import { recorder, type LogLine } from './harness.js';

export interface FakeBridgeCtx {
  broker: BrokerCore;
  clock: FakeClock;
  fake: FakeUpstream;
  bridge: AggregatingBridge;
  logs: LogLine[];
  /** publishes into the broker core as an MQTT-SN client would */
  local: (topic: string, payload: string, qos?: 0 | 1 | 2, retain?: boolean) => Promise<void>;
  /** what local subscribers got, with the origin tag */
  seen: Array<{ topic: string; payload: string; qos: number; retain: boolean; origin: string | undefined }>;
}

/** `upstream` goes over `defaults` (url, client id and rules to start from); the bridge is closed after `fn`. */
export async function withFakeBridge(
  defaults: Record<string, unknown>,
  upstream: Record<string, unknown>,
  fn: (ctx: FakeBridgeCtx) => Promise<void> | void,
  opts: { drainMs?: number; random?: () => number } = {},
): Promise<void> {
  const config = parseConfig({
    transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }],
    broker: { listen: [] },
    upstream: { ...defaults, ...upstream },
  }).upstream!;
  const broker = await createLocalBroker();
  const clock = new FakeClock();
  const fake = new FakeUpstream();
  const logs: LogLine[] = [];
  const bridge = new AggregatingBridge({
    config,
    broker,
    connector: fake.connector,
    queue: new MemoryOutboundQueue(config.queue),
    clock,
    logger: recorder(logs),
    random: opts.random ?? (() => 0.999),
    drainMs: opts.drainMs ?? 0,
  });
  const seen: FakeBridgeCtx['seen'] = [];
  await broker.subscribe('#', (m, origin) => seen.push({ topic: m.topic, payload: m.payload.toString(), qos: m.qos, retain: m.retain, origin }));
  await bridge.start();
  try {
    await fn({
      broker,
      clock,
      fake,
      bridge,
      logs,
      seen,
      local: (topic, payload, qos = 1, retain = false) => broker.publish({ topic, payload: Buffer.from(payload), qos, retain }, 'mqttsn'),
    });
  } finally {
    await bridge.close();
    await broker.close();
  }
}

/** [0, 1) values going round a fixed list: backoff jitter that varies, the same on every run. */
export function cyclingRandom(values: readonly number[] = [0, 0.5, 0.999, 0.25, 0.75]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/**
 * Drives connections that drop right after they come up, for `forMs` of fake time, and returns
 * when each was opened: how fast the bridge comes back is all that is left to see.
 */
export function flappingConnects(ctx: Pick<FakeBridgeCtx, 'fake' | 'clock'>, forMs: number): number[] {
  const at: number[] = [];
  let seen = 0;
  for (let t = 0; t <= forMs; t += 10) {
    while (seen < ctx.fake.connections.length) {
      const c = ctx.fake.connections[seen++]!;
      at.push(ctx.clock.now());
      c.accept();
      c.drop();
    }
    ctx.clock.advance(10);
  }
  return at;
}

/** The most of `times` (sorted) that fall within any `windowMs`. */
export function mostWithin(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
