/**
 * The session machine read directly: `step(phase, event)` gives the next phase (with the link the
 * client is reached at) and the effects the shell runs, in order (MQTT-SN.md §4.3, §4.11-4.12).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { step, type Phase } from '../../src/gateway/machine.js';
import type { Link } from '../../src/gateway/types.js';
import { RecordingTransport } from './harness.js';

const transport = new RecordingTransport();
const here: Link = { transport, peer: transport.peerFromKey('a') };
const there: Link = { transport, peer: transport.peerFromKey('b') };
const kinds = (phase: Phase, event: Parameters<typeof step>[1]): string[] => step(phase, event).effects.map((e) => (e.type === 'send' ? `send ${e.packet.type}` : e.type));

describe('gateway: session machine', () => {
  it('runs the will exchange: WILLTOPICREQ, WILLMSGREQ, then CONNACK once accepted', () => {
    const asked = step({ state: 'disconnected', link: undefined }, { type: 'willRequested', link: here });
    assert.deepEqual(asked.phase, { state: 'await-willtopic', link: here });
    assert.deepEqual(kinds({ state: 'disconnected', link: undefined }, { type: 'willRequested', link: here }), ['send WILLTOPICREQ']);
    const topic = step(asked.phase, { type: 'willTopicTaken' });
    assert.deepEqual(topic.phase, { state: 'await-willmsg', link: here });
    assert.deepEqual(kinds(asked.phase, { type: 'willTopicTaken' }), ['send WILLMSGREQ']);
    assert.deepEqual(step(topic.phase, { type: 'accepted' }).phase, { state: 'active', link: here });
    // Stored before CONNACK leaves; what was kept goes out after it.
    assert.deepEqual(kinds(topic.phase, { type: 'accepted' }), ['touch', 'store', 'send CONNACK', 'supervise', 'pump']);
  });

  it('ignores a will step outside the exchange, and cannot accept a client it cannot reach', () => {
    const active: Phase = { state: 'active', link: here };
    assert.deepEqual(step(active, { type: 'willTopicTaken' }), { phase: active, effects: [] });
    const away: Phase = { state: 'asleep', link: undefined };
    assert.deepEqual(step(away, { type: 'accepted' }), { phase: away, effects: [] });
  });

  it('refuses or abandons a CONNECT into disconnected, keeping the link for the answer', () => {
    const r = step({ state: 'await-willtopic', link: here }, { type: 'refused', returnCode: 3 });
    assert.deepEqual(r.phase, { state: 'disconnected', link: here });
    assert.deepEqual(r.effects, [{ type: 'send', packet: { type: 'CONNACK', returnCode: 3 } }]);
    assert.deepEqual(kinds({ state: 'await-willmsg', link: here }, { type: 'abandoned' }), ['end']);
  });

  it('sleeps with what was in flight kept, wakes at a new address, and ends the wake with PINGRESP', () => {
    const asleep = step({ state: 'active', link: here }, { type: 'sleep' });
    assert.deepEqual(asleep.phase, { state: 'asleep', link: here });
    assert.deepEqual(asleep.effects[0], { type: 'abandonInFlight', keep: 'always' });
    assert.deepEqual(kinds({ state: 'active', link: here }, { type: 'sleep' }), ['abandonInFlight', 'touch', 'supervise', 'store']);
    const awake = step(asleep.phase, { type: 'wake', link: there });
    assert.deepEqual(awake.phase, { state: 'awake', link: there });
    assert.deepEqual(kinds(asleep.phase, { type: 'wake', link: there }), ['touch', 'unsupervise', 'pump']);
    assert.deepEqual(step(awake.phase, { type: 'flushed' }).phase, { state: 'asleep', link: there });
    assert.deepEqual(kinds(awake.phase, { type: 'flushed' }), ['send PINGRESP', 'supervise']);
    assert.deepEqual(kinds({ state: 'active', link: here }, { type: 'flushed' }), [], 'only a wake ends with PINGRESP');
  });

  it('ends a connection: DISCONNECT without the will, a loss with it', () => {
    const d = step({ state: 'active', link: here }, { type: 'disconnect' });
    assert.deepEqual(d.phase, { state: 'disconnected', link: here });
    assert.deepEqual(d.effects, [{ type: 'abandonInFlight', keep: 'ifKept' }, { type: 'unsupervise' }, { type: 'end', how: 'disconnected' }]);
    const l = step({ state: 'awake', link: here }, { type: 'lose', reason: 'keep-alive timeout' });
    assert.deepEqual(l.phase, { state: 'lost', link: here });
    assert.deepEqual(l.effects.at(-1), { type: 'end', how: 'lost', reason: 'keep-alive timeout' });
  });

  it('moves a session to a new address without changing its state', () => {
    assert.deepEqual(step({ state: 'asleep', link: here }, { type: 'moved', link: there }), { phase: { state: 'asleep', link: there }, effects: [] });
  });
});
