/**
 * The dashboard's server side without a browser, over real HTTP and UDP on 127.0.0.1: the page
 * is served, the SSE stream carries the sessions and rates read from the /metrics counters, and
 * the one action (disconnect) is refused without the admin token and logged with who and what.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/config/errors.js';
import { createGateway, type RunningGateway } from '../../src/index.js';
import { tokenMatches } from '../../src/observability/dashboard.js';
import { rateBetween, type CounterTotals } from '../../src/observability/rates.js';
import { recordingLogger } from '../gateway/harness.js';
import { freeUdpPort, SnClient } from '../integration/gateway-process.js';
import { scrape, until, valueOf } from './helpers.js';

const TOKEN = 'dash-secret-1';

/** The events of an SSE response, as they arrive. */
async function* events(res: Response): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined) yield { event, data: JSON.parse(data) as unknown };
      }
    }
  } finally {
    // Closes the connection: the server's stream ends with it.
    await reader.cancel();
  }
}

type Tick = { sample: { inByQos: Record<string, number> }; overview: { sessions: { shown: Array<{ clientId: string; state: string }> } } };

async function post(port: number, clientId: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/sessions/${encodeURIComponent(clientId)}/disconnect`, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('dashboard: server side', () => {
  let running: RunningGateway;
  let port: number;
  let udpPort: number;
  let lines: ReturnType<typeof recordingLogger>['lines'];
  const clients: SnClient[] = [];

  before(async () => {
    udpPort = await freeUdpPort();
    const config = parseConfig({
      transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
      broker: { listen: [] },
      predefinedTopics: { '7': 'd/beacon' },
      http: { port: 0, adminTokenEnv: 'DASH_TOKEN' },
    });
    const rec = recordingLogger();
    lines = rec.lines;
    running = await createGateway(config, { logger: rec.logger, env: { DASH_TOKEN: TOKEN } });
    port = running.http!.port;
  });

  after(async () => {
    for (const c of clients) await c.close();
    await running?.close();
  });

  async function client(id: string): Promise<SnClient> {
    const c = await SnClient.open(udpPort);
    clients.push(c);
    await c.connect(id, { keepAlive: 60 });
    return c;
  }

  it('serves the page and its files at / with a policy that loads nothing from elsewhere', async () => {
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="dashboard\.js"/);
    assert.doesNotMatch(html, /https?:\/\//, 'no CDN or other site');
    for (const file of ['/dashboard.js', '/dashboard.css']) {
      const res = await fetch(`http://127.0.0.1:${port}${file}`);
      assert.equal(res.status, 200, file);
      assert.ok((await res.text()).length > 100, file);
    }
  });

  it('streams the sessions and the QoS 0 rate read from the /metrics counters', async () => {
    const c = await client('dash-rate');
    const res = await fetch(`http://127.0.0.1:${port}/api/stream`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const it = events(res);
    const hello = (await it.next()).value as { event: string; data: { overview: Tick['overview'] } };
    assert.equal(hello.event, 'hello');
    assert.ok(hello.data.overview.sessions.shown.some((s) => s.clientId === 'dash-rate' && s.state === 'active'));
    const sent = 20;
    for (let i = 0; i < sent; i++) {
      c.send({ type: 'PUBLISH', dup: false, qos: 0, retain: false, msgId: 0, payload: Buffer.from(`x${i}`), topicIdType: 'predefined', topicId: 7 });
    }
    c.send({ type: 'PINGREQ' });
    await c.next('PINGRESP');
    // Bounded: the sampler ticks once a second; 15 ticks is far more than the two it needs.
    let seen = 0;
    for (let n = 0; n < 15; n++) {
      const e = (await it.next()).value as { event: string; data: Tick };
      assert.equal(e.event, 'tick');
      seen += e.data.sample.inByQos['0'] ?? 0;
      if (seen > 0) break;
    }
    await it.return(undefined);
    assert.ok(seen > 0, 'a tick shows QoS 0 messages per second');
    const { samples } = await scrape(port);
    assert.equal(valueOf(samples, 'mqttsn_publish_received_total', { qos: '0' }), sent);
  });

  it('refuses a disconnect without or with a wrong token, keeps the session, and logs who asked', async () => {
    await client('dash-keep');
    for (const token of [undefined, 'wrong', '']) {
      const r = await post(port, 'dash-keep', token);
      assert.equal(r.status, 401, `token ${String(token)}`);
    }
    assert.equal(running.gateway.sessions.get('dash-keep')?.state, 'active');
    const refused = lines.filter((l) => l.msg.startsWith('admin action refused'));
    assert.ok(refused.length >= 3);
    assert.equal(refused[0]!.obj.clientId, 'dash-keep');
    assert.match(String(refused[0]!.obj.from), /^(127\.0\.0\.1|::ffff:127\.0\.0\.1):\d+$/);
  });

  it('disconnects with the token: the client gets DISCONNECT, the session ends, the log says so', async () => {
    const c = await client('dash-kick');
    const r = await post(port, 'dash-kick', TOKEN);
    assert.equal(r.status, 200);
    await c.next('DISCONNECT');
    await until(() => running.gateway.sessions.get('dash-kick') === undefined, 5000, 'clean session dropped');
    assert.ok(lines.some((l) => l.msg === 'admin action: session disconnected' && l.obj.clientId === 'dash-kick'));
    assert.equal((await post(port, 'nobody', TOKEN)).status, 404);
    const get = await fetch(`http://127.0.0.1:${port}/api/sessions/x/disconnect`);
    assert.equal(get.status, 405);
    await get.arrayBuffer();
  });

  it('is read-only without http.adminTokenEnv: the action is refused with 403 and the session stays', async () => {
    const p = await freeUdpPort();
    const ro = await createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: p }], broker: { listen: [] }, http: { port: 0 } }));
    const c = await SnClient.open(p);
    try {
      await c.connect('ro-1');
      const r = await post(ro.http!.port, 'ro-1', TOKEN);
      assert.equal(r.status, 403);
      assert.match(String(r.body.error), /http\.adminTokenEnv/);
      assert.equal(ro.gateway.sessions.get('ro-1')?.state, 'active');
    } finally {
      await c.close();
      await ro.close();
    }
  });

  it('names http.adminTokenEnv when its variable is unset or empty', async () => {
    const json = { transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] }, http: { port: 0, adminTokenEnv: 'DASH_UNSET' } };
    assert.throws(() => parseConfig(json, 'gw.json', undefined, {}), (e: unknown) => e instanceof ConfigError && /http\.adminTokenEnv/.test(e.message) && /DASH_UNSET is not set/.test(e.message));
    for (const env of [{}, { DASH_UNSET: '' }]) {
      await assert.rejects(createGateway(parseConfig(json), { env }), (e: unknown) => e instanceof ConfigError && /http\.adminTokenEnv/.test(e.message));
    }
  });
});

describe('dashboard: units', () => {
  it('compares tokens whole', () => {
    assert.equal(tokenMatches('abc', 'abc'), true);
    for (const given of ['ab', 'abcd', 'abd', '', undefined]) assert.equal(tokenMatches('abc', given), false, String(given));
  });

  it('turns two readings of the counters into per-second rates', () => {
    const zero: CounterTotals = { inByQos: {}, outByQos: {}, connects: 0, dropsByReason: {}, decodeErrors: 0, framesIn: {}, framesOut: {} };
    const now: CounterTotals = { ...zero, inByQos: { '0': 10, '1': 4 }, connects: 2, dropsByReason: { congestion: 2 }, framesIn: { udp: 16 } };
    const r = rateBetween(now, zero, 2, 1000);
    assert.deepEqual(r.inByQos, { '0': 5, '1': 2 });
    assert.equal(r.connects, 1);
    assert.deepEqual(r.dropsByReason, { congestion: 1 });
    assert.deepEqual(r.framesIn, { udp: 8 });
  });
});
