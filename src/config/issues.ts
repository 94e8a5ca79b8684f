/**
 * Turns zod's issues into ours: one per problem, each with the path, the bad value, what is
 * expected (read off the schema itself, so a range is stated once, in the schema) and, for a
 * misspelt key or value, the nearest valid one.
 */
import { z } from 'zod';
import { ConfigIssueCode, type ConfigIssue } from './errors.js';
import { describeParent, formatPath, type PathSegment } from './path.js';
import { nearest } from './suggest.js';

type ZodIssue = z.core.$ZodIssue;
const CODES = new Set<string>(Object.values(ConfigIssueCode));

/** Converts zod issues found while parsing `root` against `schema`. */
export function fromZodIssues(issues: readonly ZodIssue[], schema: z.ZodType, root: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    out.push(...convert(issue, path, schema, root));
  }
  return out;
}

function convert(issue: ZodIssue, path: PathSegment[], schema: z.ZodType, root: unknown): ConfigIssue[] {
  const here = formatPath(path);
  const at = (): z.ZodType | undefined => schemaAt(schema, root, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schemaAt(schema, root, path), valueAt(root, path));
      return issue.keys.map((key) => {
        // The nearest key only: should the config refuse it here (a field the profile makes
        // itself), the next nearest is rarely what was meant, so the list is more honest.
        const best = nearest(key, known);
        const suggestion = best !== undefined && keyAccepted(schema, root, path, key, best) ? best : undefined;
        const hint =
          suggestion === undefined
            ? `known keys: ${known.map((k) => JSON.stringify(k)).join(', ')}`
            : suggestion.toLowerCase() === `${key.toLowerCase()}env`
              ? `did you mean ${JSON.stringify(suggestion)}? It names the environment variable that holds the secret; the secret itself stays out of the file`
              : `did you mean ${JSON.stringify(suggestion)}?`;
        return {
          path: formatPath([...path, key]),
          code: ConfigIssueCode.UNKNOWN_KEY,
          message: `${JSON.stringify(key)} is not a known key of ${describeParent(path)}; ${hint}`,
        };
      });
    }
    case 'invalid_type': {
      const input = valueAt(root, path);
      const expected = expectation(at()) ?? issue.expected;
      if (input === undefined) {
        return [{ path: here, code: ConfigIssueCode.MISSING, message: `missing; expected ${expected}` }];
      }
      return [{ path: here, code: ConfigIssueCode.INVALID_TYPE, message: `got ${describeValue(input)}, expected ${expected}` }];
    }
    case 'too_small':
    case 'too_big': {
      const input = valueAt(root, path);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        const expected = expectation(at()) ?? `a number ${issue.code === 'too_small' ? '>=' : '<='} ${String(issue.code === 'too_small' ? issue.minimum : issue.maximum)}`;
        return [{ path: here, code: ConfigIssueCode.OUT_OF_RANGE, message: `got ${show(input)}, expected ${expected}` }];
      }
      const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
      const unit = issue.origin === 'string' ? 'character' : 'item';
      const n = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      return [
        {
          path: here,
          code: ConfigIssueCode.INVALID_LENGTH,
          message: `got ${describeValue(input)}, expected ${bound} ${unit}${n === 1 ? '' : 's'}`,
        },
      ];
    }
    case 'invalid_value': {
      const input = valueAt(root, path);
      const allowed = acceptedValues(schema, root, path, issue.values);
      return [{ path: here, code: ConfigIssueCode.INVALID_VALUE, message: `got ${show(input)}, expected ${oneOf(allowed.map((v) => JSON.stringify(v)))}${didYouMean(input, allowed)}` }];
    }
    case 'invalid_union': {
      // A discriminated union (transports[i].type) whose discriminator matched no option.
      if (typeof issue.discriminator === 'string' && 'options' in issue) {
        const options = acceptedValues(schema, root, path, issue.options ?? []);
        const input = valueAt(root, path);
        const expected = oneOf(options.map((o) => JSON.stringify(o)));
        if (input === undefined) {
          return [{ path: here, code: ConfigIssueCode.MISSING, message: `missing; expected ${expected}` }];
        }
        return [{ path: here, code: ConfigIssueCode.INVALID_VALUE, message: `got ${show(input)}, expected ${expected}${didYouMean(input, options)}` }];
      }
      return [{ path: here, code: ConfigIssueCode.INVALID, message: `got ${show(valueAt(root, path))}, which matches none of the allowed forms` }];
    }
    case 'custom': {
      // zod types params as Record<string, any>; only ours are set, and read as unknown.
      const code: unknown = issue.params?.code;
      return [{ path: here, code: typeof code === 'string' && CODES.has(code) ? (code as ConfigIssueCode) : ConfigIssueCode.INVALID, message: issue.message }];
    }
    case 'invalid_format':
    case 'invalid_key':
    case 'invalid_element':
    case 'not_multiple_of':
      return [{ path: here, code: ConfigIssueCode.INVALID, message: `got ${show(valueAt(root, path))}: ${issue.message}` }];
  }
}

