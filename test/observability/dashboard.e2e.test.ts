/**
 * The dashboard in a real browser: the shipped gateway (gateway.config.json on free loopback
 * ports, with the `http` section an operator adds and an admin token), firmware-sim nodes over
 * UDP, and Debian's headless Chromium driven by playwright-core. What a person watching the page
 * relies on: the nodes are listed, a node going to sleep shows as asleep without a reload, the
 * rate chart moves with traffic, and the disconnect button does nothing without the token.
 * A screenshot of the page under load goes to a folder under the system temp dir (printed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SimNode } from '../../firmware-sim/node.js';
import { UdpLink } from '../../firmware-sim/links/udp.js';
import { parseUdpUrl } from '../../firmware-sim/link.js';
import { createGateway, parseConfig, type RunningGateway } from '../../src/index.js';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'e2e-admin-token';
const NODES = ['sensor-1', 'sensor-2', 'sensor-3'];

type ShippedJson = { transports: Array<Record<string, unknown>>; broker: { listen: Array<{ port: number }> } } & Record<string, unknown>;

describe('dashboard in headless Chromium', () => {
  let running: RunningGateway;
  let storeDir: string;
  let browser: Browser;
  let page: Page;
  let base: string;
  const nodes = new Map<string, SimNode>();

  before(async () => {
    // Never skipped: a machine without the browser fails here with the fix.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`sudo apt-get install -y chromium\` (the README's test command does)`);
    const json = JSON.parse(await readFile(new URL('../../gateway.config.json', import.meta.url), 'utf8')) as ShippedJson;
    const udpPort = await freeUdpPort();
    json.transports[0]!.port = udpPort;
    for (const l of json.broker.listen) l.port = await freeTcpPort();
    // What an operator adds to see the dashboard: the section (loopback by default) and a token.
    json.http = { port: await freeTcpPort(), adminTokenEnv: 'MQTTSN_ADMIN_TOKEN' };
    storeDir = await mkdtemp(join(tmpdir(), 'mqttsn-dash-'));
    running = await createGateway(parseConfig(json, 'gateway.config.json', storeDir), { env: { MQTTSN_ADMIN_TOKEN: TOKEN } });
    base = `http://127.0.0.1:${running.http!.port}`;
    for (const id of NODES) {
      const link = await UdpLink.open({ gateway: parseUdpUrl(`udp://127.0.0.1:${udpPort}`) });
      const node = new SimNode({ link, clientId: id, retryMs: 1000, maxRetries: 3, reconnect: false });
      await node.connect({ keepAlive: 60 });
      await node.subscribe(`cmd/${id}`, 1);
      nodes.set(id, node);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root, with the machine's closed network: the flags that let Chromium start quietly.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      headless: true,
    });
    // playwright gives every context a fresh profile (its own user-data-dir).
    page = await browser.newPage({ viewport: { width: 412, height: 915 } }); // a phone's screen
    await page.goto(base + '/');
    // Waits are locators, not waitForFunction: the page's CSP forbids the eval that one uses.
    // page.evaluate takes strings here: the test's TypeScript has no DOM types.
    await page.evaluate('window.loadedOnce = 1');
  });

  after(async () => {
    await browser?.close();
    for (const n of nodes.values()) await n.close().catch(() => undefined);
    await running?.close();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  const stateOf = (id: string): Promise<string | null> =>
    page.locator(`#session-rows tr[data-client-id="${id}"] td[data-field="state"]`).textContent({ timeout: 10_000 });

  it('lists the nodes in the sessions table', async () => {
    for (const id of NODES) {
      await page.locator(`#session-rows tr[data-client-id="${id}"]`).waitFor({ timeout: 10_000 });
      assert.equal(await stateOf(id), 'active');
    }
    assert.match((await page.locator('#session-count').textContent()) ?? '', /3 shown of 3/);
    assert.equal(await page.locator('#transport-rows tr').count(), 1);
  });

  it('filters and sorts the sessions', async () => {
    await page.locator('#filter').fill('sensor-2');
    await page.locator('#session-rows tr').nth(1).waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('#session-rows tr').getAttribute('data-client-id'), 'sensor-2');
    await page.locator('#filter').fill('');
    await page.locator('th[data-sort="clientId"]').click(); // already ascending: now descending
    await page.locator('#session-rows tr:first-child[data-client-id="sensor-3"]').waitFor({ timeout: 10_000 });
    await page.locator('th[data-sort="clientId"]').click();
    await page.locator('#session-rows tr:first-child[data-client-id="sensor-1"]').waitFor({ timeout: 10_000 });
  });

  it('shows a node going to sleep as asleep, without a reload', async () => {
    await nodes.get('sensor-2')!.sleep(300);
    await page.locator('#session-rows tr[data-client-id="sensor-2"] td[data-field="state"]:text-is("asleep")').waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate('window.loadedOnce'), 1, 'same page: no reload happened');
  });

  it('moves the rate chart when messages flow, and takes a screenshot under load', async () => {
    const flat = await page.locator('#line-in').getAttribute('points');
    // A bounded load, spread over a few seconds so the once-a-second rates see it: at most 2000
    // publishes or 20 s, whichever comes first, until the chart shows them.
    const deadline = Date.now() + 20_000;
    let sent = 0;
    let moved = false;
    const senders = [nodes.get('sensor-1')!, nodes.get('sensor-3')!];
    // y = 60 is zero on the chart; a point above it is messages per second.
    const chartAboveZero = `(document.getElementById('line-in')?.getAttribute('points') ?? '').split(' ').some((p) => Number(p.split(',')[1]) < 59)`;
    for (let round = 0; !moved && sent < 2000 && Date.now() < deadline; round++) {
      await Promise.all(senders.map((n) => n.publish({ topic: `data/${n.clientId ?? ''}`, payload: `v${sent}`, qos: (round % 2) as 0 | 1 })));
      sent += senders.length;
      await new Promise((r) => setTimeout(r, 20));
      if (round % 10 === 9) moved = (await page.evaluate(chartAboveZero)) === true;
    }
    assert.ok(moved, `the chart showed the ${sent} messages`);
    assert.notEqual(await page.locator('#line-in').getAttribute('points'), flat);
    const dir = join(tmpdir(), 'mqttsn-dashboard-e2e');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'dashboard-under-load.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`dashboard screenshot: ${file}`);
  });

  it('refuses the disconnect without the token and keeps the session; with the token it ends it', async () => {
    await page.locator('#session-rows tr[data-client-id="sensor-3"]').click();
    await page.locator('#detail').waitFor({ state: 'visible' });
    await page.locator('#token').fill('');
    await page.locator('#disconnect').click();
    await page.locator('#action-result[data-status]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#action-result').getAttribute('data-status'), '401');
    assert.equal(running.gateway.sessions.get('sensor-3')?.state, 'active', 'the session stays');
    // Straight at the endpoint too, as a script would try it.
    const bare = await fetch(`${base}/api/sessions/sensor-3/disconnect`, { method: 'POST' });
    assert.equal(bare.status, 401);
    await bare.arrayBuffer();

    await page.locator('#token').fill(TOKEN);
    await page.locator('#disconnect').click();
    await page.locator('#action-result[data-status="200"]').waitFor({ timeout: 10_000 });
    await until(() => running.gateway.sessions.get('sensor-3') === undefined, 10_000, 'sensor-3 disconnected');
    await page.locator('#session-rows tr[data-client-id="sensor-3"]').waitFor({ state: 'detached', timeout: 10_000 });
  });
});
