/**
 * The dashboard's live rates, read from the same prom-client registry that `/metrics` serves
 * (no second set of counters): once a second the counters are collected, and the difference to
 * the previous reading is the rate. The last minutes of readings are kept for the chart.
 */
import type { Registry } from 'prom-client';
import { METRIC_PREFIX } from './metrics.js';

/** Running totals of the counters the dashboard shows; the frames per transport are also shown as they are. */
export interface CounterTotals {
  /** PUBLISH from clients, by QoS (-1, 0, 1, 2) */
  inByQos: Record<string, number>;
  /** PUBLISH to clients, by QoS */
  outByQos: Record<string, number>;
  connects: number;
  dropsByReason: Record<string, number>;
  decodeErrors: number;
  /** frames per transport name */
  framesIn: Record<string, number>;
  framesOut: Record<string, number>;
}

/** The same figures as the totals, per second between two readings; `at` is the later one's wall clock (ms). */
export interface RateSample extends CounterTotals {
  at: number;
}

/** 5 minutes at one reading a second: a few hundred small objects, light enough for a Pi. */
export const HISTORY_SAMPLES = 300;

async function byLabel(registry: Registry, name: string, label: string, only?: (labels: Record<string, string | number>) => boolean): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(METRIC_PREFIX + name);
  const out: Record<string, number> = {};
  if (metric === undefined) return out;
  // get() runs the metric's collect(): the value is read from the gateway's counters now.
  const data = await metric.get();
  for (const v of data.values) {
    const labels = v.labels as Record<string, string | number>;
    if (only !== undefined && !only(labels)) continue;
    const key = String(labels[label] ?? '');
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export async function readTotals(registry: Registry): Promise<CounterTotals> {
  const [inByQos, outByQos, connects, dropsByReason, decode, framesIn, framesOut] = await Promise.all([
    byLabel(registry, 'publish_received_total', 'qos'),
    byLabel(registry, 'publish_sent_total', 'qos'),
    byLabel(registry, 'packets_received_total', 'type', (l) => l.type === 'CONNECT'),
    byLabel(registry, 'dropped_total', 'reason'),
    byLabel(registry, 'decode_errors_total', 'code'),
    byLabel(registry, 'transport_frames_received_total', 'transport'),
    byLabel(registry, 'transport_frames_sent_total', 'transport'),
  ]);
  return { inByQos, outByQos, connects: sum(connects), dropsByReason, decodeErrors: sum(decode), framesIn, framesOut };
}

function delta(now: Record<string, number>, before: Record<string, number>, perSec: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) out[k] = Math.max(0, v - (before[k] ?? 0)) / perSec;
  return out;
}

/** The rate between two readings `seconds` apart. */
export function rateBetween(now: CounterTotals, before: CounterTotals, seconds: number, at: number): RateSample {
  const s = seconds > 0 ? seconds : 1;
  return {
    at,
    inByQos: delta(now.inByQos, before.inByQos, s),
    outByQos: delta(now.outByQos, before.outByQos, s),
    connects: Math.max(0, now.connects - before.connects) / s,
    dropsByReason: delta(now.dropsByReason, before.dropsByReason, s),
    decodeErrors: Math.max(0, now.decodeErrors - before.decodeErrors) / s,
    framesIn: delta(now.framesIn, before.framesIn, s),
    framesOut: delta(now.framesOut, before.framesOut, s),
  };
}

export interface RateSampler {
  /** the readings of the last minutes, oldest first */
  history(): readonly RateSample[];
  /** the latest running totals */
  totals(): CounterTotals | undefined;
  /** called after each new sample */
  onSample(listener: (s: RateSample) => void): () => void;
  stop(): void;
}

/** Reads the registry every `intervalMs` (1 s) until stopped; the timer does not keep the process up. */
export function startRateSampler(registry: Registry, intervalMs = 1000, onError: (err: unknown) => void = () => undefined): RateSampler {
  const samples: RateSample[] = [];
  const listeners = new Set<(s: RateSample) => void>();
  let last: { totals: CounterTotals; at: number } | undefined;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const totals = await readTotals(registry);
      const at = Date.now();
      if (last !== undefined) {
        const s = rateBetween(totals, last.totals, (at - last.at) / 1000, at);
        samples.push(s);
        if (samples.length > HISTORY_SAMPLES) samples.shift();
        for (const l of listeners) l(s);
      }
      last = { totals, at };
    } catch (err) {
      onError(err);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    history: () => samples,
    totals: () => last?.totals,
    onSample(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => clearInterval(timer),
  };
}
