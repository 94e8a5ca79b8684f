/** The JSON reader: same values as JSON.parse, plus positions, duplicate keys and located errors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJsonText, positionAt } from '../../src/config/json-text.js';

function syntaxError(text: string): { message: string; line: number; column: number } {
  const r = parseJsonText(text);
  assert.ok(!r.ok, `expected a syntax error for ${JSON.stringify(text)}`);
  return { message: r.message, ...r.position };
}

describe('config: JSON syntax errors have a line and column', () => {
  const cases: Array<[name: string, text: string, line: number, column: number, message: RegExp]> = [
    ['empty file', '', 1, 1, /empty/],
    ['only whitespace', '  \n ', 2, 2, /empty/],
    ['trailing comma in an object', '{\n  "a": 1,\n}', 3, 1, /trailing comma/],
    ['trailing comma in an array', '[1,\n 2,\n]', 3, 1, /trailing comma/],
    ['missing comma', '{\n  "a": 1\n  "b": 2\n}', 3, 3, /expected "," or "}"/],
    ['missing colon', '{"a" 1}', 1, 6, /expected ":"/],
    ['unquoted key', '{\n  port: 1\n}', 2, 3, /double quotes/],
    ['single quotes', "{'a': 1}", 1, 2, /double quotes/],
    ['line comment', '{\n  // note\n  "a": 1\n}', 2, 3, /comment/],
    ['block comment', '[1, /* x */ 2]', 1, 5, /comment/],
    ['unterminated string', '{\n  "a": "abc\n}', 2, 12, /unterminated/],
    ['string cut by the end of the file', '["abc', 1, 2, /unterminated/],
    ['bad escape', '["a\\x"]', 1, 4, /escape/],
    ['bad unicode escape', '["\\u12G4"]', 1, 3, /\\u/],
    ['tab inside a string', '["a\tb"]', 1, 4, /control character/],
    ['leading zero', '[01]', 1, 2, /invalid number/],
    ['bare minus', '[-]', 1, 2, /invalid number/],
    ['dot without digits', '[1.]', 1, 2, /invalid number/],
    ['bad literal', '[tru]', 1, 2, /"tru"/],
    ['NaN', '{"a": NaN}', 1, 7, /"NaN"/],
    ['a second document', '{}\n{}', 2, 1, /after the end/],
    ['unclosed object', '{"a": 1', 1, 8, /end of file/],
    ['unclosed array', '[1, 2', 1, 6, /end of file/],
    ['crlf lines', '{\r\n  "a": 1\r\n  "b": 2\r\n}', 3, 3, /expected "," or "}"/],
  ];
  for (const [name, text, line, column, message] of cases) {
    it(name, () => {
      const e = syntaxError(text);
      assert.deepEqual([e.line, e.column], [line, column], e.message);
      assert.match(e.message, message);
    });
  }
});

describe('config: JSON reader', () => {
  it('records where each value is, properties at their key', () => {
    const r = parseJsonText('{\n  "transports": [\n    { "type": "udp" },\n    {"port": 1}\n  ]\n}');
    assert.ok(r.ok);
    assert.deepEqual(r.positions.get(''), { line: 1, column: 1 });
    assert.deepEqual(r.positions.get('transports'), { line: 2, column: 3 });
    assert.deepEqual(r.positions.get('transports[0]'), { line: 3, column: 5 });
    assert.deepEqual(r.positions.get('transports[0].type'), { line: 3, column: 7 });
    assert.deepEqual(r.positions.get('transports[1].port'), { line: 4, column: 6 });
  });

  it('lists duplicate keys and keeps the last value, like JSON.parse', () => {
    const text = '{"a": {"x": 1,\n "x": 2}, "b": 3, "b": 4}';
    const r = parseJsonText(text);
    assert.ok(r.ok);
    assert.deepEqual(r.value, JSON.parse(text));
    assert.deepEqual(r.duplicates, [
      { path: ['a', 'x'], first: { line: 1, column: 8 }, second: { line: 2, column: 2 } },
      { path: ['b'], first: { line: 2, column: 11 }, second: { line: 2, column: 19 } },
    ]);
  });

  it('makes "__proto__" an own property, as JSON.parse does', () => {
    const r = parseJsonText('{"__proto__": {"polluted": true}}');
    assert.ok(r.ok);
    assert.deepEqual(Object.keys(r.value as object), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(r.value), Object.prototype);
  });

  it('accepts a byte order mark', () => {
    const r = parseJsonText('\uFEFF{"a": 1}');
    assert.ok(r.ok);
    assert.deepEqual(r.value, { a: 1 });
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    const e = syntaxError('['.repeat(100_000));
    assert.match(e.message, /nesting/);
  });

  it('positionAt counts lines and 1-based columns', () => {
    assert.deepEqual(positionAt('ab\ncd', 0), { line: 1, column: 1 });
    assert.deepEqual(positionAt('ab\ncd', 2), { line: 1, column: 3 });
    assert.deepEqual(positionAt('ab\ncd', 3), { line: 2, column: 1 });
  });

  it('gives the same values as JSON.parse (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const r = parseJsonText(text);
        assert.ok(r.ok, text);
        assert.deepEqual(r.value, JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exactly what JSON.parse accepts (property, mutated documents)', () => {
    const alphabet = [...'{}[]:,"\\ \n\t01-.eE+tfnalrsu/\'x'];
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...alphabet)), { maxLength: 3 }))
      .map(([value, edits]) => {
        let text = JSON.stringify(value, null, 1);
        for (const [at, kind, ch] of edits) {
          const i = text.length === 0 ? 0 : at % (text.length + 1);
          if (kind === 0) text = text.slice(0, i) + ch + text.slice(i);
          else if (kind === 1) text = text.slice(0, i) + text.slice(i + 1);
          else text = text.slice(0, i) + ch + text.slice(i + 1);
        }
        return text;
      });
    fc.assert(
      fc.property(mutated, (text) => {
        let expected: { ok: true; value: unknown } | { ok: false };
        try {
          expected = { ok: true, value: JSON.parse(text) as unknown };
        } catch {
          expected = { ok: false };
        }
        const r = parseJsonText(text);
        assert.equal(r.ok, expected.ok, text);
        if (r.ok && expected.ok) assert.deepEqual(r.value, expected.value);
      }),
      { numRuns: 2000 },
    );
  });
});
