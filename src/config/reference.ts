/**
 * The README's configuration reference, made from the same schema the gateway validates with:
 * every key with its type, default and `.describe()` text, one table per top-level section. It
 * reads the JSON Schema that json-schema.ts derives from zod (the form editors get), so the
 * reference, the editor's hints and the parser cannot disagree. Pure: text in, text out;
 * write-reference.ts puts it into README.md.
 */
import { configJsonSchema } from './json-schema.js';

export const REFERENCE_START = '<!-- config-reference:start -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

type Json = Record<string, unknown>;

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const objectAt = (v: unknown): Json => (isObject(v) ? v : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Markdown-safe table cell: `|` would end the cell, `<x>` would be taken for HTML, `*` and `_`
 * for emphasis. Code spans (between backticks) are left as they are, except for `|`.
 */
export function cell(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .trim()
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part.replace(/\|/g, '\\|') : part.replace(/[\\*_|]/g, (c) => `\\${c}`).replace(/</g, '&lt;')))
    .join('`');
}

const code = (v: unknown): string => {
  const s = JSON.stringify(v);
  // A code span holding a backtick needs a longer fence; no default has one, but stay correct.
  return s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``;
};

/** A union member that only says "or null" (the nullable upstream section). */
const isNull = (n: Json): boolean => n.type === 'null';

/** The object (or other) variant of a nullable node, and whether null was allowed. */
function unwrapNullable(node: Json): { node: Json; nullable: boolean } {
  const variants = Array.isArray(node.anyOf) ? (node.anyOf as unknown[]).map(objectAt) : undefined;
  if (variants === undefined || !variants.some(isNull)) return { node, nullable: false };
  const rest = variants.filter((v) => !isNull(v));
  if (rest.length !== 1) return { node, nullable: true };
  // The wrapper carries description and default; the variant carries the shape.
  return { node: { ...rest[0], description: node.description, default: node.default }, nullable: true };
}

// zod's z.int() without a bound says ±MAX_SAFE_INTEGER: no bound a reader needs to see.
const bound = (v: unknown): number | undefined => (typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);

function range(n: Json): string {
  const min = bound(n.minimum);
  const max = bound(n.maximum);
  const exMin = typeof n.exclusiveMinimum === 'number' ? n.exclusiveMinimum : undefined;
  if (min !== undefined && max !== undefined) return ` ${min} to ${max}`;
  if (exMin !== undefined) return ` > ${exMin}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/** How the type column reads: `integer 0 to 255`, `"slip" | "raw"`, `array of objects, at least 1`. */
export function typeOf(node: Json): string {
  if (node.const !== undefined) return code(node.const);
  if (Array.isArray(node.enum)) return node.enum.map(code).join(' \\| ');
  if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf)) {
    const variants = ((node.anyOf ?? node.oneOf) as unknown[]).map(objectAt);
    return [...new Set(variants.map(typeOf))].join(' or ');
  }
  switch (node.type) {
    case 'integer':
    case 'number':
      return `${node.type}${range(node)}`;
    case 'array': {
      const items = objectAt(node.items);
      const scalar = typeof items.type === 'string' && items.type !== 'object' && items.const === undefined && items.enum === undefined;
      const of = scalar ? `${items.type as string}s${range(items) === '' ? '' : ` (${range(items).trim()})`}` : items.type === 'object' || items.oneOf !== undefined ? 'objects' : typeOf(items);
      const atLeast = typeof node.minItems === 'number' && node.minItems > 0 ? `, at least ${node.minItems}` : '';
      return `array of ${of}${atLeast}`;
    }
    case 'object':
      return isObject(node.additionalProperties) ? `object of ${typeOf(node.additionalProperties)}s` : 'object';
    case 'string':
    case 'boolean':
    case 'null':
      return node.type;
    default:
      return JSON.stringify(node.type ?? 'any');
  }
}

function defaultOf(node: Json, required: boolean): string {
  if (required) return '**required**';
  if (!('default' in node)) return '';
  const d = node.default;
  // An object section defaults to {}: each of its keys has its own default, listed below it.
  if (isObject(d) && Object.keys(d).length === 0 && isObject(node.properties)) return '';
  return code(d);
}

/** The `type: "udp"`-style property that tells the variants of a union apart, if there is one. */
function discriminator(variant: Json): { key: string; value: unknown } | undefined {
  for (const [key, prop] of Object.entries(objectAt(variant.properties))) {
    if (objectAt(prop).const !== undefined) return { key, value: objectAt(prop).const };
  }
  return undefined;
}

const variantLabel = (variant: Json): string => {
  const d = discriminator(variant);
  return d === undefined ? 'one form' : `"${d.key}": ${JSON.stringify(d.value)}`;
};

/** The rows of every key below `node`, depth first, each keyed by its full path. */
function childRows(node: Json, path: string, note = ''): Row[] {
  const rows: Row[] = [];
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  for (const [key, value] of Object.entries(objectAt(node.properties))) {
    rows.push(...rowsOf(objectAt(value), `${path}.${key}`, required.has(key), note));
  }
  if (isObject(node.additionalProperties)) {
    rows.push(...rowsOf(node.additionalProperties, `${path}.<key>`, false, note));
  }
  return rows;
}

function rowsOf(raw: Json, path: string, required: boolean, note: string): Row[] {
  const { node, nullable } = unwrapNullable(raw);
  let description = text(node.description);
  if (nullable) description += ' May be null.';
  const row: Row = { key: path, type: typeOf(node), default: defaultOf(node, required), description: note + description };
  const rows = [row];
  if (node.type === 'object') rows.push(...childRows(node, path, note));
  // A key that takes one of several object shapes: each shape's keys, named by what tells it apart.
  const shapes = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : [];
  for (const v of (shapes as unknown[]).map(objectAt)) if (v.type === 'object') rows.push(...childRows(v, path, `${note}With ${variantLabel(v)}: `));
  if (node.type === 'array') {
    const items = objectAt(node.items);
    const variants = Array.isArray(items.oneOf) ? (items.oneOf as unknown[]).map(objectAt) : [items];
    if (variants.length === 1 && text(items.description) !== '') row.description += ` Each entry: ${text(items.description)}`;
    for (const v of variants) {
      const sub = variants.length > 1 ? `${note}With ${variantLabel(v)}: ` : note;
      if (v.type === 'object') rows.push(...childRows(v, `${path}[]`, sub));
    }
  }
  return rows;
}

function table(rows: readonly Row[]): string {
  const lines = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const r of rows) lines.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${cell(r.description)} |`);
  return lines.join('\n');
}

