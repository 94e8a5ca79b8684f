/**
 * `/api/sessions` over real HTTP on 127.0.0.1 in front of a gateway core with 250 sessions (a
 * memory transport: the sessions are what matters here, not the radio). What a script walking
 * the sessions relies on: a request without `limit` gets one bounded page and a cursor, the
 * cursor walks every session exactly once, a limit past the maximum is a clear 400, and a client
 * id with a malformed escape is a 400 naming the fix, never a 500 with a stack in the log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/http-server.js';
import { DEFAULT_SESSIONS_PAGE, MAX_SESSIONS_PAGE } from '../../src/observability/sessions.js';
import { noopLogger, type Logger } from '../../src/logger.js';
import { Harness } from '../gateway/harness.js';
import { getJson } from './helpers.js';

const SESSIONS = 250;

type Page = { count: number; total: number; next: string | null; sessions: Array<{ clientId: string }> };

/** Records what the server logs at error level (a 500 logs its stack there). */
function errorRecorder(): { logger: Logger; errors: object[] } {
  const errors: object[] = [];
  const logger: Logger = { ...noopLogger, error: (obj) => void errors.push(obj) };
  return { logger, errors };
}

describe('/api/sessions pages', () => {
  let h: Harness;
  let http: ObservabilityServer;
  const rec = errorRecorder();

  before(async () => {
    h = await new Harness().start();
    for (let i = 0; i < SESSIONS; i++) await h.client(`peer-${i}`).connect(`node-${String(i).padStart(3, '0')}`);
    http = await startObservabilityServer({ host: '127.0.0.1', port: 0 }, { gateway: h.gateway, transports: [], logger: rec.logger });
  });

  after(async () => {
    await http?.close();
    await h?.gateway.stop();
  });

  it('answers one page of DEFAULT_SESSIONS_PAGE without a limit, with the total and a cursor', async () => {
    assert.ok(SESSIONS > DEFAULT_SESSIONS_PAGE, 'more sessions than a page');
    const r = await getJson(http.port, '/api/sessions');
    assert.equal(r.status, 200);
    const page = r.body as Page;
    assert.equal(page.count, DEFAULT_SESSIONS_PAGE);
    assert.equal(page.sessions.length, DEFAULT_SESSIONS_PAGE);
    assert.equal(page.total, SESSIONS);
    assert.equal(page.sessions[0]!.clientId, 'node-000');
    assert.equal(page.next, page.sessions[DEFAULT_SESSIONS_PAGE - 1]!.clientId);
  });

  it('walks every session exactly once, in client id order, by following next', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 20; guard++) {
      const path: string = `/api/sessions?limit=70${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
      const page = (await getJson(http.port, path)).body as Page;
      seen.push(...page.sessions.map((s) => s.clientId));
      after = page.next;
      if (after === null) break;
    }
    assert.equal(after, null, 'the last page says so');
    const expected = Array.from({ length: SESSIONS }, (_, i) => `node-${String(i).padStart(3, '0')}`);
    assert.deepEqual(seen, expected);
  });

  it('pages a state filter too', async () => {
    const page = (await getJson(http.port, '/api/sessions?state=active&limit=5&after=node-247')).body as Page;
    assert.deepEqual(page.sessions.map((s) => s.clientId), ['node-248', 'node-249']);
    assert.equal(page.next, null);
  });

  it('refuses a limit beyond one page, or not a whole number, with 400', async () => {
    const big = await getJson(http.port, `/api/sessions?limit=${MAX_SESSIONS_PAGE + 1}`);
    assert.equal(big.status, 400);
    assert.match((big.body as { error: string }).error, /after=/);
    assert.equal((await getJson(http.port, '/api/sessions?limit=')).status, 400);
    assert.equal((await getJson(http.port, '/api/sessions?limit=1.5')).status, 400);
    assert.equal((await getJson(http.port, `/api/sessions?limit=${MAX_SESSIONS_PAGE}`)).status, 200);
  });

  it('answers 400, not 500, to a client id with a malformed escape, and logs no error', async () => {
    for (const path of ['/api/sessions/%E0%A4%A', '/api/sessions/%zz', '/api/sessions/abc%']) {
      const r = await getJson(http.port, path);
      assert.equal(r.status, 400, path);
      assert.match((r.body as { error: string }).error, /percent-encoding/);
    }
    const res = await fetch(`http://127.0.0.1:${http.port}/api/sessions/%zz/disconnect`, { method: 'POST' });
    assert.equal(res.status, 400);
    await res.arrayBuffer();
    assert.deepEqual(rec.errors, []);
    // A well-formed escape still finds its session.
    assert.equal((await getJson(http.port, `/api/sessions/${encodeURIComponent('node-007')}`)).status, 200);
  });
});
