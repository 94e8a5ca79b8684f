/**
 * Build step (issue #19): the CLI as `npm start`, the systemd unit and the package's `bin` run it,
 * bundled from the compiled dist/src into a few files under dist/gateway. Loading ~230 separate
 * ES modules at start-up made Node's module loader hot enough that V8's optimizing compiler ran
 * during start-up (~2.5 MiB resident 5 s in, ~1.3 MiB at rest; see README "memory"); a bundle
 * loads a handful. dist/src stays as it is: it is the library (`main`, `types`).
 *
 * Run after `tsc` (`npm run build`): `node dist/src/build/bundle-cli.js`.
 */
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// dist/src/build/ when built, src/build/ under tsx.
const root = fileURLToPath(new URL(import.meta.url.includes('/dist/src/') ? '../../../' : '../../', import.meta.url));

/** Where the bundled CLI goes; its entry is `cli.js`. */
export const BUNDLE_DIR = 'dist/gateway';

/**
 * Left to Node's own loader from node_modules: native addons (they cannot be bundled), and the
 * packages only some configs load (MQTT.js for an upstream, prom-client for HTTP, pino-pretty
 * for a terminal, serialport for a radio). The code that imports them is in chunks of its own
 * that load when the config needs them, as from dist/src (test/integration/lazy-packages).
 */
const EXTERNAL = ['better-sqlite3', 'serialport', '@serialport/*', 'mqtt', 'prom-client', 'pino-pretty'];

export async function bundleCli(): Promise<void> {
  const out = `${root}${BUNDLE_DIR}`;
  // Written over in place, not emptied first: a gateway started from the last build (a test
  // running beside a build) may still import a lazy chunk, which an unchanged build rewrites
  // under the same content-hashed name. Files the new build no longer has go afterwards.
  const result = await build({
    absWorkingDir: root,
    // The config check runs in a child process from a script beside the code that spawns it
    // (src/config/load-apart.ts): an entry of its own, and every file in one folder.
    entryPoints: ['dist/src/cli.js', 'dist/src/config/load-child.js'],
    outdir: out,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    // Dynamic imports (the bridge, the HTTP server, the front end) stay separate and lazy.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS dependencies (pino) call require() for Node's built-ins; an ES module has none.
    banner: { js: "import { createRequire as __gatewayCreateRequire } from 'node:module';\nconst require = __gatewayCreateRequire(import.meta.url);" },
    // Readable stack traces in a journal matter more than the few hundred KB minifying saves.
    minify: false,
    legalComments: 'inline',
    logLevel: 'warning',
    metafile: true,
  });
  const written = new Set(Object.keys(result.metafile.outputs).map((f) => basename(f)));
  for (const name of readdirSync(out)) if (name.endsWith('.js') && !written.has(name)) rmSync(`${out}/${name}`);
  // Read at run time relative to the module that serves them (src/observability/dashboard.ts).
  cpSync(`${root}src/observability/dashboard`, `${out}/dashboard`, { recursive: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleCli();
