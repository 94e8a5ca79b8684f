/** MQTT bytes written by hand, for tests that send what no client library would. */

/** Remaining Length bytes of a fixed header (MQTT 3.1.1 §2.2.3). */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    const b = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? b | 0x80 : b);
  } while (n > 0);
  return out;
}
