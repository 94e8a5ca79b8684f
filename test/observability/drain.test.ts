/**
 * The drain's gate, in process over real UDP: while stopping, answers that finish a handshake
 * get through and everything that would start new work is dropped unanswered.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { drain, type DrainableGateway } from '../../src/gateway/drain.js';
import { createGateway, type RunningGateway } from '../../src/index.js';
import { expectNothing, until } from '../helpers/wait.js';
import { freeTcpPort, freeUdpPort, SnClient } from '../integration/gateway-process.js';

/**
 * `gateway` as the drain sees it, telling when it has begun draining: from then on new work is
 * refused (the moment a test must wait for, instead of a fixed delay).
 */
function watchedGateway(gateway: RunningGateway['gateway']): { view: DrainableGateway; draining: () => boolean } {
  let draining = false;
  const view: DrainableGateway = new Proxy(gateway, {
    get(target, key) {
      if (key === 'startDraining') {
        return async (): Promise<void> => {
          await target.startDraining();
          draining = true;
        };
      }
      const v: unknown = Reflect.get(target, key);
      // Methods run on the gateway itself: its private fields are not the proxy's.
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { view, draining: () => draining };
}

describe('observability: drain', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  async function setup(): Promise<{ running: RunningGateway; udpPort: number; mqttPort: number }> {
    const udpPort = await freeUdpPort();
    const mqttPort = await freeTcpPort();
    const running = await createGateway(
      parseConfig({
        transports: [{ type: 'udp', host: '127.0.0.1', port: udpPort }],
        broker: { listen: [{ host: '127.0.0.1', port: mqttPort }] },
        timers: { advertiseIntervalSec: 0 },
      }),
    );
    open.push(running);
    return { running, udpPort, mqttPort };
  }

  async function client(port: number): Promise<SnClient> {
    const c = await SnClient.open(port);
    open.push(c);
    return c;
  }

  it('returns at once when nothing is under way', async () => {
    const { running } = await setup();
    const r = await drain(running.gateway, { graceMs: 60_000 });
    assert.equal(r.settled, true);
    assert.equal(r.flushed, true, 'nothing was left unwritten');
    assert.ok(r.waitedMs < 60_000, `returned before the grace period ran out (${r.waitedMs} ms)`);
  });

  it('finishes a QoS 2 exchange begun before the stop, and refuses new work', async () => {
    const { running, udpPort } = await setup();
    const c = await client(udpPort);
    await c.connect('dr-1');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'dr/t' });
    const { topicId } = await c.next('REGACK');
    const q2 = { type: 'PUBLISH' as const, dup: false, qos: 2 as const, retain: false, msgId: 7, payload: Buffer.from('x'), topicIdType: 'normal' as const, topicId };
    c.send(q2);
    await c.next('PUBREC');

    const { view, draining } = watchedGateway(running.gateway);
    // The grace period only bounds the test: the handshake below finishes it.
    const drained = drain(view, { graceMs: 60_000, pollMs: 10 });
    await until(draining, 5000, 'the drain begun');

    // New work: a QoS 1 PUBLISH, a SUBSCRIBE, a CONNECT from someone else, a wake-up.
    c.send({ type: 'PUBLISH', dup: false, qos: 1, retain: false, msgId: 8, payload: Buffer.from('y'), topicIdType: 'normal', topicId });
    c.send({ type: 'SUBSCRIBE', dup: false, qos: 1, msgId: 9, topicIdType: 'normal', topicName: 'dr/#' });
    const other = await client(udpPort);
    other.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'dr-2' });
    other.send({ type: 'PINGREQ', clientId: 'dr-1' });
    // Barrier: a keep-alive passes the gate, and the frames above reached the gateway's socket
    // before it; what they caused is stored, and a second PINGRESP follows anything it sent.
    const pingRoundTrip = async (): Promise<void> => {
      c.send({ type: 'PINGREQ' });
      await c.next('PINGRESP');
    };
    await expectNothing(
      'answers to new work while stopping',
      async () => {
        await pingRoundTrip();
        await running.gateway.persistence.durable();
        await pingRoundTrip();
      },
      () => [...c.pending(), ...other.pending()],
    );

    // The handshake under way: a repeated PUBLISH gets PUBREC again, PUBREL gets PUBCOMP;
    // a keep-alive is still answered.
    c.send({ ...q2, dup: true });
    await c.next('PUBREC');
    c.send({ type: 'PINGREQ' });
    await c.next('PINGRESP');
    c.send({ type: 'PUBREL', msgId: 7 });
    await c.next('PUBCOMP');

    const r = await drained;
    assert.equal(r.settled, true);
    assert.equal(r.awaitingPubrel, 0);
    assert.equal(r.refused, 4);
    assert.equal(running.gateway.sessions.has('dr-2'), false);
  });

  it('reports what is left when the grace period runs out', async () => {
    const { running, udpPort } = await setup();
    const c = await client(udpPort);
    await c.connect('dr-3');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'dr/q2' });
    const { topicId } = await c.next('REGACK');
    c.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 3, payload: Buffer.from('z'), topicIdType: 'normal', topicId });
    await c.next('PUBREC');
    const r = await drain(running.gateway, { graceMs: 200, pollMs: 20 });
    assert.equal(r.settled, false);
    assert.equal(r.awaitingPubrel, 1);
    // Only the lower bound: it waited the grace period out (a busy machine makes it later, not earlier).
    assert.ok(r.waitedMs >= 150, `${r.waitedMs} ms`);
  });

  it('stops waiting when aborted', async () => {
    const { running, udpPort } = await setup();
    const c = await client(udpPort);
    await c.connect('dr-4');
    c.send({ type: 'REGISTER', topicId: 0, msgId: 1, topicName: 'dr/q2' });
    const { topicId } = await c.next('REGACK');
    c.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 3, payload: Buffer.from('z'), topicIdType: 'normal', topicId });
    await c.next('PUBREC');
    const hurry = new AbortController();
    const { view, draining } = watchedGateway(running.gateway);
    const drained = drain(view, { graceMs: 60_000, signal: hurry.signal });
    // Abort once it waits for the QoS 2 handshake that will not finish.
    await until(draining, 5000, 'the drain begun');
    hurry.abort();
    const r = await drained;
    assert.equal(r.settled, false);
    assert.ok(r.waitedMs < 60_000, `stopped before the grace period ran out (${r.waitedMs} ms)`);
  });
});
