import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../src/clock.js';
import { LogThrottle, PeerLineBudget } from '../src/log-throttle.js';
import { ThrottledWarn } from '../src/bridge/throttled-warn.js';
import type { Logger } from '../src/logger.js';

function recorder(): { logger: Logger; lines: { obj: Record<string, unknown>; msg: string }[] } {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const push = (obj: object, msg: string): void => void lines.push({ obj: obj as Record<string, unknown>, msg });
  const noop = (): void => {};
  return { lines, logger: { error: noop, warn: push, info: noop, debug: noop, trace: noop } };
}

describe('LogThrottle', () => {
  it('release hands over what was held back at once and starts a new window', () => {
    const clock = new FakeClock(0);
    const t = new LogThrottle(clock, 1000);
    assert.equal(t.release('a'), 0, 'nothing logged yet, nothing held back');
    assert.equal(t.hit('a'), 0);
    assert.equal(t.hit('a'), undefined);
    assert.equal(t.hit('a'), undefined);
    assert.equal(t.windowEnd('a'), 1000);
    clock.advance(400);
    assert.equal(t.release('a'), 2);
    assert.equal(t.windowEnd('a'), 1400, 'the released count was a line: a new window from then');
    assert.equal(t.hit('a'), undefined);
  });
});

describe('LogThrottle with a burst', () => {
  it('lets the first `burst` of a window through, counts the rest, and starts over in the next window', () => {
    const clock = new FakeClock(0);
    const t = new LogThrottle(clock, 1000, 3);
    assert.deepEqual([t.hit('a'), t.hit('a'), t.hit('a'), t.hit('a'), t.hit('a')], [0, 0, 0, undefined, undefined]);
    assert.equal(t.hit('b'), 0, 'keys have their own budget');
    clock.advance(1000);
    assert.equal(t.hit('a'), 2, 'the first of the next window hands over the count');
    assert.deepEqual([t.hit('a'), t.hit('a'), t.hit('a')], [0, 0, undefined]);
  });
});

describe('PeerLineBudget', () => {
  it('flush() on stop logs what is held back, at the level of the lines', () => {
    const clock = new FakeClock(0);
    const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const at = (level: string) => (obj: object, msg: string): void => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
    const b = new PeerLineBudget(clock, { info: at('info'), warn: at('warn') }, 1000, 2);
    for (let i = 0; i < 5; i++) b.warn({ i }, 'will could not be published');
    assert.equal(lines.length, 2);
    b.flush();
    assert.deepEqual(lines.at(-1), { level: 'warn', obj: { i: 4, heldBack: 3 }, msg: 'will could not be published (and more like it, held back: see heldBack)' });
    clock.advance(1000);
    assert.equal(lines.length, 3, 'the window timer was cancelled by the flush: no second summary');
  });
});

describe('ThrottledWarn', () => {
  it('logs the first at once and, when the window ends, how many were held back with the last fields', () => {
    const clock = new FakeClock(0);
    const { logger, lines } = recorder();
    const w = new ThrottledWarn(clock, logger, 1000, 'more held back');
    for (let i = 0; i < 4; i++) w.warn({ i }, 'refused');
    assert.deepEqual(lines, [{ obj: { i: 0 }, msg: 'refused' }]);
    clock.advance(1000);
    assert.deepEqual(lines.at(-1), { obj: { i: 3, heldBack: 3 }, msg: 'more held back' });
    w.flush();
    assert.equal(lines.length, 2, 'nothing more held back: flush says nothing');
  });
});
