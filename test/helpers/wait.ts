/**
 * Waiting in tests without betting on the machine's speed.
 *
 * `until` waits for what a test needs (a message arrived, a counter moved); its timeout only
 * bounds a failure, so a slow machine makes a test slower, never red.
 *
 * `expectNothing` is the one way to say "X must not happen". Waiting N ms and looking passes when
 * the bad message is merely late, so it first runs a barrier: a marker sent down the same path the
 * bad message would take (a PINGREQ answered by PINGRESP, a later message on the same topic, a
 * flush), awaited until it comes out the other end. Whatever the system did before the marker has
 * then happened, and only then is absence asserted.
 */
import { AssertionError } from 'node:assert';
import { setImmediate as nextTurn } from 'node:timers/promises';

// Taken at load: a test that fakes setTimeout (node:test's mock.timers, for a timer under test)
// can still poll with `until`.
const realSetTimeout = globalThis.setTimeout;

/**
 * Polls `cond` (which may be async) every `everyMs` until it holds; throws naming `what` after
 * `timeoutMs`.
 */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition', everyMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => realSetTimeout(r, everyMs));
  }
}

/**
 * Asserts that nothing unwanted arrived: runs `barrier` (which resolves once a marker sent after
 * the suspect traffic came through the same path), lets the event loop read what the kernel
 * already holds, then throws when `unwanted()` returns anything.
 */
export async function expectNothing(what: string, barrier: () => Promise<unknown>, unwanted: () => readonly unknown[]): Promise<void> {
  await barrier();
  // A datagram or segment queued before the marker's is read in the same poll phase as the
  // marker, but its handler may run after the marker's promise settled: one more turn of the loop.
  await nextTurn();
  const got = unwanted();
  if (got.length > 0) {
    throw new AssertionError({ message: `${what}: expected nothing, got ${JSON.stringify(got)}`, actual: got, expected: [], operator: 'expectNothing' });
  }
}
