/** Rendezvous hashing and instance health, the two decisions the front end makes per datagram. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InstanceHealth } from '../../src/frontend/health.js';
import { fnv1a, pickInstance } from '../../src/frontend/rendezvous.js';
import { deviceNodeId } from '../../src/transport/front-end-address.js';

const SEEDS = ['10.0.0.11:1884', '10.0.0.12:1884', '10.0.0.13:1884'].map((n) => fnv1a(Buffer.from(n)));
// 3,000 devices behind one NAT address, as a mobile operator's would look: only the port differs.
const KEYS = Array.from({ length: 3000 }, (_v, i) => deviceNodeId('198.51.100.7', 20_000 + i));
const all = (): boolean => true;

describe('rendezvous hashing', () => {
  it('spreads devices that differ only in their port evenly (each instance within a fifth of its share)', () => {
    const counts = [0, 0, 0];
    for (const k of KEYS) counts[pickInstance(k, SEEDS, all)]!++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, JSON.stringify(counts));
  });

  it("moves only a removed instance's devices, and moves them back when it returns", () => {
    const before = KEYS.map((k) => pickInstance(k, SEEDS, all));
    const without1 = KEYS.map((k) => pickInstance(k, SEEDS, (i) => i !== 1));
    for (const [n, was] of before.entries()) {
      if (was === 1) assert.notEqual(without1[n], 1);
      else assert.equal(without1[n], was, 'a device of a live instance stays');
    }
    const moved = without1.filter((x, n) => x !== before[n]).length;
    assert.equal(moved, before.filter((x) => x === 1).length);
    // Both survivors share the orphans, not one of them.
    const to = [0, 2].map((i) => without1.filter((x, n) => before[n] === 1 && x === i).length);
    assert.ok(Math.min(...to) > moved / 4, JSON.stringify(to));
    assert.deepEqual(KEYS.map((k) => pickInstance(k, SEEDS, all)), before);
  });

  it('gives -1 when no instance is usable', () => assert.equal(pickInstance(KEYS[0]!, SEEDS, () => false), -1));
});

describe('instance health', () => {
  it('takes an instance out after missedProbes silent intervals, and back at its first datagram', () => {
    const changes: Array<[number, boolean]> = [];
    const h = new InstanceHealth(2, { intervalMs: 1000, missedProbes: 3 }, (i, up) => changes.push([i, up]));
    assert.deepEqual([h.up(0), h.up(1)], [true, true], 'all start in');
    for (let t = 0; t < 3; t++) {
      h.heardFrom(1);
      assert.equal(h.up(0), true, `still in after ${t} silent intervals`);
      h.tick();
    }
    assert.deepEqual([h.up(0), h.up(1)], [false, true]);
    assert.equal(h.anyUp(), true);
    h.heardFrom(0);
    assert.equal(h.up(0), true);
    assert.deepEqual(changes, [
      [0, false],
      [0, true],
    ]);
  });
});
