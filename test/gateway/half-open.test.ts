/** `limits.maxPendingConnects` (issue 9): CONNECTs with a will whose will exchange is under way are capped. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type TestClient } from './harness.js';

const connectWithWill = (c: TestClient, clientId: string, cleanSession = true): void =>
  c.send({ type: 'CONNECT', will: true, cleanSession, protocolId: 1, duration: 60, clientId });

describe('gateway: limits.maxPendingConnects', () => {
  it('refuses a CONNECT with a will beyond the cap with CONNACK 0x01, and frees a place when a will exchange ends', async () => {
    const h = await harness({ limits: { maxPendingConnects: 2 }, timers: { connectTimeoutMs: 5000 } });
    const [a, b, c] = [h.client('a'), h.client('b'), h.client('c')];
    connectWithWill(a, 'a');
    a.one('WILLTOPICREQ');
    connectWithWill(b, 'b');
    b.one('WILLTOPICREQ');
    connectWithWill(c, 'c');
    assert.equal(c.one('CONNACK').returnCode, 1);
    assert.equal(h.gateway.sessions.has('c'), false, 'no session for the refused one');
    assert.equal(h.gateway.pendingConnects.count, 2);
    assert.equal(h.gateway.stats.dropped.congestion, 1);
    // A CONNECT without a will is not held up, and a repeated CONNECT of a half-open session replaces its own.
    await h.client('d').connect('d');
    connectWithWill(a, 'a');
    a.one('WILLTOPICREQ');
    assert.equal(h.gateway.pendingConnects.count, 2);

    // a finishes its will exchange: its place is free.
    a.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'a/will' });
    a.one('WILLMSGREQ');
    a.send({ type: 'WILLMSG', willMsg: Buffer.from('bye') });
    assert.equal(a.one('CONNACK').returnCode, 0);
    assert.equal(h.gateway.pendingConnects.count, 1);
    connectWithWill(c, 'c');
    c.one('WILLTOPICREQ');

    // b and c never finish: connectTimeoutMs abandons them and frees their places.
    await h.advance(5000);
    assert.equal(h.gateway.pendingConnects.count, 0);
    assert.equal(h.gateway.sessions.has('b'), false);
  });

  it('frees the place of a half-open session that is dropped or refused on the way', async () => {
    const h = await harness({ limits: { maxPendingConnects: 1 }, auth: { acl: [{ clientId: '*', publish: ['ok/#'], subscribe: [] }] } });
    const a = h.client('a');
    connectWithWill(a, 'a');
    a.one('WILLTOPICREQ');
    // A will topic the ACL refuses ends the exchange with CONNACK 0x03.
    a.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: 'not/allowed' });
    assert.equal(a.one('CONNACK').returnCode, 3);
    assert.equal(h.gateway.pendingConnects.count, 0);

    const b = h.client('b');
    connectWithWill(b, 'b');
    b.one('WILLTOPICREQ');
    // DISCONNECT in the middle of the exchange.
    b.send({ type: 'DISCONNECT' });
    b.one('DISCONNECT');
    assert.equal(h.gateway.pendingConnects.count, 0);

    const c = h.client('c');
    connectWithWill(c, 'c');
    c.one('WILLTOPICREQ');
    // The auth reload drops clients no longer allowed, half-open ones included.
    h.gateway.setAuth({ ...h.gateway.options.auth, clients: [{ clientId: 'someone-else' }] });
    assert.equal(h.gateway.pendingConnects.count, 0);
    const d = h.client('d');
    connectWithWill(d, 'someone-else');
    d.one('WILLTOPICREQ');
  });
});
