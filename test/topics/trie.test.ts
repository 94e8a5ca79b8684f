/** TopicTrie: MQTT matching, pair bookkeeping, re-entrancy, scale, and agreement with a reference. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TopicError, TopicErrorCode } from '../../src/topics/errors.js';
import { topicMatchesFilter } from '../../src/topics/topic-names.js';
import { TopicTrie } from '../../src/topics/trie.js';
import { referenceMatch } from './reference.js';

/** Every (value, filter) pair a match visits, sorted, so order does not matter. */
function visits<V>(trie: TopicTrie<V>, topic: string): Array<[V, string]> {
  const out: Array<[V, string]> = [];
  trie.match(topic, (v, f) => out.push([v, f]));
  return out.sort((a, b) => (String(a[0]) + a[1] < String(b[0]) + b[1] ? -1 : 1));
}

function trieOf(filters: string[]): TopicTrie<string> {
  const trie = new TopicTrie<string>();
  for (const f of filters) trie.add(f, f);
  return trie;
}

const matched = (trie: TopicTrie<string>, topic: string): string[] => visits(trie, topic).map(([v]) => v).sort();

describe('TopicTrie matching', () => {
  const filters = ['#', '+', 'a', 'a/#', 'a/+', 'a/b', 'a/+/c', '+/b', '+/#', '/+', 'a//c', '$SYS/#', '$SYS/+', 'sport/tennis/player1/#'];
  const trie = trieOf(filters);

  const expectations: Array<[topic: string, expected: string[]]> = [
    ['a', ['#', '+', '+/#', 'a', 'a/#']],
    ['a/b', ['#', '+/#', '+/b', 'a/#', 'a/+', 'a/b']],
    ['a/x/c', ['#', '+/#', 'a/#', 'a/+/c']],
    ['a//c', ['#', '+/#', 'a/#', 'a/+/c', 'a//c']],
    ['/x', ['#', '+/#', '/+']],
    ['b', ['#', '+', '+/#']],
    ['sport/tennis/player1', ['#', '+/#', 'sport/tennis/player1/#']],
    ['sport/tennis/player1/score/wimbledon', ['#', '+/#', 'sport/tennis/player1/#']],
    // [MQTT-4.7.2-1]: no filter starting with a wildcard matches a '$' topic
    ['$SYS/x', ['$SYS/#', '$SYS/+']],
    ['$SYS', ['$SYS/#']],
    ['$x/b', []],
  ];
  for (const [topic, expected] of expectations) {
    it(`matches ${topic}`, () => {
      assert.deepEqual(matched(trie, topic), [...expected].sort());
      assert.deepEqual(matched(trie, topic), filters.filter((f) => referenceMatch(f, topic)).sort());
    });
  }

  it('hands each visit the filter the value was added under', () => {
    const t = new TopicTrie<number>();
    t.add('a/+', 1);
    t.add('a/#', 1);
    t.add('a/b', 2);
    assert.deepEqual(visits(t, 'a/b'), [
      [1, 'a/#'],
      [1, 'a/+'],
      [2, 'a/b'],
    ]);
  });
});

describe('TopicTrie pairs', () => {
  it('holds a pair once and counts pairs', () => {
    const t = new TopicTrie<string>();
    assert.equal(t.add('a/b', 's1'), true);
    assert.equal(t.add('a/b', 's1'), false);
    assert.equal(t.add('a/b', 's2'), true);
    assert.equal(t.add('a/b', 's3'), true);
    assert.equal(t.add('a/+', 's1'), true);
    assert.equal(t.size, 4);
    assert.deepEqual(visits(t, 'a/b'), [
      ['s1', 'a/+'],
      ['s1', 'a/b'],
      ['s2', 'a/b'],
      ['s3', 'a/b'],
    ]);
    assert.equal(t.has('a/b', 's2'), true);
    assert.equal(t.has('a/b', 's4'), false);
    assert.equal(t.has('a/c', 's1'), false);
  });

  it('removes pairs, leaving the others, and reports unknown ones', () => {
    const t = new TopicTrie<string>();
    for (const v of ['s1', 's2', 's3']) t.add('a/b', v);
    t.add('a/b/c', 's1');
    t.add('a', 's1');
    assert.equal(t.remove('a/b', 's4'), false);
    assert.equal(t.remove('a/x', 's1'), false);
    assert.equal(t.remove('a/b/c/d', 's1'), false);
    assert.equal(t.remove('a/#', 's1'), false);
    assert.equal(t.remove('a/b', 's2'), true);
    assert.equal(t.remove('a/b', 's2'), false);
    assert.deepEqual(matched(t, 'a/b'), ['s1', 's3']);
    assert.equal(t.remove('a/b', 's1'), true);
    assert.equal(t.remove('a/b', 's3'), true);
    assert.deepEqual(matched(t, 'a/b'), []);
    // the node of a/b had to stay for a/b/c, and a/b may come back
    assert.deepEqual(matched(t, 'a/b/c'), ['s1']);
    assert.deepEqual(matched(t, 'a'), ['s1']);
    t.add('a/b', 's5');
    assert.deepEqual(matched(t, 'a/b'), ['s5']);
    assert.equal(t.size, 3);
    for (const [f, v] of [['a/b', 's5'], ['a/b/c', 's1'], ['a', 's1']] as const) assert.equal(t.remove(f, v), true);
    assert.equal(t.size, 0);
    assert.deepEqual(matched(t, 'a/b/c'), []);
  });

  it('removes wildcard pairs', () => {
    const t = trieOf(['#', '+', 'a/+', 'a/#', '+/+']);
    for (const f of ['#', 'a/#', '+/+']) assert.equal(t.remove(f, f), true);
    assert.deepEqual(matched(t, 'a/b'), ['a/+']);
    assert.deepEqual(matched(t, 'a'), ['+']);
  });

  it('refuses filters MQTT does not allow, with a code', () => {
    const t = new TopicTrie<number>();
    for (const f of ['', 'a/#/b', 'a#', 'a+/b', 'x\u0000']) {
      assert.throws(
        () => t.add(f, 1),
        (e: unknown) => e instanceof TopicError && e.code === TopicErrorCode.BAD_TOPIC_FILTER,
      );
    }
    assert.equal(t.size, 0);
  });
});

