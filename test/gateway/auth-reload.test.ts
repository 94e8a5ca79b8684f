/**
 * `auth` replaced at run time (SIGHUP, `Gateway#setAuth`) and checked again for sessions restored
 * from the store: what the rules in force no longer allow is taken away (issue 9).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/index.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import { harness, recordingLogger, settle, type Harness, type TestClient } from './harness.js';

type Auth = ReturnType<typeof defaultConfig>['auth'];
const auth = (change: Partial<Auth>): Auth => ({ ...defaultConfig().auth, ...change });

async function pingable(c: TestClient): Promise<void> {
  c.send({ type: 'PINGREQ' });
  await settle();
  c.one('PINGRESP');
}

function refusedConnect(c: TestClient, clientId: string): number {
  c.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId });
  return c.one('CONNACK').returnCode;
}

/** What the broker's `topic` messages reach: payloads a client got as PUBLISH (REGISTERs acknowledged). */
function received(c: TestClient): string[] {
  const got: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ps = c.take();
    if (ps.length === 0) return got;
    for (const p of ps) {
      if (p.type === 'REGISTER') c.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
      else if (p.type === 'PUBLISH') got.push(p.payload.toString());
    }
  }
  return got;
}

async function deliver(h: Harness, topic: string, payload: string): Promise<void> {
  await h.publishFromBroker(topic, payload, 0);
}

describe('auth reload: Gateway#setAuth', () => {
  it('drops the sessions of clients no longer on the allow-list, and refuses them from then on', async () => {
    const { logger, lines } = recordingLogger();
    const h = await harness({}, undefined, logger);
    const a = h.client('udp:10.0.0.1:1');
    const b = h.client('udp:10.0.0.2:1');
    await a.connect('keep');
    await b.connect('gone');
    await b.subscribe('news', 0);
    const revoked = h.gateway.setAuth(auth({ clients: [{ clientId: 'keep' }] }));
    assert.deepEqual(revoked, { sessions: 1, subscriptions: 0, wills: 0 });
    b.one('DISCONNECT');
    assert.equal(h.gateway.sessions.has('gone'), false);
    assert.equal(h.gateway.byPeer.has(b.key), false);
    assert.deepEqual(h.gateway.stats.revoked, { sessions: 1, subscriptions: 0, wills: 0 });
    await deliver(h, 'news', 'x');
    b.nothing();
    assert.equal(refusedConnect(b, 'gone'), 3);
    await pingable(a);
    const line = lines.find((l) => l.msg.startsWith('auth reloaded'));
    assert.ok(line, 'one summary line');
    assert.deepEqual(line.obj.clients, ['gone']);
  });

  it('drops a client that is now bound to other peers', async () => {
    const h = await harness();
    const c = h.client('udp:10.0.0.1:1');
    await c.connect('sensor');
    h.gateway.setAuth(auth({ clients: [{ clientId: 'sensor', peers: ['udp:10.1.0.0/16'] }] }));
    c.one('DISCONNECT');
    assert.equal(h.gateway.sessions.has('sensor'), false);
    await h.client('udp:10.1.0.1:1').connect('sensor');
  });

  it('removes subscriptions and wills the new ACL does not allow, and keeps the rest', async () => {
    const h = await harness();
    const c = h.client('p');
    await c.connectWithWill('dev', { topic: 'status/dev', message: 'bye' });
    await c.subscribe('cmd/dev/#', 0, 1);
    await c.subscribe('other/#', 0, 2);
    const other = h.client('q');
    await other.connectWithWill('ok', { topic: 'status/ok', message: 'bye' });
    const revoked = h.gateway.setAuth(
      auth({
        acl: [
          { clientId: '*', publish: ['data/%c/#'], subscribe: ['cmd/%c/#'] },
          { clientId: 'ok', publish: ['status/ok'], subscribe: [] },
        ],
      }),
    );
    assert.deepEqual(revoked, { sessions: 0, subscriptions: 1, wills: 1 });
    const s = h.gateway.sessions.get('dev')!;
    assert.deepEqual([...s.subscriptions.keys()], ['cmd/dev/#']);
    assert.equal(s.will, undefined);
    assert.equal(h.gateway.sessions.get('ok')?.will?.topic, 'status/ok');
    c.nothing();
    await deliver(h, 'other/x', 'no');
    await deliver(h, 'cmd/dev/led', 'yes');
    assert.deepEqual(received(c), ['yes']);
    // New requests meet the new rules too.
    const ack = await c.subscribe('other/y', 0, 3);
    assert.equal(ack.returnCode, 3);
  });

  it('applies a new takeover policy to the next CONNECT', async () => {
    const h = await harness();
    await h.client('a').connect('dev');
    h.gateway.setAuth(auth({ takeover: 'deny' }));
    assert.equal(refusedConnect(h.client('b'), 'dev'), 3);
    assert.equal(h.gateway.stats.dropped.takeoverRefused, 1);
  });

  it('changes nothing when nothing is narrower', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev');
    await c.subscribe('x/#');
    assert.deepEqual(h.gateway.setAuth(auth({ clients: [{ clientId: 'dev' }], acl: [{ clientId: 'dev', publish: [], subscribe: ['#'] }] })), {
      sessions: 0,
      subscriptions: 0,
      wills: 0,
    });
    await pingable(c);
  });
});

describe('auth: sessions restored from the store are checked again', () => {
  it('drops stored sessions of clients no longer allowed, with their buffers, and prunes subscriptions', async () => {
    const store = new MemorySessionStore();
    const h = await harness({}, store);
    const sleeper = h.client('a');
    await sleeper.connect('banned', { cleanSession: false });
    await sleeper.subscribe('cmd', 1);
    sleeper.send({ type: 'DISCONNECT', duration: 600 });
    sleeper.one('DISCONNECT');
    const kept = h.client('b');
    await kept.connect('kept', { cleanSession: false });
    await kept.subscribe('cmd', 0, 1);
    await kept.subscribe('secret/#', 0, 2);
    await h.publishFromBroker('cmd', 'for the sleeper', 1);
    kept.take();

    await h.restart({ auth: auth({ clients: [{ clientId: 'kept' }], acl: [{ clientId: 'kept', publish: [], subscribe: ['cmd'] }] }) });
    assert.equal(h.gateway.sessions.has('banned'), false);
    assert.deepEqual([...h.gateway.sessions.get('kept')!.subscriptions.keys()], ['cmd']);
    assert.deepEqual(h.gateway.stats.revoked, { sessions: 1, subscriptions: 1, wills: 0 });
    // The wake finds no session and nothing buffered is handed out.
    sleeper.send({ type: 'PINGREQ', clientId: 'banned' });
    assert.deepEqual(sleeper.take().map((p) => p.type), ['DISCONNECT']);
    await deliver(h, 'secret/x', 'no');
    await deliver(h, 'cmd', 'yes');
    assert.deepEqual(received(kept), ['yes']);

    // The store was changed too: after one more restart, nothing comes back.
    await h.restart();
    assert.equal(h.gateway.sessions.has('banned'), false);
    assert.deepEqual([...h.gateway.sessions.get('kept')!.subscriptions.keys()], ['cmd']);
    assert.deepEqual(h.gateway.stats.revoked, { sessions: 0, subscriptions: 0, wills: 0 });
  });
});
