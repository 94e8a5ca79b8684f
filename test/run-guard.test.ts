/**
 * The run's guard against one hanging file (test/run.mjs, test/helpers/children.ts): test files
 * written to a temp folder, each starting a child through the helpers' registry, are run by
 * run.mjs as `npm test` runs files. A file that hangs is stopped and named, a failed test's child
 * is killed after its file's tests, and no child outlives its file either way.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scaled } from './helpers/time-scale.js';
import { until } from './helpers/wait.js';

const runMjs = fileURLToPath(new URL('./run.mjs', import.meta.url));
const children = pathToFileURL(fileURLToPath(new URL('./helpers/children.ts', import.meta.url))).href;

/** A test file whose one test starts a tracked child (writing its pid to `pidFile`), then does `then`. */
function testFile(pidFile: string, then: string): string {
  return `import { it } from 'node:test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { track } from ${JSON.stringify(children)};
it('starts a child, then ${then}', async () => {
  const child = track(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
  writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
  ${then === 'hangs' ? 'await new Promise(() => {});' : "throw new Error('failed before its cleanup');"}
});
`;
}

async function run(file: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  // Run as from a shell: without the variable that makes a file under node:test report to its parent.
  const { NODE_TEST_CONTEXT: _, ...outside } = process.env;
  const child = spawn(process.execPath, [runMjs, file], { env: { ...outside, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test/run.mjs: one failing test cannot hang the run', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  /** Writes a test file that `then`s, runs it through run.mjs with `timeoutMs` a file, and gives its child's pid. */
  async function runFile(then: 'hangs' | 'fails', timeoutMs: number): Promise<{ code: number | null; out: string; err: string; file: string; pid: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'mqttsn-run-guard-'));
    dirs.push(dir);
    const file = join(dir, `${then}.test.ts`);
    const pidFile = join(dir, 'pid');
    await writeFile(file, testFile(pidFile, then));
    const r = await run(file, { TEST_FILE_TIMEOUT_MS: String(timeoutMs) });
    return { ...r, file, pid: Number(await readFile(pidFile, 'utf8')) };
  }

  it('a file that hangs is stopped after TEST_FILE_TIMEOUT_MS and named, and its child is killed', { timeout: scaled(120_000) }, async () => {
    // Long enough for the file to start under tsx on a busy machine, short for a test.
    const r = await runFile('hangs', scaled(15_000));
    assert.notEqual(r.code, 0, 'the run fails');
    assert.match(r.err, new RegExp(`run\\.mjs: ${r.file.replaceAll('.', '\\.')} hung`), `the hung file is named on stderr:\n${r.err}`);
    await until(() => !alive(r.pid), scaled(5000), `the hung file's child ${r.pid} killed`);
  });

  it("a failed test's child is killed after its file's tests, so the file ends without waiting for the timeout", { timeout: scaled(120_000) }, async () => {
    // Far longer than the file needs; were the child left running, the file would reach it and be named as hung.
    const r = await runFile('fails', scaled(60_000));
    assert.notEqual(r.code, 0, 'the run fails');
    assert.match(r.out, /failed before its cleanup/);
    assert.doesNotMatch(r.err, /hung/);
    await until(() => !alive(r.pid), scaled(5000), `the failed test's child ${r.pid} killed`);
  });
});
