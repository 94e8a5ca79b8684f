/**
 * Per-session limits that no longer multiply past a Pi's memory (#16 §2): a longest topic
 * (`limits.maxTopicBytes`), one budget for every session's registrations and subscriptions
 * (`limits.maxTopicBytesTotal`), and a cap on QoS 2 ids awaiting PUBREL
 * (`limits.maxQos2AwaitingPubrel`). Shipped defaults unless a test says why.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/index.js';
import { TOPIC_ENTRY_OVERHEAD } from '../../src/topics/registry.js';
import { harness, settle, type TestClient } from './harness.js';

const limits = defaultConfig().limits;

/** A topic name of exactly `bytes` UTF-8 bytes, unique by `n`. */
const topicOf = (bytes: number, n = 0): string => {
  const head = `t/${n}/`;
  return head + 'x'.repeat(bytes - head.length);
};

async function registerCode(c: TestClient, name: string, msgId = 1): Promise<number> {
  c.send({ type: 'REGISTER', topicId: 0, msgId, topicName: name });
  await settle();
  return c.one('REGACK').returnCode;
}

describe('gateway: limits.maxTopicBytes', () => {
  it(`takes a ${limits.maxTopicBytes}-byte topic and refuses a longer one with 0x03 (REGISTER, SUBSCRIBE, will)`, async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev');
    assert.equal(await registerCode(c, topicOf(limits.maxTopicBytes)), 0);
    assert.equal(await registerCode(c, topicOf(limits.maxTopicBytes + 1, 1), 2), 3);
    // Counted in UTF-8 bytes, not characters: 'é' is two.
    assert.equal(await registerCode(c, topicOf(limits.maxTopicBytes - 1, 2) + 'é', 3), 3);

    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 4, topicIdType: 'normal', topicName: `${topicOf(limits.maxTopicBytes - 1, 3)}/#` });
    await settle();
    assert.equal(c.one('SUBACK').returnCode, 3);
    assert.equal(h.gateway.sessions.get('dev')?.registry.size, 1);

    const w = h.client('w');
    w.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'willing' });
    w.one('WILLTOPICREQ');
    w.send({ type: 'WILLTOPIC', qos: 0, retain: false, willTopic: topicOf(limits.maxTopicBytes + 1) });
    await settle();
    assert.equal(w.one('CONNACK').returnCode, 3);

    c.send({ type: 'WILLTOPICUPD', qos: 0, retain: false, willTopic: topicOf(limits.maxTopicBytes + 1) });
    await settle();
    assert.equal(c.one('WILLTOPICRESP').returnCode, 3);
    assert.equal(h.gateway.sessions.get('dev')?.will, undefined);
  });
});

describe('gateway: limits.maxTopicBytesTotal', () => {
  it('counts registrations and subscriptions of every session, and gives them back when a session goes', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev');
    const name = topicOf(100);
    assert.equal(await registerCode(c, name), 0);
    assert.equal(h.gateway.topicBytes.bytes, 100 + TOPIC_ENTRY_OVERHEAD);
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 2, topicIdType: 'normal', topicName: 'cmd/#' });
    await settle();
    c.one('SUBACK');
    assert.equal(h.gateway.topicBytes.bytes, 100 + 5 + 2 * TOPIC_ENTRY_OVERHEAD);
    c.send({ type: 'DISCONNECT' });
    await settle();
    assert.equal(h.gateway.sessions.has('dev'), false);
    assert.equal(h.gateway.topicBytes.bytes, 0);
  });

  it('answers 0x01 once the default budget is spent, and a session that goes makes room', async () => {
    const h = await harness();
    const perEntry = limits.maxTopicBytes + TOPIC_ENTRY_OVERHEAD;
    const fit = Math.floor(limits.maxTopicBytesTotal / perEntry);
    const perClient = limits.maxRegistrationsPerClient;
    // Each client registers its maximum number of the longest names; the register rate limit is
    // per peer, so the fake clock moves on between bursts (bounded: `fit` registrations in all).
    const { burst, perSecond } = limits.rate.registerPerPeer;
    let made = 0;
    let clients = 0;
    const full = await (async (): Promise<TestClient> => {
      for (;;) {
        const c = h.client(`c${clients}`);
        // Keep-alive 0: the fake clock runs for the rate limit, nobody should be lost meanwhile.
        await c.connect(`c${clients}`, { keepAlive: 0 });
        for (let i = 0; i < perClient && made <= fit; i++) {
          if (i > 0 && i % burst === 0) await h.advance((burst / perSecond) * 1000);
          c.send({ type: 'REGISTER', topicId: 0, msgId: (i % 0xfffe) + 1, topicName: topicOf(limits.maxTopicBytes, clients * perClient + i) });
          const code = c.one('REGACK').returnCode;
          if (code !== 0) {
            assert.equal(code, 1, 'congestion, try later');
            return c;
          }
          made++;
        }
        clients++;
        assert.ok(clients * perClient <= fit + perClient, `the budget holds before every client is full: ${made} made, ${h.gateway.topicBytes.bytes} bytes, ${h.gateway.sessions.size} sessions`);
      }
    })();
    assert.equal(made, fit);
    // A subscription is refused too (less than one entry of the longest topic is left).
    full.send({ type: 'SUBSCRIBE', dup: false, qos: 0, msgId: 7, topicIdType: 'normal', topicName: `${topicOf(limits.maxTopicBytes - 2, -1)}/#` });
    await settle();
    assert.equal(full.one('SUBACK').returnCode, 1);
    // A clean-session client leaving gives its names back.
    const first = h.client('c0');
    first.send({ type: 'DISCONNECT' });
    await settle();
    await h.advance(60_000);
    assert.equal(await registerCode(full, topicOf(limits.maxTopicBytes, 1e9), 9), 0);
  });
});

describe('gateway: limits.maxQos2AwaitingPubrel', () => {
  it('answers PUBACK 0x01 to a QoS 2 PUBLISH beyond the cap and publishes nothing of it; a PUBREL makes room', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('dev');
    const id = await c.register('dev/q2');
    const pub = (msgId: number) => ({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId, topicIdType: 'normal', topicId: id, payload: Buffer.from(String(msgId)) }) as const;
    for (let m = 1; m <= limits.maxQos2AwaitingPubrel; m++) {
      c.send(pub(m));
      await settle();
      assert.equal(c.one('PUBREC').msgId, m);
    }
    c.send(pub(1000));
    await settle();
    const refused = c.one('PUBACK');
    assert.deepEqual([refused.msgId, refused.returnCode], [1000, 1]);
    assert.equal(h.broker.on('dev/q2').length, limits.maxQos2AwaitingPubrel);
    assert.equal(h.gateway.sessions.get('dev')?.qos2Received.size, limits.maxQos2AwaitingPubrel);

    c.send({ type: 'PUBREL', msgId: 1 });
    c.one('PUBCOMP');
    c.send(pub(1000));
    await settle();
    assert.equal(c.one('PUBREC').msgId, 1000);
    assert.equal(h.broker.on('dev/q2').at(-1), '1000');
  });
});
