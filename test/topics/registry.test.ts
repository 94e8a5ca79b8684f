/** Predefined topic table and per-client topic id registry (MQTT-SN.md §4.5, §4.6, §7). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TopicError, TopicErrorCode } from '../../src/topics/errors.js';
import { TOPIC_ID_MAX } from '../../src/codec/constants.js';
import { PredefinedTopics, TopicRegistry } from '../../src/topics/registry.js';

function badPredefined(table: Record<string, unknown>, subject: string): void {
  assert.throws(
    () => new PredefinedTopics(table as Record<string, string>),
    (e: unknown) => e instanceof TopicError && e.code === TopicErrorCode.BAD_PREDEFINED_TOPIC && e.subject === subject && e.message.includes(subject),
    JSON.stringify(table),
  );
}

describe('PredefinedTopics', () => {
  it('maps ids to names and back', () => {
    const p = new PredefinedTopics({ '1': 'sensors/boot', '65534': 'x/y', '7': 'ab' });
    assert.equal(p.size, 3);
    assert.equal(p.nameOf(1), 'sensors/boot');
    assert.equal(p.nameOf(65534), 'x/y');
    assert.equal(p.idOf('ab'), 7);
    assert.equal(p.nameOf(2), undefined);
    assert.equal(p.idOf('nope'), undefined);
    assert.equal(p.has(7), true);
    assert.equal(p.has(8), false);
    assert.deepEqual([...p.entries()].sort((a, b) => a[0] - b[0]), [
      [1, 'sensors/boot'],
      [7, 'ab'],
      [65534, 'x/y'],
    ]);
    assert.equal(new PredefinedTopics().size, 0);
  });

  it('rejects ids outside 1..65534 or not decimal, naming the entry', () => {
    for (const key of ['0', '65535', '65536', '-1', '1.5', 'x', '', '0x10', ' 1', '1e3']) badPredefined({ [key]: 'a/b' }, key);
  });

  it('rejects invalid names, naming the entry', () => {
    badPredefined({ '3': '' }, '3');
    badPredefined({ '3': 'a/+' }, '3');
    badPredefined({ '3': 'a/#' }, '3');
    badPredefined({ '3': 'a\u0000' }, '3');
    badPredefined({ '3': 5 }, '3');
  });

  it('rejects an id or a name given twice', () => {
    badPredefined({ '1': 'a', '01': 'b' }, '01');
    badPredefined({ '1': 'a', '2': 'a' }, '2');
  });
});

describe('TopicRegistry', () => {
  it('assigns ids from 1 upward, and the same id again for the same name (§4.6)', () => {
    const r = new TopicRegistry();
    assert.equal(r.idFor('a'), 1);
    assert.equal(r.idFor('b'), 2);
    assert.equal(r.idFor('a'), 1);
    assert.equal(r.idFor('ab'), 3); // a 2-character name registered as a normal name (§7)
    assert.equal(r.size, 3);
    assert.equal(r.lookup('b'), 2);
    assert.equal(r.lookup('c'), undefined);
    assert.equal(r.size, 3, 'lookup never assigns');
    assert.equal(r.nameOf(2), 'b');
    assert.equal(r.nameOf(4), undefined);
    assert.equal(r.nameOf(0), undefined);
  });

  it('never hands out an id of the predefined table', () => {
    const p = new PredefinedTopics({ '1': 'p/1', '2': 'p/2', '4': 'p/4' });
    const r = new TopicRegistry(p);
    assert.deepEqual(['a', 'b', 'c'].map((n) => r.idFor(n)), [3, 5, 6]);
    // the predefined name itself can still be registered as a normal name (separate namespaces)
    assert.equal(r.idFor('p/1'), 7);
  });

  it('answers full at the limit, and takes names again once under it', () => {
    const r = new TopicRegistry(undefined, 2);
    assert.equal(r.limit, 2);
    assert.equal(r.idFor('a'), 1);
    assert.equal(r.idFor('b'), 2);
    assert.equal(r.idFor('c'), 'full');
    assert.equal(r.idFor('a'), 1, 'known names still resolve at the limit');
    assert.equal(r.delete(1), true);
    assert.equal(r.delete(1), false);
    assert.equal(r.lookup('a'), undefined);
    assert.equal(r.idFor('c'), 3, 'a fresh id before a freed one');
    assert.equal(new TopicRegistry(undefined, 0).idFor('a'), 'full');
  });

  it('uses every id from 0x0001 to 0xFFFE and never 0x0000 or 0xFFFF', () => {
    const p = new PredefinedTopics({ '100': 'p/100', '65534': 'p/top' });
    const r = new TopicRegistry(p);
    const ids = new Set<number>();
    for (let i = 0; ; i++) {
      const id = r.idFor(`t/${i}`);
      if (id === 'full') break;
      ids.add(id);
    }
    assert.equal(ids.size, TOPIC_ID_MAX - 2);
    assert.ok(!ids.has(0) && !ids.has(0xffff) && !ids.has(100) && !ids.has(65534));
    assert.equal(Math.min(...ids), 1);
    assert.equal(Math.max(...ids), 65533);
  });

  it('reuses freed ids only when fresh ones run out, oldest first', () => {
    const r = new TopicRegistry();
    for (let i = 1; i <= TOPIC_ID_MAX; i++) assert.equal(r.idFor(`t/${i}`), i);
    assert.equal(r.idFor('more'), 'full');
    r.delete(500);
    r.delete(7);
    r.delete(65000);
    assert.deepEqual(['x', 'y', 'z'].map((n) => r.idFor(n)), [500, 7, 65000]);
    assert.equal(r.idFor('w'), 'full');
  });

  // The cost per assignment (O(1), not a scan of the id space) is measured by `npm run bench`
  // (test/bench/topics.ts); here, that churn on a full table always hands out the freed id.
  it('hands out the one freed id under churn on a full id space', () => {
    const r = new TopicRegistry();
    for (let i = 1; i <= TOPIC_ID_MAX; i++) r.idFor(`t/${i}`);
    let name = 0;
    for (let i = 0; i < 200_000; i++) {
      const id = (i * 7919) % TOPIC_ID_MAX + 1;
      if (r.delete(id)) {
        const got = r.idFor(`n/${name++}`);
        assert.equal(got, id, 'the only free id is the one just freed');
      }
    }
    assert.equal(r.size, TOPIC_ID_MAX);
  });

  it('clears to an empty table that starts at 1 again', () => {
    const r = new TopicRegistry();
    r.idFor('a');
    r.idFor('b');
    r.delete(1);
    r.clear();
    assert.equal(r.size, 0);
    assert.equal(r.nameOf(2), undefined);
    assert.equal(r.idFor('c'), 1);
    assert.equal(r.idFor('d'), 2);
  });

  it('round-trips through entries() and restore()', () => {
    const p = new PredefinedTopics({ '3': 'p/3' });
    const r = new TopicRegistry(p);
    for (const n of ['a', 'b', 'c', 'd']) r.idFor(n);
    r.delete(2);
    const saved = r.entries();
    assert.deepEqual(saved, [
      { id: 1, name: 'a' },
      { id: 4, name: 'c' },
      { id: 5, name: 'd' },
    ]);
    const back = new TopicRegistry(p);
    assert.deepEqual(back.restore(saved), []);
    assert.equal(back.lookup('c'), 4);
    assert.equal(back.nameOf(5), 'd');
    assert.equal(back.idFor('a'), 1);
    // new names take ids that are neither restored nor predefined
    assert.deepEqual(['e', 'f', 'g'].map((n) => back.idFor(n)), [2, 6, 7]);
  });

  it('restore leaves out entries it cannot take back, saying why', () => {
    const p = new PredefinedTopics({ '9': 'p/9' });
    const r = new TopicRegistry(p, 2);
    r.idFor('old');
    const rejected = r.restore([
      { id: 1, name: 'a' },
      { id: 0, name: 'zero' },
      { id: 0xffff, name: 'top' },
      { id: 2.5, name: 'frac' },
      { id: 9, name: 'now predefined' },
      { id: 1, name: 'same id' },
      { id: 2, name: 'a' },
      { id: 3, name: 'x/+' },
      { id: 4, name: 'b' },
      { id: 5, name: 'c' },
    ]);
    assert.deepEqual(
      rejected.map((x) => x.entry.name),
      ['zero', 'top', 'frac', 'now predefined', 'same id', 'a', 'x/+'],
    );
    assert.ok(rejected.every((x) => x.reason.length > 0));
    assert.equal(r.lookup('old'), undefined, 'restore replaces the content');
    // the limit is not applied to restored entries, only to new ones
    assert.deepEqual(r.entries().map((e) => e.name), ['a', 'b', 'c']);
    assert.equal(r.idFor('new'), 'full');
  });

  it('refuses a limit outside 0..65534', () => {
    for (const limit of [-1, 65535, 1.5, NaN]) {
      assert.throws(
        () => new TopicRegistry(undefined, limit),
        (e: unknown) => e instanceof TopicError && e.code === TopicErrorCode.BAD_LIMIT,
      );
    }
  });
});
