/** Rendezvous hashing: where the front end sends a device (instance health: health.test.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
