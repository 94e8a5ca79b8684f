/**
 * Sessions by protocol version (#18): `/api/sessions` says which MQTT-SN version each session
 * speaks (and a 2.0 session's expiry interval), and `/metrics` counts sessions by version, over
 * real HTTP on 127.0.0.1 in front of a gateway core with a 1.2 and two 2.0 clients.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startObservabilityServer, type ObservabilityServer } from '../../src/observability/http-server.js';
import { Harness } from '../gateway/harness.js';
import { V2Client } from '../gateway/harness-v2.js';
import { getJson, scrape, valueOf } from './helpers.js';

describe('sessions by protocol version', () => {
  let h: Harness;
  let http: ObservabilityServer;

  before(async () => {
    h = await new Harness().start();
    await h.client('a').connect('old-one');
    await new V2Client(h, 'b').connect('new-one', { sessionExpiry: 600 });
    await new V2Client(h, 'c').connect('new-two', { sessionExpiry: 0xffffffff });
    http = await startObservabilityServer({ host: '127.0.0.1', port: 0 }, { gateway: h.gateway, transports: [] });
  });

  after(async () => {
    await http?.close();
    await h?.gateway.stop();
  });

  it('shows each session version and, for 2.0, its Session Expiry Interval', async () => {
    const page = (await getJson(http.port, '/api/sessions')).body as { sessions: Array<{ clientId: string; version: string; sessionExpirySec: number | null }> };
    const seen = page.sessions.map((s) => [s.clientId, s.version, s.sessionExpirySec]);
    assert.deepEqual(seen, [
      ['new-one', '2.0', 600],
      ['new-two', '2.0', 0xffffffff],
      ['old-one', '1.2', null],
    ]);
  });

  it('counts sessions by version in mqttsn_sessions_by_version', async () => {
    const m = await scrape(http.port);
    assert.equal(valueOf(m.samples, 'mqttsn_sessions_by_version', { version: '1.2' }), 1);
    assert.equal(valueOf(m.samples, 'mqttsn_sessions_by_version', { version: '2.0' }), 2);
  });
});
