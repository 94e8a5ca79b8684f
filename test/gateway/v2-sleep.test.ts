/**
 * MQTT-SN 2.0 sleep (draft [3.14]-[3.16], [4.14.2]): SLEEPREQ / SLEEPRESP, messages buffered
 * while asleep, PINGREQ wakes the client for them and PINGRESP ends the wake, Default Awake
 * Messages, Retain Topic Aliases 0, and the 1.5x sleep timeout. Fake clock, vector bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, settle } from './harness.js';
import { harnessV2, V2Client, vector } from './harness-v2.js';
import type * as v2 from '../../src/codec/v2/index.js';

/** A 2.0 client subscribed to `t/#` at QoS 1, asleep for 60 s (SLEEPREQ of the vector, id 81, Retain Topic Aliases 0). */
async function sleeper(connect: Partial<v2.PacketOf<'CONNECT'>> = {}): ReturnType<typeof harnessV2> {
  const { h, c } = await harnessV2();
  await c.connect('zz', { keepAlive: 30, ...connect });
  await c.subscribe('t/#', 1);
  c.sendVector('sleepreq_drop_session_aliases');
  assert.deepEqual(c.takeHex(), ['061400005100']);
  assert.equal(h.gateway.sessions.get(connect.clientId ?? 'zz')?.state, 'asleep');
  return { h, c };
}

/** Takes the next PUBLISH (after a REGISTER, which it acknowledges) and answers PUBACK. */
async function collect(c: V2Client): Promise<string> {
  let got = c.take();
  const reg = got.find((p) => p.type === 'REGISTER');
  if (reg !== undefined) {
    c.send({ type: 'REGACK', topicType: 'session', packetId: reg.packetId });
    await settle();
    got = c.take();
  }
  const pub = got.find((p) => p.type === 'PUBLISH');
  assert.ok(pub !== undefined, `a PUBLISH, got ${JSON.stringify(got.map((p) => p.type))}`);
  c.send({ type: 'PUBACK', packetId: pub.packetId! });
  await settle();
  return pub.payload.toString();
}

describe('gateway 2.0: sleep', () => {
  it('buffers messages while asleep and delivers them on PINGREQ, ending the wake with PINGRESP', async () => {
    const { h, c } = await sleeper();
    await h.publishFromBroker('t/1', 'm1', 1);
    c.nothing();
    assert.equal(h.gateway.sessions.get('zz')?.queue.length, 1);
    c.sendVector('pingreq'); // id 0x42
    await settle();
    assert.equal(await collect(c), 'm1');
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
    assert.equal(h.gateway.sessions.get('zz')?.state, 'asleep');
  });

  it('answers a PINGREQ with nothing buffered with PINGRESP at once, and stays asleep', async () => {
    const { h, c } = await sleeper();
    c.sendVector('pingreq');
    assert.deepEqual(c.takeHex(), [vector('pingresp')]);
    assert.equal(h.gateway.sessions.get('zz')?.state, 'asleep');
  });

  it('delivers at most Default Awake Messages per wake and says in PINGRESP how many wait', async () => {
    const { h, c } = await sleeper({ defaultAwakeMessages: 1 });
    for (const m of ['a', 'b', 'c']) await h.publishFromBroker('t/x', m, 1);
    c.sendRaw('040c0043');
    await settle();
    assert.equal(await collect(c), 'a');
    assert.deepEqual(c.takeHex(), ['050d004302']); // 2 remaining
    c.sendRaw('040c0044');
    await settle();
    assert.equal(await collect(c), 'b');
    assert.deepEqual(c.takeHex(), ['050d004401']);
  });

  it('re-REGISTERs a session alias after a sleep with Retain Topic Aliases 0', async () => {
    const { h, c } = await sleeper();
    await h.publishFromBroker('t/1', 'first', 1);
    c.sendVector('pingreq');
    await settle();
    assert.equal(await collect(c), 'first'); // REGISTER, then PUBLISH
    c.take();
    c.sendVector('sleepreq_drop_session_aliases');
    c.take();
    await h.publishFromBroker('t/1', 'second', 1);
    c.sendVector('pingreq');
    await settle();
    assert.deepEqual(c.take().map((p) => p.type), ['REGISTER'], 'the alias is told again after a sleep that dropped it');
  });

  it('loses a sleeper silent for 1.5 times its sleep duration, not before', async () => {
    const { h } = await sleeper();
    await h.advance(89_999);
    assert.equal(h.gateway.sessions.get('zz')?.state, 'asleep');
    await h.advance(2);
    assert.equal(h.gateway.sessions.has('zz'), false);
  });

  it('refuses a SLEEPREQ without a session with DISCONNECT 0xF4, and a sleep of 0 s as a protocol error', async () => {
    const h = await harness();
    const c = new V2Client(h, 'x');
    c.sendVector('sleepreq_drop_session_aliases');
    assert.deepEqual(c.takeHex(), ['040e04f4']);
    await c.connect('x0');
    c.sendRaw('0913000052' + '00000000');
    assert.deepEqual(c.takeHex(), ['040e0482']);
    assert.equal(h.gateway.sessions.has('x0'), false);
  });

  it('wakes a sleeper whose address changed through Connection Encapsulation, and delivers there', async () => {
    const { h, c } = await sleeper({ allowNetworkAddressChanges: true, clientId: 'test' });
    await h.publishFromBroker('t/1', 'waiting', 1);
    const there = new V2Client(h, 'b');
    there.sendVector('connection_encapsulation_pingreq'); // client "test", PINGREQ id 0x42
    await settle();
    assert.equal(await collect(there), 'waiting');
    assert.deepEqual(there.takeHex(), [vector('pingresp')]);
    c.nothing();
    assert.equal(h.gateway.sessions.get('test')?.link?.peer.key, 'b');
  });

  it('ends the connection of a client that moves without Net Addr in its CONNECT (protocol error)', async () => {
    const { h, c } = await sleeper({ clientId: 'test' });
    const there = new V2Client(h, 'b');
    there.sendVector('connection_encapsulation_pingreq');
    await settle();
    assert.deepEqual(c.takeHex(), ['040e0482']);
    there.nothing();
    assert.equal(h.gateway.sessions.has('test'), false);
  });
});
