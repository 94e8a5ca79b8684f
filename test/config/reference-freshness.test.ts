/**
 * The README's configuration reference is the schema's: regenerated here in memory, it must be
 * what README.md holds between its markers, so a key or `.describe()` text changed without
 * `npm run docs:config` fails the suite instead of leaving the manual wrong.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configJsonSchema } from '../../src/config/index.js';
import { cell, configReference, REFERENCE_END, REFERENCE_START, spliceReference } from '../../src/config/reference.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every description anywhere in the JSON Schema, found by a walk that knows nothing of the generator. */
function descriptions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) descriptions(n, out);
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      // `default` holds example data, not schema: broker.listen's default is a list of objects.
      if (key === 'description' && typeof value === 'string') out.push(value);
      else if (key !== 'default') descriptions(value, out);
    }
  }
  return out;
}

describe('README: configuration reference', () => {
  it('is what `npm run docs:config` writes from the schema', async () => {
    const readme = await readFile(README, 'utf8');
    const fresh = spliceReference(readme, configReference());
    if (fresh !== readme) {
      // Name the first line that differs, so the failure says what changed without a 200-line diff.
      const was = readme.split('\n');
      const now = fresh.split('\n');
      const i = now.findIndex((line, n) => line !== was[n]);
      assert.fail(
        `README.md's configuration reference is out of date with the schema in src/config: run \`npm run docs:config\` and commit README.md.\n` +
          `First difference at README.md line ${i + 1}:\n  README: ${was[i] ?? '(end of file)'}\n  schema: ${now[i] ?? '(end of file)'}`,
      );
    }
  });

  it('shows every key the schema documents, with its description', () => {
    const reference = configReference();
    const schema = configJsonSchema();
    const all = descriptions(schema);
    assert.ok(all.length > 100, `expected the whole schema, found ${all.length} descriptions`);
    // The top-level description names the file; the reference sits under a heading that says it.
    for (const d of all.filter((x) => x !== schema.description)) assert.ok(reference.includes(cell(d)), `the reference lacks: ${d}`);
  });

  it('shows types, defaults and allowed values as the schema has them', () => {
    const reference = configReference();
    const row = (key: string): string => {
      const line = reference.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      assert.ok(line !== undefined, `no row for ${key}`);
      return line;
    };
    assert.match(row('gatewayId'), /\| integer 0 to 255 \| `1` \|/);
    assert.match(row('transports[].framing'), /`"slip"` \\\| `"raw"` \\\| `"xbee-api1"` \\\| `"xbee-api2"` \| `"slip"` \|/);
    assert.match(row('transports[].type'), /\| `"udp"` \| \*\*required\*\* \|/);
    assert.match(row('limits.maxSessions'), /\| integer ≥ 1 \| `100000` \|/);
    assert.match(row('upstream.topics[].direction'), /\| `"out"` \\\| `"in"` \\\| `"both"` \| `"out"` \|/);
    assert.match(row('broker.listen'), /`\[\{"host":"127.0.0.1","port":1883\}\]`/);
    // An optional key without a default shows an empty default, never a made-up one.
    assert.match(row('upstream.clientId'), /\| string \| {2}\|/);
  });

  it('lists the keys of shapes the schema does not use yet: a choice of objects, a map of objects', () => {
    // Other sections will grow; a shape the generator cannot walk must show, not vanish.
    const schema = z.strictObject({
      transports: z.array(z.strictObject({ type: z.literal('udp') })).describe('T.'),
      admission: z
        .union([
          z.strictObject({ kind: z.literal('fair'), share: z.int().min(1).default(4).describe('Fair share.') }).describe('Fair.'),
          z.strictObject({ kind: z.literal('fixed'), cap: z.int().describe('Cap.') }).describe('Fixed.'),
        ])
        .optional()
        .describe('Admission.'),
      budgets: z.record(z.string(), z.strictObject({ perMinute: z.int().default(60).describe('Per minute.') })).default({}).describe('Budgets.'),
    });
    const reference = configReference(z.toJSONSchema(schema, { io: 'input' }));
    // A section of its own, one table per shape, as the transports have.
    assert.match(reference, /\*\*admission with `"kind": "fair"`\*\*: Fair\.\n\n[\s\S]*?\| `admission.share` \| integer ≥ 1 \| `4` \| Fair share\. \|/);
    assert.match(reference, /\*\*admission with `"kind": "fixed"`\*\*: Fixed\.\n\n[\s\S]*?\| `admission.cap` \| integer \| \*\*required\*\* \| Cap\. \|/);
    assert.match(reference, /#### `budgets`\n\nBudgets\. \(object of objects, default `\{\}`\)\n\n[\s\S]*?\| `budgets.<key>.perMinute` \| integer \| `60` \| Per minute\. \|/);
  });

  it('keeps a table cell one cell: pipes, angle brackets and stars are escaped outside code', () => {
    assert.equal(cell('a | b <c> *d* `e|f`'), 'a \\| b &lt;c> \\*d\\* `e\\|f`');
  });

  it('replaces only the text between the markers, and refuses a README without them', () => {
    const readme = `# T\n\nbefore\n${REFERENCE_START}\nold\n${REFERENCE_END}\nafter\n`;
    assert.equal(spliceReference(readme, 'new'), `# T\n\nbefore\n${REFERENCE_START}\nnew\n${REFERENCE_END}\nafter\n`);
    assert.throws(() => spliceReference('# T\n', 'new'), /config-reference:start/);
    assert.throws(() => spliceReference(`${REFERENCE_END}\n${REFERENCE_START}\n`, 'new'), /once each/);
    assert.throws(() => spliceReference(`${REFERENCE_START}\n${REFERENCE_START}\n${REFERENCE_END}\n`, 'new'), /once each/);
  });
});
