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
  opts: { drainMs?: number } = {},
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
    random: () => 0.999,
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
