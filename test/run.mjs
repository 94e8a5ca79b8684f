// Runs the *.test.ts files under test/ with Node's own runner. Node 20 does not expand globs given
// to --test, so the file list is built here.
//
//   node test/run.mjs [--unit | --e2e] [path-substring | /absolute/file.test.ts ...]
//
// --unit: the tests that start no process and open no socket (fake clock, memory transport);
// --e2e: the rest (real processes, mosquitto, ptys, real UDP and TCP on loopback). A file is e2e
// when it, or a test helper it imports, reaches for one of E2E_MARKERS; nothing to keep in step.
//
// One hung file cannot hold up the run: a file still running after TEST_FILE_TIMEOUT_MS (env; the
// default below, stretched by MQTTSN_TEST_TIME_SCALE) fails, is named on stderr, and its process
// is stopped with SIGTERM, on which it kills the children its helpers started
// (test/helpers/children.ts; a failed test's leftovers are killed after its file's tests anyway).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'test');
const args = process.argv.slice(2);
const set = args.includes('--unit') ? 'unit' : args.includes('--e2e') ? 'e2e' : 'all';
const listOnly = args.includes('--list');
const filter = args.filter((a) => !a.startsWith('--') && !isAbsolute(a));
/** files named by absolute path, run as they are (the guard's own test runs a hanging file from a temp folder) */
const explicit = args.filter((a) => isAbsolute(a) && existsSync(a));

/** Longer than any file takes on a loaded 2-core machine; a file over it is taken as hung. */
const DEFAULT_FILE_TIMEOUT_MS = 10 * 60_000;
const scale = Math.max(1, Number(process.env.MQTTSN_TEST_TIME_SCALE ?? '1') || 1);
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? DEFAULT_FILE_TIMEOUT_MS * scale);

/** What only a test that runs real parts uses: processes, sockets, serial ports, the gateway as a whole. */
const E2E_MARKERS = [
  /from 'node:(child_process|dgram|net|tls|http|https)'/,
  /\bfetch\(/,
  /\bcreateGateway\(/,
  /\b(UdpLink|UdpTransport|SerialPort|SerialTransport|Mosquitto|SnClient)\b/,
  /\bconnectAsync\(/,
];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of `file` that stay inside test/ (the code under test is not what decides). */
function testImports(file) {
  const src = readFileSync(file, 'utf8');
  const out = [];
  for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const p = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (p.startsWith(testDir) && existsSync(p)) out.push(p);
  }
  return out;
}

const verdicts = new Map();
function isE2e(file, seen = new Set()) {
  if (verdicts.has(file)) return verdicts.get(file);
  if (seen.has(file)) return false;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  const e2e = E2E_MARKERS.some((re) => re.test(src)) || testImports(file).some((f) => isE2e(f, seen));
  verdicts.set(file, e2e);
  return e2e;
}

let files = walk(testDir);
if (set !== 'all') files = files.filter((f) => isE2e(f) === (set === 'e2e'));
files = files.map((f) => relative(root, f));
if (filter.length > 0 || explicit.length > 0) files = files.filter((f) => filter.some((s) => f.includes(s)));
files.push(...explicit);
if (listOnly) {
  console.log(files.join('\n'));
  process.exit(0);
}
if (files.length === 0) {
  console.error(`no ${set === 'all' ? '' : `${set} `}test files matched`);
  process.exit(1);
}
// --test-timeout bounds each file (and each test that sets no timeout of its own); the second
// reporter names a file stopped for it.
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-timeout=${fileTimeoutMs}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${new URL('./hung-files.mjs', import.meta.url).href}`,
    '--test-reporter-destination=stderr',
    '--test-concurrency=2',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
