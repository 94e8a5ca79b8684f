/** Run statistics: percentiles within the histogram's 1 % and end-to-end accounting. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, RunStats } from '../../firmware-sim/stats.js';

describe('Histogram', () => {
  it('gives percentiles within 1 % of the exact ones', () => {
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 1; i <= 10_000; i++) {
      const v = (i * 7919) % 5000 / 10 + 0.05;
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const got = h.quantile(q);
      assert.ok(Math.abs(got - exact) / exact <= 0.011, `q${q}: ${got} vs ${exact}`);
    }
    assert.equal(h.count, 10_000);
    assert.equal(h.quantile(1), h.max);
  });

  it('is exact enough below 1 ms', () => {
    const h = new Histogram();
    for (const v of [0.12, 0.15, 0.2]) h.record(v);
    // Within one 0.01 ms bucket.
    assert.ok(Math.abs(h.quantile(0.5) - 0.15) <= 0.011);
  });
});

describe('RunStats', () => {
  it('counts publishes by QoS, refusals as lost, end-to-end loss and duplicates', () => {
    const s = new RunStats(() => 0);
    s.sent('publish1');
    s.done('publish1', 3);
    s.sent('publish1');
    s.failed('publish1', 'SIM_ERR_TIMEOUT');
    s.refused('publish2', 'SIM_ERR_NOT_CONNECTED');
    s.sent('publish0');
    s.observeEndToEnd();
    s.published('a#1', true);
    s.published('a#2', true);
    s.published('a#3', false);
    s.delivered('a#1');
    s.delivered('a#1');
    const r = s.report();
    assert.equal(r.sent, 3);
    assert.equal(r.acknowledged, 1);
    assert.deepEqual(r.publish['1'], { sent: 2, acknowledged: 1, lost: 1, refused: 0 });
    assert.deepEqual(r.publish['2'], { sent: 0, acknowledged: 0, lost: 1, refused: 1 });
    assert.deepEqual(r.endToEnd, { expected: 2, delivered: 1, lost: 1, duplicates: 1 });
    assert.equal(r.lost, 3);
    assert.equal(r.duplicates, 1);
    assert.deepEqual(r.errors, { SIM_ERR_TIMEOUT: 1, SIM_ERR_NOT_CONNECTED: 1 });
    assert.equal(r.lossMeasured, 'end-to-end');
  });

  it('without an observer counts as lost only what was never acknowledged, and says so', () => {
    // The README demo's bug: every publish acknowledged, none observed, all reported lost.
    const s = new RunStats(() => 0);
    s.notObserved('--no-observe');
    for (let i = 1; i <= 3; i++) {
      s.published(`a#${i}`, true);
      s.sent('publish1');
      s.done('publish1', 1);
    }
    s.published('a#4', true);
    s.sent('publish1');
    s.failed('publish1', 'SIM_ERR_TIMEOUT');
    s.abandoned('a#4');
    const r = s.report();
    assert.equal(r.acknowledged, 3);
    assert.equal(r.lost, 1, 'the one never acknowledged');
    assert.equal(r.endToEnd, undefined, 'nothing claimed end to end');
    assert.equal(r.lossMeasured, 'acknowledgements');
    assert.equal(r.observerNote, '--no-observe');
  });
});
