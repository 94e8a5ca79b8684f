/**
 * A strict RFC 8259 JSON reader for hand-written config files. `JSON.parse` gives the same
 * values, but on Node 20 its syntax errors often carry no position at all, and it silently keeps
 * the last of two equal keys, which hides a real mistake (`"1"` predefined twice). This reader
 * reports the line and column of a syntax error, records where each value sits so validation
 * messages can point into the file, and lists duplicate keys.
 *
 * Values are identical to `JSON.parse` (a property test checks it), including that the last of
 * two equal keys wins and that `"__proto__"` is an ordinary own property.
 */
import { formatPath, type PathSegment } from './path.js';

/** 1-based, columns in UTF-16 code units (what editors show for the ASCII a config is written in). */
export interface TextPosition {
  line: number;
  column: number;
}

export interface DuplicateKey {
  /** path of the property that appears twice, e.g. `predefinedTopics["1"]` */
  path: readonly PathSegment[];
  first: TextPosition;
  second: TextPosition;
}

export type JsonTextResult =
  | {
      ok: true;
      value: unknown;
      /** where each value starts (for a property: where its key starts), by formatted path */
      positions: ReadonlyMap<string, TextPosition>;
      duplicates: readonly DuplicateKey[];
    }
  | { ok: false; message: string; position: TextPosition };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

// Far deeper than any config; the bound only keeps hostile input from overflowing the stack.
const MAX_DEPTH = 512;

export function parseJsonText(text: string): JsonTextResult {
  // Editors on Windows like to save a BOM; it is not content.
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const reader = new Reader(text, start);
  try {
    const value = reader.document();
    return { ok: true, value, positions: reader.positions, duplicates: reader.duplicates };
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      return { ok: false, message: err.message, position: positionAt(text, err.offset) };
    }
    throw err;
  }
}

