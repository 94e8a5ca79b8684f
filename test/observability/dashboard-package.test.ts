/**
 * The dashboard as installed: `npm run build` puts the page's static files into dist beside the
 * compiled server and beside the bundled CLI (dist/gateway, what `npm start` and the package's
 * `bin` run), `npm pack` ships them, and the built CLI (plain node, no tsx) serves them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const FILES = ['index.html', 'dashboard.js', 'dashboard.css'];

describe('dashboard: the built package', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttsn-dash-pkg-'));
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
  });

  after(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('ships the page in the package', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 120_000 });
    const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const paths = new Set(pack!.files.map((f) => f.path));
    for (const f of FILES) assert.ok(paths.has(`dist/src/observability/dashboard/${f}`), f);
    for (const f of FILES) assert.ok(paths.has(`dist/gateway/dashboard/${f}`), `the bundle's ${f}`);
  });

  it('is served by the built CLI the package runs (its bin)', async () => {
    const { bin } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const httpPort = await freeTcpPort();
    const config = join(dir, 'gateway.config.json');
    await writeFile(
      config,
      JSON.stringify({ transports: [{ type: 'udp', host: '127.0.0.1', port: await freeUdpPort() }], broker: { listen: [] }, store: { path: join(dir, 'store.db') }, http: { port: httpPort } }),
    );
    child = spawn(process.execPath, [join(ROOT, bin['mqttsn-gateway']!), '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Bounded wait for the server to listen: 20 s at 100 ms.
    let page: Response | undefined;
    for (let i = 0; i < 200 && page === undefined && child.exitCode === null; i++) {
      page = await fetch(`http://127.0.0.1:${httpPort}/`).catch(() => undefined);
      if (page === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(page !== undefined, `the built gateway did not serve /; stderr: ${stderr}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /MQTT-SN gateway/);
    for (const f of FILES.slice(1)) assert.equal((await fetch(`http://127.0.0.1:${httpPort}/${f}`)).status, 200, f);
  });
});
