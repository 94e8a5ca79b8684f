/** Shared helpers of `npm run bench`: bounded timing loops and the report table. */
import os from 'node:os';

export interface Row {
  name: string;
  opsPerSec: number;
  baseline: string;
  /** opsPerSec / baselineOps, both measured in the same run */
  ratio: number;
  baselineOps: number;
}

/**
 * Operations per second of a synchronous function: warm up, then take the best of several
 * fixed-time rounds (the best round is the least disturbed by GC and the other core's load).
 */
export function measure(fn: () => void, roundMs = 300, rounds = 5): number {
  const deadline = performance.now() + roundMs;
  while (performance.now() < deadline) for (let i = 0; i < 1000; i++) fn();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    const end = start + roundMs;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
      now = performance.now();
    }
    best = Math.max(best, (n * 1000) / (now - start));
  }
  return best;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

export function table(title: string, rows: Row[]): string {
  const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
  const lines = [`### ${title}`, '', '| operation | ops/s | baseline | baseline ops/s | ratio |', '| --- | ---: | --- | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${r.name} | ${fmt(r.opsPerSec)} | ${r.baseline} | ${fmt(r.baselineOps)} | ${r.ratio.toFixed(2)} |`);
  return lines.join('\n');
}