// ── reading the schema and the input along a path ──────────────────────────────────────────

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else {
      return s;
    }
  }
}

/** The branch of a discriminated union that `input` selects, or the schema itself. */
function resolve(schema: z.ZodType, input: unknown): z.ZodType {
  const s = unwrap(schema);
  if (!(s instanceof z.ZodDiscriminatedUnion)) return s;
  const discriminator = s.def.discriminator;
  const tag = isRecord(input) ? input[discriminator] : undefined;
  for (const option of s.options) {
    const o = unwrap(option as z.ZodType);
    if (!(o instanceof z.ZodObject)) continue;
    const literal = unwrap(o.shape[discriminator] as z.ZodType);
    if (literal instanceof z.ZodLiteral && literal.values.has(tag as z.core.util.Literal)) return o;
  }
  return s;
}

/** The schema of the field at `path` in `root` (a discriminated union resolved by the input), if the schema has one. */
export function schemaAt(schema: z.ZodType, root: unknown, path: readonly PathSegment[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  let input = root;
  for (const segment of path) {
    if (s === undefined) return undefined;
    const r = resolve(s, input);
    if (r instanceof z.ZodObject && typeof segment === 'string' && Object.hasOwn(r.shape, segment)) {
      s = r.shape[segment] as z.ZodType;
    } else if (r instanceof z.ZodArray && typeof segment === 'number') {
      s = r.element as z.ZodType;
    } else if (r instanceof z.ZodRecord) {
      s = r.valueType as z.ZodType;
    } else {
      s = undefined;
    }
    input = isRecord(input) || Array.isArray(input) ? (input as Record<PathSegment, unknown>)[segment] : undefined;
  }
  return s;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const segment of path) {
    if (!(isRecord(v) || Array.isArray(v)) || !Object.hasOwn(v, segment)) return undefined;
    v = (v as Record<PathSegment, unknown>)[segment];
  }
  return v;
}

function knownKeys(schema: z.ZodType | undefined, input: unknown): string[] {
  if (schema === undefined) return [];
  const s = resolve(schema, input);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

// ── words ──────────────────────────────────────────────────────────────────────────────────

/** What a schema accepts, in words: "an integer from 1 to 65535", `"slip", "xbee-api1" or "xbee-api2"`. */
function expectation(schema: z.ZodType | undefined): string | undefined {
  if (schema === undefined) return undefined;
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber) {
    const noun = s.isInt ? 'an integer' : 'a number';
    // z.int() carries the safe-integer range as bounds; those are not worth a mention.
    const min = s.minValue !== null && Math.abs(s.minValue) < Number.MAX_SAFE_INTEGER ? s.minValue : undefined;
    const max = s.maxValue !== null && Math.abs(s.maxValue) < Number.MAX_SAFE_INTEGER ? s.maxValue : undefined;
    if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
    if (min !== undefined) return `${noun} of at least ${min}`;
    if (max !== undefined) return `${noun} of at most ${max}`;
    return noun;
  }
  if (s instanceof z.ZodString) return s.minLength !== null && s.minLength > 0 ? 'a non-empty string' : 'a string';
  if (s instanceof z.ZodBoolean) return 'true or false';
  if (s instanceof z.ZodEnum) return oneOf(s.options.map((o) => JSON.stringify(o)));
  if (s instanceof z.ZodLiteral) return oneOf([...s.values].map((v) => JSON.stringify(v)));
  if (s instanceof z.ZodArray) {
    const min = minItems(s);
    return min === undefined || min === 0 ? 'an array' : `an array of at least ${min} item${min === 1 ? '' : 's'}`;
  }
  if (s instanceof z.ZodDiscriminatedUnion) {
    const tags = s.options.flatMap((option) => {
      const o = unwrap(option as z.ZodType);
      const literal = o instanceof z.ZodObject ? unwrap(o.shape[s.def.discriminator] as z.ZodType) : undefined;
      return literal instanceof z.ZodLiteral ? [...literal.values].map((v) => JSON.stringify(v)) : [];
    });
    return `an object with "${s.def.discriminator}": ${oneOf(tags)}`;
  }
  if (s instanceof z.ZodObject || s instanceof z.ZodRecord) return 'an object';
  return undefined;
}

