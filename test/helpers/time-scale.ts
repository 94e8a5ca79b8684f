/**
 * Waits in the tests' process helpers are sized for a native run. Under emulation (`npm run
 * test:arm64` runs the arm64 Node under qemu, where a gateway takes a minute to start) the same
 * steps take many times longer; MQTTSN_TEST_TIME_SCALE stretches these waits, never the
 * behaviour under test. Unset, it is 1.
 */
const raw = Number(process.env.MQTTSN_TEST_TIME_SCALE ?? '1');
export const TIME_SCALE = Number.isFinite(raw) && raw >= 1 ? raw : 1;

/** `ms`, stretched by MQTTSN_TEST_TIME_SCALE. */
export function scaled(ms: number): number {
  return ms * TIME_SCALE;
}
