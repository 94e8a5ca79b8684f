/**
 * The state guard, read directly: what a client may send in each state (MQTT-SN.md §4.1, §4.3,
 * §4.8, §4.12), and what gets in while the gateway drains. The behaviour behind each verdict is
 * driven packet by packet in the other gateway tests; here the table itself is pinned.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MsgType, type Packet, type PacketType } from '../../src/codec/index.js';
import { drain } from '../../src/gateway/drain.js';
import { admittedWhileDraining, GUARD, verdict, type GuardState } from '../../src/gateway/guard.js';
import { harness, settle } from './harness.js';

const STATES: GuardState[] = ['none', 'await-willtopic', 'await-willmsg', 'active', 'asleep', 'awake', 'disconnected', 'lost'];
const GATEWAY_SENDS: PacketType[] = ['ADVERTISE', 'GWINFO', 'CONNACK', 'WILLTOPICREQ', 'WILLMSGREQ', 'SUBACK', 'UNSUBACK', 'PINGRESP', 'WILLTOPICRESP', 'WILLMSGRESP'];

const column = (type: PacketType): string[] => STATES.map((s) => verdict(s, type));

describe('gateway: state guard table', () => {
  it('lets CONNECT, PUBLISH (QoS -1 needs no session), PINGREQ, DISCONNECT, SEARCHGW and PUBREL in from anyone', () => {
    for (const t of ['CONNECT', 'PUBLISH', 'PINGREQ', 'DISCONNECT', 'SEARCHGW', 'PUBREL'] as const) {
      assert.deepEqual(column(t), STATES.map(() => 'handle'), t);
    }
  });

  it('takes REGISTER, SUBSCRIBE, UNSUBSCRIBE and will updates only from a connected client', () => {
    for (const t of ['REGISTER', 'SUBSCRIBE', 'UNSUBSCRIBE', 'WILLTOPICUPD', 'WILLMSGUPD'] as const) {
      // none: told to CONNECT; will exchange: dropped without ending it; asleep and after: told to CONNECT again
      assert.deepEqual(column(t), ['unknownClient', 'notYet', 'notYet', 'handle', 'badState', 'handle', 'badState', 'badState'], t);
    }
  });

  it('takes will messages only inside the will exchange, and a repeated WILLMSG after CONNACK', () => {
    assert.deepEqual(column('WILLTOPIC'), ['unknownClient', 'handle', 'handle', 'outOfDance', 'outOfDance', 'outOfDance', 'outOfDance', 'outOfDance']);
    assert.deepEqual(column('WILLMSG'), ['unknownClient', 'outOfDance', 'handle', 'handle', 'outOfDance', 'outOfDance', 'outOfDance', 'outOfDance']);
  });

  it('takes answers to its own requests from any session, and tells an address without one to CONNECT', () => {
    for (const t of ['REGACK', 'PUBACK', 'PUBREC', 'PUBCOMP'] as const) {
      assert.deepEqual(column(t), ['unknownClient', ...STATES.slice(1).map(() => 'handle')], t);
    }
  });

  it('never handles what only a gateway sends, and answers it from an unknown address with nothing', () => {
    for (const t of GATEWAY_SENDS) assert.deepEqual(column(t), ['ignore', ...STATES.slice(1).map(() => 'gatewaySends')], t);
    assert.deepEqual(column('ENCAPSULATED'), ['notForwarder', ...STATES.slice(1).map(() => 'gatewaySends')]);
  });

  it('has a row for every packet type, and a cell for every state', () => {
    assert.deepEqual(Object.keys(GUARD).sort(), Object.keys(MsgType).sort());
    for (const row of Object.values(GUARD)) assert.deepEqual(Object.keys(row).sort(), [...STATES].sort());
  });
});

describe('gateway: drain', () => {
  it('admits only what completes work already accepted', () => {
    const q2 = (msgId: number): Packet => ({ type: 'PUBLISH', dup: true, qos: 2, retain: false, msgId, topicIdType: 'normal', topicId: 1, payload: Buffer.from('x') });
    const active = { state: 'active', qos2Received: new Set([7]) } as unknown as Parameters<typeof admittedWhileDraining>[1];
    assert.equal(admittedWhileDraining({ type: 'PUBREL', msgId: 7 }, undefined), true);
    assert.equal(admittedWhileDraining({ type: 'PINGREQ' }, active), true, 'a keep-alive');
    assert.equal(admittedWhileDraining({ type: 'PINGREQ', clientId: 'sleeper' }, active), false, 'a wake-up would start a flush');
    assert.equal(admittedWhileDraining(q2(7), active), true, 'a repeat of a QoS 2 message it holds');
    assert.equal(admittedWhileDraining(q2(8), active), false, 'a new QoS 2 message');
    assert.equal(admittedWhileDraining({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'x' }, undefined), false);
  });

  it('finishes a QoS 2 exchange on the injected clock while new work is dropped unanswered', async () => {
    const h = await harness();
    const c = h.client('a');
    await c.connect('a');
    const id = await c.register('d/t');
    c.send({ type: 'PUBLISH', dup: false, qos: 2, retain: false, msgId: 7, topicIdType: 'normal', topicId: id, payload: Buffer.from('x') });
    await settle();
    c.one('PUBREC');

    const started = h.clock.now();
    const done: { result?: Awaited<ReturnType<typeof drain>> } = {};
    const drained = drain(h.gateway, { graceMs: 5000, pollMs: 25 }).then((r) => (done.result = r));
    await settle();
    const late = h.client('b');
    late.send({ type: 'CONNECT', will: false, cleanSession: true, protocolId: 1, duration: 60, clientId: 'b' });
    c.send({ type: 'PUBREL', msgId: 7 });
    await settle();
    late.nothing();
    c.one('PUBCOMP');
    // Settled needs two quiet looks a poll apart, on the gateway's clock: nothing ends without it moving.
    await h.advance(25);
    assert.equal(done.result, undefined, 'one quiet look is not enough');
    await h.advance(25);
    const result = await drained;
    assert.equal(result.settled, true);
    assert.equal(result.refused, 1, 'the new CONNECT');
    assert.equal(result.waitedMs, h.clock.now() - started);
  });
});