/** A section's heading, its description, and its table(s): one per variant of a list of unions. */
function section(key: string, raw: Json, required: boolean): string {
  const { node, nullable } = unwrapNullable(raw);
  const parts = [`#### \`${key}\``, ''];
  // A plain object section needs no note: its keys below say it all.
  const type = nullable ? `${typeOf(node)} or null` : typeOf(node) === 'object' ? '' : typeOf(node);
  const what = [type, required ? 'required' : defaultOf(node, false) === '' ? '' : `default ${defaultOf(node, false)}`].filter((s) => s !== '').join(', ');
  parts.push(`${cell(text(node.description))}${what === '' ? '' : ` (${what})`}`, '');
  const shapes = objectShapes(node);
  if (shapes.length > 1) {
    const at = node.type === 'array' ? `${key}[]` : key;
    for (const variant of shapes) {
      parts.push(`**${at} with \`${variantLabel(variant)}\`**: ${cell(text(variant.description))}`, '', table(childRows(variant, at)), '');
    }
  } else {
    const rows = node.type === 'array' ? rowsOf(node, key, required, '').slice(1) : childRows(node, key);
    parts.push(table(rows), '');
  }
  return parts.join('\n');
}

/** The object shapes a key (or, for a list, each entry) may take when there is a choice of them. */
function objectShapes(node: Json): Json[] {
  const of = node.type === 'array' ? objectAt(node.items) : node;
  const choice = Array.isArray(of.oneOf) ? of.oneOf : Array.isArray(of.anyOf) ? of.anyOf : [];
  return (choice as unknown[]).map(objectAt).filter((v) => v.type === 'object');
}

/** A top-level key is a section when it has keys of its own (an object, a choice of objects, or a list of them). */
function isSection(raw: Json): boolean {
  const { node } = unwrapNullable(raw);
  if (objectShapes(node).length > 0) return true;
  if (node.type === 'object') return (isObject(node.properties) && Object.keys(node.properties).length > 0) || objectAt(node.additionalProperties).type === 'object';
  return node.type === 'array' && objectAt(node.items).type === 'object';
}

/** The reference as markdown, without the markers. Deterministic: the schema's key order. */
export function configReference(schema: Json = configJsonSchema()): string {
  const top = objectAt(schema.properties);
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const scalars: Row[] = [];
  const sections: string[] = [];
  for (const [key, value] of Object.entries(top)) {
    const node = objectAt(value);
    if (isSection(node)) sections.push(section(key, node, required.has(key)));
    else scalars.push(...rowsOf(node, key, required.has(key), ''));
  }
  return [
    '<!-- Generated by `npm run docs:config` from the zod schema in src/config: edit the .describe() texts there, not here. -->',
    '',
    '#### Top level',
    '',
    table(scalars),
    '',
    ...sections,
  ]
    .join('\n')
    .trimEnd();
}

/**
 * `readme` with the text between the markers replaced by `reference`. Throws when the markers
 * are missing, repeated or out of order: the script must not guess where the reference goes.
 */
export function spliceReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  const once = (m: string): boolean => readme.indexOf(m) === readme.lastIndexOf(m);
  if (start === -1 || end === -1 || end < start || !once(REFERENCE_START) || !once(REFERENCE_END)) {
    throw new Error(`README.md must hold ${REFERENCE_START} and then ${REFERENCE_END}, once each, where the configuration reference goes`);
  }
  return `${readme.slice(0, start + REFERENCE_START.length)}\n${reference}\n${readme.slice(end)}`;
}