/** Line and column of a UTF-16 offset. Only `\n` ends a line, so CRLF files count the same. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// Unquoted words are the usual slip (a bare string, True, NaN, undefined).
const VALUE_HINT = ' (strings need double quotes; the literals are true, false and null)';

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Reader {
  readonly positions = new Map<string, TextPosition>();
  readonly duplicates: DuplicateKey[] = [];
  private readonly path: PathSegment[] = [];
  private pos: number;
  // Line bookkeeping advances with `pos`, so recording a position is O(1).
  private line = 1;
  private lineStart = 0;
  private scanned: number;

  constructor(
    private readonly text: string,
    start: number,
  ) {
    this.pos = start;
    this.scanned = start;
  }

  document(): unknown {
    this.skipWhitespace();
    if (this.pos >= this.text.length) throw this.fail('the file is empty; expected a JSON object');
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) {
      throw this.fail(`unexpected ${this.describeHere()} after the end of the JSON document`);
    }
    return value;
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.record();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.word('true', true);
      case 'f':
        return this.word('false', false);
      case 'n':
        return this.word('null', null);
      case undefined: // the text ended where a value was due
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        throw this.fail(`unexpected ${this.describeHere()}; expected a value${VALUE_HINT}`);
    }
  }

  private object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, TextPosition>();
    this.pos++; // {
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') {
        throw this.fail(
          this.text[this.pos] === '}'
            ? 'trailing comma before "}" (JSON allows none)'
            : `unexpected ${this.describeHere()}; expected a property name in double quotes`,
        );
      }
      const keyPosition = this.here();
      const key = this.string();
      this.path.push(key);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        this.duplicates.push({ path: [...this.path], first: earlier, second: keyPosition });
      }
      seen.set(key, keyPosition);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') throw this.fail(`unexpected ${this.describeHere()}; expected ":" after the property name`);
      this.pos++;
      this.skipWhitespace();
      // The key, not the value, is where a reader looks for a property.
      const value = this.valueAt(depth, keyPosition);
      // defineProperty, not assignment: "__proto__" must become an own property as in JSON.parse.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.path.pop();
      if (this.closedOrNext('}', 'a property value')) return out;
    }
  }

  private array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text[this.pos] === ']') throw this.fail('trailing comma before "]" (JSON allows none)');
      this.path.push(out.length);
      out.push(this.value(depth + 1));
      this.path.pop();
      if (this.closedOrNext(']', 'an array item')) return out;
    }
  }

  /** After an item: true past the closing bracket, false past the "," before the next item. */
  private closedOrNext(close: '}' | ']', item: string): boolean {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === close) {
      this.pos++;
      return true;
    }
    if (c !== ',') throw this.fail(`unexpected ${this.describeHere()}; expected "," or "${close}" after ${item}`);
    this.pos++;
    this.skipWhitespace();
    return false;
  }

  /** A property value, recorded at its key's position rather than its own. */
  private valueAt(depth: number, keyPosition: TextPosition): unknown {
    const value = this.value(depth + 1);
    this.positions.set(formatPath(this.path), keyPosition);
    return value;
  }

  private string(): string {
    const open = this.pos;
    this.pos++; // "
    let out = '';
    let chunkStart = this.pos;
    for (;;) {
      const code = this.text.charCodeAt(this.pos);
      if (Number.isNaN(code)) throw this.failAt(open, 'unterminated string (missing closing ")');
      if (code === 0x22) break;
      if (code < 0x20) {
        throw this.fail(
          code === 0x0a
            ? 'unterminated string (a line break inside a string must be written \\n)'
            : `control character U+${code.toString(16).padStart(4, '0').toUpperCase()} inside a string; escape it`,
        );
      }
      if (code === 0x5c) {
        out += this.text.slice(chunkStart, this.pos);
        out += this.escape();
        chunkStart = this.pos;
        continue;
      }
      this.pos++;
    }
    out += this.text.slice(chunkStart, this.pos);
    this.pos++; // "
    return out;
  }

  private escape(): string {
    const c = this.text[this.pos + 1];
    if (c === 'u') {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.fail('invalid \\u escape; expected four hex digits');
      this.pos += 6;
      // A lone surrogate is kept as is, like JSON.parse does.
      return String.fromCharCode(parseInt(hex, 16));
    }
    const replacement = c === undefined ? undefined : ESCAPES[c];
    if (replacement === undefined) {
      throw this.fail(c === undefined ? 'unterminated string (missing closing ")' : `invalid escape "\\${c}" in a string`);
    }
    this.pos += 2;
    return replacement;
  }

  private number(): number {
    const match = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    match.lastIndex = this.pos;
    const m = match.exec(this.text);
    const lexeme = m?.[0] ?? '';
    const next = this.text[this.pos + lexeme.length];
    // Leading zeros, a bare ".", "1." or a dangling exponent: the match stops short of the number.
    if (lexeme === '' || lexeme === '-' || (next !== undefined && /[0-9.eE+-]/.test(next))) {
      throw this.fail(`invalid number "${this.text.slice(this.pos).match(/^[-+0-9.eE]*/)?.[0] ?? ''}"`);
    }
    this.pos += lexeme.length;
    return Number(lexeme);
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw this.fail(`unexpected ${this.describeHere()}; expected a value${VALUE_HINT}`);
    this.pos += word.length;
    return value;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else break;
    }
  }

  private record(): void {
    this.positions.set(formatPath(this.path), this.here());
  }

  private here(): TextPosition {
    for (let i = this.scanned; i < this.pos; i++) {
      if (this.text.charCodeAt(i) === 0x0a) {
        this.line++;
        this.lineStart = i + 1;
      }
    }
    this.scanned = this.pos;
    return { line: this.line, column: this.pos - this.lineStart + 1 };
  }

  /** What is at the cursor, in words a person recognises, with a hint for the usual slips. */
  private describeHere(): string {
    const c = this.text[this.pos];
    if (c === undefined) return 'end of file';
    if (c === '/' && (this.text[this.pos + 1] === '/' || this.text[this.pos + 1] === '*')) {
      return 'comment (JSON has no comments)';
    }
    if (c === "'") return "' (JSON strings use double quotes)";
    const word = /^[A-Za-z_$][\w$]*/.exec(this.text.slice(this.pos, this.pos + 40))?.[0];
    return JSON.stringify(word ?? c);
  }

  private fail(message: string): JsonSyntaxError {
    return new JsonSyntaxError(message, this.pos);
  }

  private failAt(offset: number, message: string): JsonSyntaxError {
    return new JsonSyntaxError(message, offset);
  }
}
