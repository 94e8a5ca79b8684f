/**
 * Sessions restored from the store keep their version in `/api/sessions` and in
 * `mqttsn_sessions_by_version` (#18): over real HTTP on 127.0.0.1, in front of a gateway core
 * restarted on its store with a 1.2 and two 2.0 sessions kept (one asleep, one absent).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/http-server.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { Harness, settle } from '../gateway/harness.js';
import { V2Client } from '../gateway/harness-v2.js';
import { getJson, scrape, valueOf } from './helpers.js';

describe('sessions by protocol version, after a restart', () => {
  let h: Harness;
  let http: ObservabilityServer;

  before(async () => {
    h = await new Harness({}, new MemorySessionStore()).start();
    await h.client('a').connect('old-one', { cleanSession: false });
    const sleeper = new V2Client(h, 'b');
    await sleeper.connect('new-asleep', { cleanStart: false, sessionExpiry: 600 });
    sleeper.send({ type: 'SLEEPREQ', packetId: 2, sleepDuration: 60, retainTopicAliases: true });
    const away = new V2Client(h, 'c');
    await away.connect('new-away', { cleanStart: false, sessionExpiry: 0xffffffff });
    away.send({ type: 'DISCONNECT' });
    await settle();
    await h.restart();
    http = await startObservabilityServer({ host: '127.0.0.1', port: 0 }, { gateway: h.gateway, transports: [] });
  });

  after(async () => {
    await http?.close();
    await h?.gateway.stop();
  });

  it('/api/sessions gives each restored session its version and, for 2.0, its Session Expiry Interval', async () => {
    const page = (await getJson(http.port, '/api/sessions')).body as { sessions: Array<{ clientId: string; version: string; state: string; sessionExpirySec: number | null }> };
    assert.deepEqual(
      page.sessions.map((s) => [s.clientId, s.version, s.state, s.sessionExpirySec]),
      [
        ['new-asleep', '2.0', 'asleep', 600],
        ['new-away', '2.0', 'disconnected', 0xffffffff],
        ['old-one', '1.2', 'active', null],
      ],
    );
  });

  it('counts restored sessions by version in mqttsn_sessions_by_version', async () => {
    const m = await scrape(http.port);
    assert.equal(valueOf(m.samples, 'mqttsn_sessions_by_version', { version: '1.2' }), 1);
    assert.equal(valueOf(m.samples, 'mqttsn_sessions_by_version', { version: '2.0' }), 2);
  });
});
