/** Topic name and filter rules of MQTT 3.1.1 §4.7, and the one-filter matcher. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasWildcards, topicMatchesFilter, validateTopicFilter, validateTopicName } from '../../src/topics/topic-names.js';

const EURO = '\u20ac'; // 3 bytes in UTF-8
const GRIN = '\u{1f600}'; // 4 bytes in UTF-8, a surrogate pair in UTF-16

describe('validateTopicName', () => {
  it('accepts names MQTT allows', () => {
    for (const name of ['a', 'a/b', '/', '/a', 'a/', '//', ' ', 'a b', '$SYS/broker', `\u00e4/${EURO}/${GRIN}`, 'ab']) {
      assert.equal(validateTopicName(name), undefined, name);
    }
  });

  it('rejects empty names, wildcards, U+0000 and unpaired surrogates', () => {
    for (const name of ['', 'a/+', '+', 'a/#', '#', 'a+b', 'a#', 'a\u0000b', '\u0000', '\ud800', 'a\udc00', `${GRIN.charAt(0)}x`, `x${GRIN.charAt(1)}`]) {
      assert.equal(typeof validateTopicName(name), 'string', JSON.stringify(name));
    }
  });

  it('counts UTF-8 bytes, not characters, against the 65535-byte limit', () => {
    assert.equal(validateTopicName('a'.repeat(65535)), undefined);
    assert.match(validateTopicName('a'.repeat(65536)) ?? '', /65535/);
    assert.equal(validateTopicName(EURO.repeat(21845)), undefined); // 65535 bytes
    assert.equal(typeof validateTopicName(EURO.repeat(21845) + 'a'), 'string');
    assert.equal(validateTopicName(GRIN.repeat(16383) + 'abc'), undefined); // 65535 bytes
    assert.equal(typeof validateTopicName(GRIN.repeat(16384)), 'string'); // 65536 bytes
  });
});

describe('validateTopicFilter', () => {
  it('accepts wildcards where §4.7.1 allows them', () => {
    for (const f of ['#', '+', 'a/#', '+/+', 'a/+/b', '/#', '+/', '/+', '//', '+/#', 'sport/tennis/player1/#', '$SYS/#', 'a', `${EURO}/+`]) {
      assert.equal(validateTopicFilter(f), undefined, f);
    }
  });

  it('rejects misplaced wildcards and what names may not contain', () => {
    for (const f of ['', 'a#', 'a/#/b', '#/a', '##', 'a+', '+a', 'a/b+', '+#', '#+', 'sport/tennis#', 'a/\u0000', '\udfff']) {
      assert.equal(typeof validateTopicFilter(f), 'string', JSON.stringify(f));
    }
  });
});

describe('hasWildcards', () => {
  it('finds + and # anywhere', () => {
    assert.equal(hasWildcards('a/b'), false);
    assert.equal(hasWildcards('a/+'), true);
    assert.equal(hasWildcards('#'), true);
    assert.equal(hasWildcards('a+'), true);
  });
});

describe('topicMatchesFilter', () => {
  const cases: Array<[filter: string, topic: string, matches: boolean]> = [
    // §4.7.1.2
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    // §4.7.1.3
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+/#', 'a', true],
    ['a/+/b', 'a//b', true],
    // literal levels
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/b', 'a/b/', false],
    ['a/', 'a', false],
    ['a', 'a/', false],
    ['a//b', 'a//b', true],
    // [MQTT-4.7.2-1] and §4.7.2
    ['#', '$SYS/x', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/#', 'a/$x', true],
  ];
  for (const [filter, topic, expected] of cases) {
    it(`${filter} ${expected ? 'matches' : 'does not match'} ${topic}`, () => {
      assert.equal(topicMatchesFilter(filter, topic), expected);
    });
  }
});
