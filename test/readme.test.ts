/**
 * README.md is the one manual: its links must land, its error-code table must hold every code
 * the gateway can report, and its two set-up commands must be the ones that work (CI runs the
 * test command as written, minus `sudo`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as errors from '../src/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readFile(join(root, 'README.md'), 'utf8');

/** The README without its fenced code blocks, where `#` starts a comment, not a heading. */
const prose = readme.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');

/** Headings in order, with the anchor GitHub gives each (repeats get -1, -2, ...). */
function headings(markdown: string): Array<{ level: number; text: string; anchor: string }> {
  const seen = new Map<string, number>();
  const out: Array<{ level: number; text: string; anchor: string }> = [];
  for (const m of markdown.matchAll(/^(#{1,6}) +(.+?) *$/gm)) {
    const text = m[2]!;
    // GitHub: lower case, drop everything but letters, digits, spaces, - and _, spaces become -.
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push({ level: m[1]!.length, text, anchor: n === 0 ? base : `${base}-${n}` });
  }
  return out;
}

/** Markdown link targets `[text](target)` in the prose. */
const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);

describe('README: links', () => {
  const anchors = new Set(headings(prose).map((h) => h.anchor));

  it('every #anchor names a heading', () => {
    const local = links.filter((l) => l.startsWith('#'));
    assert.ok(local.length > 20, `expected the contents' links, found ${local.length}`);
    const broken = local.filter((l) => !anchors.has(l.slice(1)));
    assert.deepEqual(broken, [], `links to no heading: ${broken.join(', ')}; headings: ${[...anchors].join(', ')}`);
  });

  it('every relative link names a file of the repository', () => {
    const files = links.filter((l) => !l.startsWith('#') && !/^[a-z]+:/.test(l));
    const missing = files.filter((f) => !existsSync(join(root, f.split('#')[0]!)));
    assert.deepEqual(missing, []);
  });

  it('the contents link every section', () => {
    const contents = /^## Contents\n([\s\S]*?)^## /m.exec(prose)?.[1];
    assert.ok(contents !== undefined, 'the README has a Contents section');
    const listed = new Set([...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]));
    const sections = headings(prose).filter((h) => h.level === 2 && h.text !== 'Contents');
    const unlisted = sections.filter((h) => !listed.has(h.anchor)).map((h) => h.text);
    assert.deepEqual(unlisted, [], 'sections missing from the contents');
  });
});

describe('README: error codes', () => {
  it('lists every code of the catalogue in src/errors.ts', () => {
    const section = /^## Error codes\n([\s\S]*?)^## /m.exec(prose)?.[1];
    assert.ok(section !== undefined, 'the README has an Error codes section');
    const codes = Object.entries(errors)
      .filter(([name]) => name.endsWith('ErrorCode'))
      .flatMap(([, table]) => Object.values(table as Record<string, string>));
    const missing = [...new Set(codes)].filter((c) => !section.includes(`\`${c}\``));
    assert.deepEqual(missing, [], 'codes the README does not explain');
  });
});

describe('README: the two set-up commands', () => {
  it('shows `npm install && npm start` as a command of its own', () => {
    assert.match(readme, /^```sh\nnpm install && npm start\n```$/m);
  });

  it('shows the test command CI runs, CI leaving out only `sudo`', async () => {
    const command = /^sudo apt-get update && .*npm test$/m.exec(readme)?.[0];
    assert.ok(command !== undefined, 'the README shows the test command');
    const ci = await readFile(join(root, '.ci', 'run'), 'utf8');
    assert.ok(ci.split('\n').includes(command.replace(/\bsudo /g, '')), `.ci/run does not run: ${command.replace(/\bsudo /g, '')}`);
  });
});
