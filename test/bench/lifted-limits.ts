/**
 * The limits the capacity benches lift, in one place (the gateway bench's throughput and connect
 * rows, the memory bench's loads; the admission bench lifts every rate bucket with `LIFTED`).
 */

/** A `limits.rate` bucket out of reach. */
export const LIFTED = { perSecond: 1e7, burst: 1e7 };

/**
 * Capacity is what these loads measure, so the per-peer and per-address rate limits (a flood
 * guard that would otherwise slow each client down under pressure, and every client here shares
 * 127.0.0.1) are lifted, and the session cap raised because 100,000 sessions is the figure asked
 * for (the shipped cap is 100,000 of all states); ADVERTISE is off so it does not show in the
 * figures. Everything else is the shipped config. With the defaults beside them: the memory
 * bench's at-rest row runs the shipped config unchanged, the admission bench measures each rate
 * figure with the shipped defaults beside the same lifted, and
 * test/integration/overload.e2e.test.ts overloads a gateway with the shipped limits.
 */
export const CAPACITY_OVERRIDES = {
  limits: { maxSessions: 250_000, rate: { publishPerPeer: LIFTED, connectPerPeer: LIFTED, connectPerAddress: LIFTED, datagramsPerAddress: LIFTED } },
  timers: { advertiseIntervalSec: 0 },
};
