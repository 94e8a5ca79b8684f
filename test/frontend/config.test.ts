/** The front end's health and affinity keys in its config file: the shipped defaults, and bad values named. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFrontEndConfig } from '../../src/config/front-end.js';
import { ConfigError } from '../../src/config/errors.js';

const dirs: string[] = [];
async function load(config: unknown): Promise<Awaited<ReturnType<typeof loadFrontEndConfig>>> {
  const dir = await mkdtemp(join(tmpdir(), 'fe-config-'));
  dirs.push(dir);
  const path = join(dir, 'front-end.json');
  await writeFile(path, JSON.stringify(config));
  return loadFrontEndConfig(path);
}

const MINIMAL = { instances: [{ host: '10.0.1.1', port: 1884 }] };

describe('front end config: health and affinity', () => {
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('gives the minimal file the stated defaults', async () => {
    const c = await load(MINIMAL);
    assert.deepEqual(c.health, { intervalMs: 1000, missedProbes: 3, silentProbes: 10 });
    assert.deepEqual(c.affinity, { maxEntries: 100_000, idleSec: 86_400 });
  });

  it('names health.silentProbes when it is below missedProbes, and a bad affinity bound', async () => {
    await assert.rejects(load({ ...MINIMAL, health: { missedProbes: 5, silentProbes: 4 } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.path), ['health.silentProbes']);
      assert.match(e.message, /missedProbes/);
      return true;
    });
    await assert.rejects(load({ ...MINIMAL, health: { missedProbes: 12 } }), (e: unknown) => e instanceof ConfigError && e.issues[0]?.path === 'health.silentProbes', 'the default 10 is below 12 too');
    await assert.rejects(load({ ...MINIMAL, affinity: { maxEntries: -1, idleSec: 0 } }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.path).sort(), ['affinity.idleSec', 'affinity.maxEntries']);
      return true;
    });
  });
});
