/**
 * The front end's affinity table (devices moved off an instance that was out, and where they
 * went): bounded in entries, counted when full, forgotten after idleMs without a datagram.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AffinityTable } from '../../src/frontend/affinity.js';

describe('affinity table', () => {
  it('remembers at most maxEntries moves; beyond that a move is not remembered and is counted', () => {
    const t = new AffinityTable(3, 60_000);
    for (let d = 0; d < 3; d++) assert.equal(t.set(`d${d}`, 1, 0), true);
    assert.equal(t.set('d3', 2, 1), false, 'full');
    assert.equal(t.set('d4', 2, 2), false, 'still full');
    assert.equal(t.size, 3);
    assert.equal(t.full, 2);
    assert.equal(t.get('d3', 3), undefined, 'the unremembered device is routed by the hash alone');
    // A device already in it can still move again (its entry is rewritten, not added).
    assert.equal(t.set('d0', 2, 4), true);
    assert.equal(t.get('d0', 5), 2);
    assert.equal(t.full, 2);
  });

  it('forgets a device idleMs after its last datagram, and each datagram restarts that clock', () => {
    const t = new AffinityTable(10, 1000);
    t.set('a', 1, 0);
    t.set('b', 2, 0);
    assert.equal(t.get('a', 900), 1, 'a sends at 900 ms');
    assert.equal(t.expire(1500), 1, 'b, idle 1.5 s, is forgotten; a, idle 0.6 s, is not');
    assert.equal(t.get('b', 1500), undefined);
    assert.equal(t.get('a', 1800), 1);
    assert.equal(t.get('a', 2801), undefined, 'idle 1,001 ms when it next sends: it goes home');
    assert.equal(t.size, 0);
  });

  it('makes room from expired entries before counting a move as not remembered', () => {
    const t = new AffinityTable(2, 1000);
    t.set('old', 1, 0);
    t.set('recent', 1, 1500);
    assert.equal(t.set('new', 2, 2000), true, "'old' was idle 2 s: its place is taken");
    assert.equal(t.full, 0);
    assert.deepEqual([t.get('old', 2000), t.get('recent', 2000), t.get('new', 2000)], [undefined, 1, 2]);
  });

  it('forgets a device that went home', () => {
    const t = new AffinityTable(2, 1000);
    t.set('a', 1, 0);
    t.delete('a');
    assert.equal(t.get('a', 1), undefined);
    assert.equal(t.size, 0);
  });

  it('takes 0 entries (no affinity: the hash alone) and refuses a bad bound', () => {
    const t = new AffinityTable(0, 1000);
    assert.equal(t.set('a', 1, 0), false);
    assert.equal(t.full, 1);
    assert.throws(() => new AffinityTable(-1, 1000), /maxEntries/);
    assert.throws(() => new AffinityTable(10, 0), /idle/);
  });
});
