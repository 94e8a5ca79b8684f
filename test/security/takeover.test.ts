/**
 * #16 §3: one rule for a CONNECT and a sleeper's PINGREQ, which both name a client id and would
 * hand over its session, a sleeper's buffered messages included. `auth.takeover: "deny"` used to
 * hold only for a connected client: a CONNECT with a sleeper's id took its buffer. And a sleeper
 * restored from a store whose transport was renamed (no previous peer known) could be woken by a
 * peer the allow-list refuses. Now the allow-list is checked on both, and under "deny" a session in
 * use (connected, in its will exchange, asleep, awake) stays with its peer, an unknown one included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimError, SimNode, UdpLink, type SimMessage } from '../../firmware-sim/index.js';
import type { Packet } from '../../src/codec/index.js';
import { ReturnCode } from '../../src/codec/index.js';
import { createGateway, parseConfig } from '../../src/index.js';
import { MemorySessionStore } from '../../src/store/memory-session-store.js';
import type { StoredState } from '../../src/store/session-store.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { harness, settle, type Harness } from '../gateway/harness.js';
import { snNode, until } from '../bridge/harness.js';

/** A store whose sessions come back under a transport name this gateway no longer has. */
class RenamedTransportStore extends MemorySessionStore {
  override async load(): Promise<StoredState> {
    const state = await super.load();
    return { ...state, sessions: state.sessions.map((s) => ({ ...s, transport: 'radio-before-rename' })) };
  }
}

/** 'dev' asleep at udp:10.0.0.1:1 with one message buffered on `cmd`. */
async function sleeperWithMail(h: Harness): Promise<void> {
  const a = h.client('udp:10.0.0.1:1');
  await a.connect('dev', { cleanSession: false });
  await a.subscribe('cmd', 1);
  a.send({ type: 'DISCONNECT', duration: 600 });
  a.one('DISCONNECT');
  await h.publishFromBroker('cmd', 'for dev only', 1);
  assert.equal(h.gateway.sessions.get('dev')?.queue.length, 1);
}

const carriesMail = (packets: readonly Packet[]): boolean => packets.some((p) => p.type === 'PUBLISH' || p.type === 'REGISTER');

describe('takeover: one rule for CONNECT and PINGREQ (gateway core)', () => {
  it('"deny": a CONNECT with a sleeper\'s id from another peer is refused and gets none of its messages', async () => {
    const h = await harness({ auth: { takeover: 'deny' } });
    await sleeperWithMail(h);
    const thief = h.client('udp:6.6.6.6:1');
    thief.send({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: 'dev' });
    await settle();
    const got = thief.take();
    assert.deepEqual(got.map((p) => p.type), ['CONNACK']);
    assert.equal(got[0]?.type === 'CONNACK' && got[0].returnCode, ReturnCode.NOT_SUPPORTED);
    thief.send({ type: 'CONNECT', will: true, cleanSession: true, protocolId: 1, duration: 60, clientId: 'dev' });
    await settle();
    assert.equal(thief.one('CONNACK').returnCode, ReturnCode.NOT_SUPPORTED);
    assert.equal(h.gateway.stats.dropped.takeoverRefused, 2);
    const s = h.gateway.sessions.get('dev');
    assert.equal(s?.state, 'asleep');
    assert.equal(s?.queue.length, 1, 'the buffer is still the sleeper\'s');
  });

  it('a restored sleeper with no known peer cannot be woken from a peer the allow-list refuses', async () => {
    const auth = { clients: [{ clientId: 'dev', peers: ['udp:10.0.0.0/8'] }] };
    const h = await harness({ auth }, new RenamedTransportStore());
    await sleeperWithMail(h);
    await h.restart();
    assert.equal(h.gateway.sessions.get('dev')?.link, undefined, 'no previous peer known');
    const thief = h.client('udp:6.6.6.6:1');
    thief.send({ type: 'PINGREQ', clientId: 'dev' });
    await settle();
    const got = thief.take();
    assert.deepEqual(got.map((p) => p.type), ['DISCONNECT']);
    assert.equal(h.gateway.stats.dropped.notAuthorized, 1);
    // The device itself, from where it is allowed, still wakes (takeover "allow", the default).
    const dev = h.client('udp:10.0.0.1:1');
    dev.send({ type: 'PINGREQ', clientId: 'dev' });
    await settle();
    assert.ok(carriesMail(dev.take()), 'the sleeper gets its messages');
  });

  it('"deny": an unknown previous peer counts as another peer, for PINGREQ and CONNECT alike', async () => {
    const h = await harness({ auth: { takeover: 'deny' } }, new RenamedTransportStore());
    await sleeperWithMail(h);
    await h.restart();
    const anyone = h.client('udp:10.0.0.1:1');
    anyone.send({ type: 'PINGREQ', clientId: 'dev' });
    await settle();
    assert.deepEqual(anyone.take().map((p) => p.type), ['DISCONNECT']);
    anyone.send({ type: 'CONNECT', will: false, cleanSession: false, protocolId: 1, duration: 60, clientId: 'dev' });
    await settle();
    assert.equal(anyone.one('CONNACK').returnCode, ReturnCode.NOT_SUPPORTED);
    assert.equal(h.gateway.stats.dropped.takeoverRefused, 2);
    assert.equal(h.gateway.sessions.get('dev')?.queue.length, 1);
  });
});

describe('takeover "deny" over real UDP with the real broker core', () => {
  it('a second node connecting with a sleeping node\'s id is refused; the sleeper wakes to its message', async () => {
    const running = await createGateway(parseConfig({ transports: [{ type: 'udp', host: '127.0.0.1', port: 0 }], broker: { listen: [] }, auth: { takeover: 'deny' } }));
    const nodes: SimNode[] = [];
    try {
      const udp = running.transports[0];
      if (!(udp instanceof UdpTransport)) throw new Error('expected a UDP transport');
      const port = udp.address().port;
      const sleeper = await snNode(port, 'valve-7', { cleanSession: false });
      nodes.push(sleeper);
      await sleeper.subscribe('valves/7/set', 1);
      await sleeper.sleep(600);
      await running.broker.publish({ topic: 'valves/7/set', payload: Buffer.from('open'), qos: 1, retain: false });
      await until(() => running.gateway.sessions.get('valve-7')?.queue.length === 1, 5000, 'the message buffered for the sleeper');
      const link = await UdpLink.open({ gateway: { host: '127.0.0.1', port, family: 4 } });
      const thief = new SimNode({ link, clientId: 'valve-7', retryMs: 1000, reconnect: false });
      nodes.push(thief);
      const got: SimMessage[] = [];
      thief.on('message', (m) => got.push(m));
      const refused = await thief.connect({ cleanSession: false }).then(
        () => undefined,
        (e: unknown) => (e instanceof SimError ? e.returnCode : e),
      );
      assert.equal(refused, ReturnCode.NOT_SUPPORTED);
      const woke = await sleeper.wake();
      assert.deepEqual(woke.map((m) => [m.topic, m.payload.toString()]), [['valves/7/set', 'open']]);
      assert.deepEqual(got, []);
    } finally {
      for (const n of nodes) await n.close();
      await running.close();
    }
  });
});