describe('TopicTrie during a match', () => {
  it('allows a match from inside a visit', () => {
    const t = trieOf(['a/+', 'a/#', 'b/#', 'b/c']);
    const seen: string[] = [];
    t.match('a/x', (v) => {
      seen.push(v);
      t.match('b/c', (inner) => seen.push(`inner:${inner}`));
    });
    assert.deepEqual(seen.sort(), ['a/#', 'a/+', 'inner:b/#', 'inner:b/#', 'inner:b/c', 'inner:b/c'].sort());
    // and the outer stack was left intact: a fresh match still works
    assert.deepEqual(matched(t, 'a/y'), ['a/#', 'a/+']);
  });

  it('survives pairs removed and added by a visit', () => {
    const t = new TopicTrie<number>();
    for (let i = 0; i < 10; i++) t.add(i % 2 === 0 ? 'a/b' : 'a/+', i);
    const seen: number[] = [];
    t.match('a/b', (v, f) => {
      seen.push(v);
      t.remove(f, v);
      t.add('a/#', 100 + v);
    });
    assert.ok(seen.length >= 10);
    assert.equal(t.size, 10);
    assert.deepEqual(
      visits(t, 'a/b').map(([v]) => v).sort((x, y) => x - y),
      Array.from({ length: 10 }, (_, i) => 100 + i),
    );
  });

  it('leaves its stack clean after a visit throws', () => {
    const t = trieOf(['a/+', 'a/#']);
    assert.throws(() =>
      t.match('a/b', () => {
        throw new Error('boom');
      }),
    );
    assert.deepEqual(matched(t, 'a/b'), ['a/#', 'a/+']);
  });

  it('matches topics deeper than any filter and filters deeper than any topic', () => {
    const deep = Array.from({ length: 5000 }, (_, i) => `l${i}`).join('/');
    const t = trieOf([deep, `${deep}/#`, '+/#', 'l0/+']);
    assert.deepEqual(matched(t, deep), ['+/#', deep, `${deep}/#`]);
    assert.deepEqual(matched(t, 'l0/l1'), ['+/#', 'l0/+']);
    const plusDeep = Array.from({ length: 5000 }, () => '+').join('/');
    t.add(plusDeep, 'plus');
    assert.ok(matched(t, deep).includes('plus'));
  });
});

describe('TopicTrie at gateway scale', () => {
  it('indexes 100,000 sessions with 3 subscriptions each and matches by topic', () => {
    const t = new TopicTrie<number>();
    const sessions = 100_000;
    for (let s = 0; s < sessions; s++) {
      t.add(`devices/${s}/cmd`, s);
      t.add(`devices/${s}/config/+`, s);
      t.add(`groups/${s % 100}/#`, s);
    }
    assert.equal(t.size, 3 * sessions);

    // The cost of a match (by depth, not by the 300,000 filters) is measured by `npm run bench`
    // (test/bench/topics.ts); here, that each match finds exactly its session.
    let visited = 0;
    for (let i = 0; i < 100_000; i++) t.match(`devices/${i}/cmd`, (s) => (visited += s === i ? 1 : 1_000_000));
    assert.equal(visited, 100_000);

    const inGroup: number[] = [];
    t.match('groups/7/alarm', (s) => inGroup.push(s));
    assert.equal(inGroup.length, sessions / 100);
    assert.ok(inGroup.every((s) => s % 100 === 7));

    for (let s = 0; s < sessions; s++) {
      assert.equal(t.remove(`devices/${s}/cmd`, s), true);
      assert.equal(t.remove(`devices/${s}/config/+`, s), true);
      assert.equal(t.remove(`groups/${s % 100}/#`, s), true);
    }
    assert.equal(t.size, 0);
  });
});

describe('TopicTrie against the reference matcher', () => {
  // Few level names, so that random filters and topics often meet.
  const level = fc.constantFrom('a', 'b', '', '$s', 'c');
  const topicArb = fc.array(level, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('/')).filter((t) => t.length > 0);
  const filterArb = fc
    .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }), fc.boolean())
    .map(([ls, hash]) => (hash ? [...ls, '#'] : ls).join('/'))
    .chain((f) => fc.constantFrom(f, '#'))
    .filter((f) => f.length > 0);

  it('visits exactly the filters that match, once each', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filterArb, { maxLength: 30 }), fc.array(topicArb, { minLength: 1, maxLength: 20 }), (filters, topics) => {
        const t = trieOf(filters);
        for (const topic of topics) {
          const got = matched(t, topic);
          assert.deepEqual(got, filters.filter((f) => referenceMatch(f, topic)).sort(), `topic ${JSON.stringify(topic)}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('still agrees after random removals', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(filterArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (filters, drop, topics) => {
          const t = trieOf(filters);
          const kept = filters.filter((f, i) => !(drop[i] === true && t.remove(f, f)));
          assert.equal(t.size, kept.length);
          for (const topic of topics) assert.deepEqual(matched(t, topic), kept.filter((f) => referenceMatch(f, topic)).sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('topicMatchesFilter agrees with the reference too', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        assert.equal(topicMatchesFilter(filter, topic), referenceMatch(filter, topic), `${filter} ~ ${topic}`);
      }),
      { numRuns: 5000 },
    );
  });
});
