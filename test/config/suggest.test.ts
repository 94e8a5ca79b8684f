/** The edit distance behind "did you mean". */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, nearest } from '../../src/config/suggest.js';

describe('config: suggestions', () => {
  it('counts inserts, deletes, substitutions and swaps as one edit each', () => {
    const cases: Array<[string, string, number]> = [
      ['', '', 0],
      ['port', 'port', 0],
      ['', 'abc', 3],
      ['abc', '', 3],
      ['prot', 'port', 1],
      ['prt', 'port', 1],
      ['poort', 'port', 1],
      ['pert', 'port', 1],
      ['kitten', 'sitting', 3],
      ['gateway', 'gatewayId', 2],
    ];
    for (const [a, b, d] of cases) {
      assert.equal(editDistance(a, b), d, `${a} -> ${b}`);
      assert.equal(editDistance(b, a), d, `${b} -> ${a}`);
    }
  });

  it('picks the nearest plausible candidate, or none', () => {
    const keys = ['type', 'host', 'port', 'forwarder', 'advertise', 'maxFrameSize'];
    assert.equal(nearest('prot', keys), 'port');
    assert.equal(nearest('Host', keys), 'host');
    assert.equal(nearest('maxframesize', keys), 'maxFrameSize');
    assert.equal(nearest('advertize', keys), 'advertise');
    assert.equal(nearest('baudRate', keys), undefined);
    assert.equal(nearest('x', keys), undefined);
  });
});
