/**
 * "Did you mean" for unknown keys and enum values. A config file is written by hand, so the
 * likely slips are a swapped pair (`prot`), a dropped or doubled letter and the wrong case; the
 * optimal-string-alignment distance counts each of those as one edit.
 */

/** Edit distance where insert, delete, substitute and swapping two neighbours each cost 1. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2]! + 1);
      }
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length]!;
}

/**
 * The candidates near enough to `word` to be a plausible slip, best first. Case is ignored
 * (`Port` is `port`), and the allowed distance grows with the word so that a long key with two
 * slips still matches while `id` is not "corrected" into `gatewayId`.
 *
 * Ahead of distance comes purpose: `<word>Env` is the field for a secret written inline
 * (`deviceKey` means `deviceKeyEnv`, not the equally near `deviceId`), and among equally near
 * candidates one that extends the word (the rest left off) wins over one that replaces part of it.
 */
export function ranked(word: string, candidates: Iterable<string>): string[] {
  const w = word.toLowerCase();
  const scored: Array<{ candidate: string; rank: number; distance: number }> = [];
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const d = editDistance(w, c);
    const limit = Math.max(1, Math.min(3, Math.floor(Math.max(w.length, c.length) / 3)));
    const isEnvField = c === `${w}env`;
    if (d > limit && !isEnvField) continue;
    scored.push({ candidate, rank: isEnvField ? 0 : c.startsWith(w) ? 1 : 2, distance: d });
  }
  // Distance first, then purpose; only the *Env field jumps the queue outright.
  scored.sort((a, b) => (a.rank === 0) !== (b.rank === 0) ? a.rank - b.rank : a.distance - b.distance || a.rank - b.rank);
  return scored.map((s) => s.candidate);
}

/** The best of {@link ranked}, or undefined when none is near enough. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  return ranked(word, candidates)[0];
}
