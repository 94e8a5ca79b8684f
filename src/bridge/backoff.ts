/**
 * Reconnect delays: exponential, capped, with "equal jitter" (a random point in the upper half of
 * the step), so gateways that lost the same broker do not all come back in the same instant, and
 * no delay collapses to nearly zero the way full jitter allows.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * The wait before attempt `attempt` (1 = the first retry after a failure or loss).
 * `random` returns [0, 1).
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  // 2^30 already exceeds any timer; stop doubling there so the number stays finite.
  const step = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  return Math.max(1, Math.round(step / 2 + random() * (step / 2)));
}
