/**
 * The front end's health rule, tick by tick (the front end counts intervals in ticks of its own
 * timer, so no clock is needed): any datagram is proof of life, a refused probe (the process is
 * gone) takes an instance out after missedProbes silent intervals, silence alone (a stalled
 * process, or a lost host) only after silentProbes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceHealth } from '../../src/frontend/health.js';

// The shipped defaults (src/config/front-end.ts).
const DEFAULTS = { intervalMs: 1000, missedProbes: 3, silentProbes: 10 };

function health(count: number): { h: InstanceHealth; changes: string[] } {
  const changes: string[] = [];
  const h = new InstanceHealth(count, DEFAULTS, (i, up, why) => changes.push(`${i} ${up ? 'in' : 'out'} ${why}`));
  return { h, changes };
}

describe('instance health', () => {
  it('takes a refusing instance out after missedProbes silent intervals, and back at its first datagram', () => {
    const { h, changes } = health(2);
    assert.deepEqual([h.up(0), h.up(1)], [true, true], 'all start in');
    for (let t = 0; t < 3; t++) {
      h.heardFrom(1);
      h.refusedBy(0);
      assert.equal(h.up(0), true, `still in after ${t} silent intervals`);
      h.tick();
    }
    assert.deepEqual([h.up(0), h.up(1)], [false, true]);
    assert.equal(h.anyUp(), true);
    h.heardFrom(0);
    assert.equal(h.up(0), true);
    assert.deepEqual(changes, ['0 out refused', '0 in heard']);
  });

  it('keeps a silent instance whose port does not refuse (busy, stalled) for silentProbes intervals, not missedProbes', () => {
    const { h, changes } = health(1);
    for (let t = 0; t < 9; t++) h.tick();
    assert.equal(h.up(0), true, 'silent 9 intervals without a refusal: still in');
    h.tick();
    assert.equal(h.up(0), false, 'out at the 10th');
    assert.deepEqual(changes, ['0 out silent']);
  });

  it('counts any datagram as proof of life: an instance answering devices but no probe stays in', () => {
    const { h } = health(1);
    for (let t = 0; t < 50; t++) {
      h.refusedBy(0); // even with a stray refusal in between (a probe lost to a restart of the socket)
      h.heardFrom(0);
      h.tick();
    }
    assert.equal(h.up(0), true);
  });

  it('takes a long-silent instance out at the first refusal once missedProbes intervals have passed', () => {
    const { h, changes } = health(1);
    for (let t = 0; t < 5; t++) h.tick();
    assert.equal(h.up(0), true);
    h.refusedBy(0);
    h.tick();
    assert.equal(h.up(0), false);
    assert.deepEqual(changes, ['0 out refused']);
  });

  it('forgets a refusal once the instance speaks again (a restarted process that answers)', () => {
    const { h } = health(1);
    h.refusedBy(0);
    h.tick();
    h.heardFrom(0);
    for (let t = 0; t < 9; t++) h.tick();
    assert.equal(h.up(0), true, 'the refusal before it spoke does not shorten the next silence');
  });

  it('refuses silentProbes below missedProbes', () => {
    assert.throws(() => new InstanceHealth(1, { intervalMs: 1000, missedProbes: 3, silentProbes: 2 }, () => undefined), /silentProbes/);
  });
});