function minItems(s: z.ZodArray): number | undefined {
  for (const check of s.def.checks ?? []) {
    const def = check._zod.def;
    if (def.check === 'min_length' && 'minimum' in def && typeof def.minimum === 'number') return def.minimum;
  }
  return undefined;
}

function oneOf(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? 'nothing';
  if (items.length === 2) return `${items[0]} or ${items[1]}`;
  return `one of ${items.join(', ')}`;
}

function didYouMean(input: unknown, allowed: readonly unknown[]): string {
  if (typeof input !== 'string') return '';
  const suggestion = nearest(input, allowed.filter((a): a is string => typeof a === 'string'));
  return suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`;
}

// ── hints the rest of the config would refuse ──────────────────────────────────────────────
// A hint must not lead into the next mistake: a value or key that a cross-field rule (a profile,
// the mode) then rejects is not offered. Each check validates a copy with the hint applied; a
// config is small, so this costs nothing a person would notice.

/** The values of `values` that, put at `path`, draw no issue there; all of them when none would pass. */
function acceptedValues(schema: z.ZodType, root: unknown, path: readonly PathSegment[], values: readonly unknown[]): readonly unknown[] {
  const accepted = values.filter((v) => {
    const r = schema.safeParse(withValueAt(root, path, v));
    return r.success || !r.error.issues.some((i) => samePath(i.path, path));
  });
  return accepted.length > 0 ? accepted : values;
}

/** Whether the key `to`, in place of `from` in the object at `path`, is a field the config wants there. */
function keyAccepted(schema: z.ZodType, root: unknown, path: readonly PathSegment[], from: string, to: string): boolean {
  const parent = valueAt(root, path);
  if (!isRecord(parent) || Object.hasOwn(parent, to)) return true;
  const renamed = Object.fromEntries(Object.entries(parent).map(([k, v]) => [k === from ? to : k, v]));
  const r = schema.safeParse(withValueAt(root, path, renamed));
  // Only "this field does not belong here" counts; a bad value under the right key is still the right key.
  return r.success || !r.error.issues.some((i) => samePath(i.path, [...path, to]) && i.code === 'custom' && i.params?.code === ConfigIssueCode.INCONSISTENT);
}

/** A copy of `root` with `value` at `path` (JSON values only, as a config is). */
function withValueAt(root: unknown, path: readonly PathSegment[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [PathSegment, ...PathSegment[]];
  if (Array.isArray(root)) return (root as unknown[]).map((v, i) => (i === head ? withValueAt(v, rest, value) : v));
  if (isRecord(root)) return { ...root, [head]: withValueAt(root[head], rest, value) };
  return root;
}

function samePath(a: readonly PropertyKey[], b: readonly PathSegment[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** A value as it appears in the file, shortened. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
  if (isRecord(value)) return 'an object';
  // String(), not JSON: a value built in code may be Infinity or NaN, which JSON would print as null.
  if (typeof value === 'number') return String(value);
  // Left: strings, numbers, booleans, null; JSON.stringify is undefined only for exotic values from code.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A value with its kind, for type mismatches: `the string "1884"`. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string ${show(value)}`;
  if (typeof value === 'number') return `the number ${show(value)}`;
  return show(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
