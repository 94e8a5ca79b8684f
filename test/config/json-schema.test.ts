/** The JSON Schema export: complete, documented, and what the build writes to disk. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configJsonSchema, defaultConfig, writeConfigSchema } from '../../src/config/index.js';

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Json;
};

/** Every property schema of every object in the schema, with its path. */
function* properties(schema: Json, path = ''): Generator<[string, Json]> {
  for (const [key, value] of Object.entries(asObject(schema.properties ?? {}))) {
    const child = asObject(value);
    yield [`${path}.${key}`, child];
    yield* properties(child, `${path}.${key}`);
    if (child.items !== undefined) {
      const items = asObject(child.items);
      const variants = Array.isArray(items.oneOf) ? (items.oneOf as unknown[]).map(asObject) : [items];
      for (const [i, v] of variants.entries()) yield* properties(v, `${path}.${key}[${i}]`);
    }
  }
}

describe('config: JSON Schema export', () => {
  const schema = configJsonSchema();

  it('is an object describing every top-level key', () => {
    const props = asObject(schema.properties);
    for (const key of ['$schema', 'gatewayId', 'transports', 'predefinedTopics', 'qosMinusOne', 'broker', 'limits', 'timers', 'log']) {
      assert.ok(key in props, `missing ${key}`);
    }
    assert.deepEqual(schema.required, ['transports']);
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.type, 'object');
  });

  it('documents every property', () => {
    for (const [path, prop] of properties(schema)) {
      const documented = typeof prop.description === 'string' && prop.description.length > 0;
      assert.ok(documented, `${path} has no description`);
    }
  });

  it('carries the same defaults as the parser', () => {
    const props = asObject(schema.properties);
    const config = defaultConfig();
    assert.equal(asObject(props.gatewayId).default, config.gatewayId);
    const timers = asObject(asObject(props.timers).properties);
    assert.equal(asObject(timers.retryMs).default, config.timers.retryMs);
  });

  it('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
  });

  it('writeConfigSchema writes it to a file, creating folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-schema-'));
    try {
      const file = join(dir, 'dist', 'gateway.config.schema.json');
      await writeConfigSchema(file);
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), schema);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
