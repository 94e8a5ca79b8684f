/**
 * MQTT-SN client steps for the kill tests, on the bare `SnClient` of the integration tests: each
 * step retries as a device does (same MsgId, DUP set) and can be held at a gate while the gateway
 * is down, so that nothing reaches the restarted gateway before the test is ready for it.
 */
import assert from 'node:assert/strict';
import type { Packet, PacketOf, PublishPacket } from '../../src/codec/index.js';
import type { SnClient } from '../integration/gateway-process.js';
import { until as waitUntil } from '../helpers/wait.js';

/** Closed while the gateway is down: retries wait at it instead of going nowhere. */
export class Gate {
  #open: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  close(): void {
    if (this.#release !== undefined) return;
    this.#open = new Promise<void>((resolve) => (this.#release = resolve));
  }

  open(): void {
    this.#release?.();
    this.#release = undefined;
  }

  pass(): Promise<void> {
    return this.#open;
  }
}

const OPEN = new Gate();

/** The answer of `type` to `msgId`, resending `request` (marked DUP where it has the flag) every `retryMs`. */
type Answer = 'PUBACK' | 'PUBREC' | 'PUBCOMP' | 'REGACK';

export async function exchange<T extends Answer>(
  c: SnClient,
  request: Packet,
  type: T,
  msgId: number,
  opts: { gate?: Gate; retryMs?: number; tries?: number } = {},
): Promise<PacketOf<T>> {
  const gate = opts.gate ?? OPEN;
  const tries = opts.tries ?? 40;
  let packet = request;
  for (let attempt = 0; attempt < tries; attempt++) {
    await gate.pass();
    c.send(packet);
    const deadline = Date.now() + (opts.retryMs ?? 400);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let answer: PacketOf<Answer>;
      try {
        answer = await c.next<Answer>(type, left);
      } catch {
        break; // no answer in time: send again
      }
      if (answer.msgId === msgId) return answer as PacketOf<T>;
    }
    if (packet.type === 'PUBLISH') packet = { ...packet, dup: true };
  }
  throw new Error(`no ${type} for MsgId ${msgId} after ${tries} tries`);
}

export async function register(c: SnClient, topicName: string, msgId: number): Promise<number> {
  const ack = await exchange(c, { type: 'REGISTER', topicId: 0, msgId, topicName }, 'REGACK', msgId);
  assert.equal(ack.returnCode, 0, `REGISTER ${topicName}`);
  return ack.topicId;
}

export async function subscribe(c: SnClient, topicName: string, qos: 0 | 1 | 2, msgId: number): Promise<void> {
  c.send({ type: 'SUBSCRIBE', dup: false, qos, msgId, topicIdType: 'normal', topicName });
  const ack = await c.next('SUBACK');
  assert.equal(ack.returnCode, 0, `SUBSCRIBE ${topicName}`);
}

export function publish(topicId: number, msgId: number, qos: 1 | 2, payload: string): PublishPacket {
  return { type: 'PUBLISH', dup: false, qos, retain: false, msgId, topicIdType: 'normal', topicId, payload: Buffer.from(payload) };
}

/** A QoS 1 PUBLISH until its PUBACK (0x00) comes. */
export async function publishQos1(c: SnClient, topicId: number, msgId: number, payload: string, gate?: Gate): Promise<void> {
  const ack = await exchange(c, publish(topicId, msgId, 1, payload), 'PUBACK', msgId, { gate });
  assert.equal(ack.returnCode, 0, `PUBACK for ${payload}`);
}

/** PUBREL until PUBCOMP. */
export async function release(c: SnClient, msgId: number, gate?: Gate): Promise<void> {
  await exchange(c, { type: 'PUBREL', msgId }, 'PUBCOMP', msgId, { gate });
}

/**
 * Answers whatever the gateway sends to a woken sleeper (REGISTER, PUBLISH at QoS 1 and 2,
 * PUBREL) until PINGRESP, and returns the PUBLISHes in arrival order.
 */
export async function drainWake(c: SnClient, timeoutMs = 10_000): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let batch: Packet[] = [];
    const why = `PINGRESP within ${timeoutMs} ms; got ${got.map((p) => p.payload.toString()).join(', ')}`;
    await waitUntil(() => (batch = c.pending()).length > 0, Math.max(0, deadline - Date.now()), why);
    for (const p of batch) {
      switch (p.type) {
        case 'REGISTER':
          c.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
          break;
        case 'PUBLISH':
          got.push(p);
          if (p.qos === 1) c.send({ type: 'PUBACK', topicId: p.topicIdType === 'normal' || p.topicIdType === 'predefined' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
          if (p.qos === 2) c.send({ type: 'PUBREC', msgId: p.msgId });
          break;
        case 'PUBREL':
          c.send({ type: 'PUBCOMP', msgId: p.msgId });
          break;
        case 'PINGRESP':
          return got;
        default:
          throw new Error(`a waking sleeper got ${p.type}`);
      }
    }
  }
}

/** wait.ts `until` with the argument order these tests use; throws naming `what` after `ms`. */
export function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  return waitUntil(cond, ms, what);
}

/** Packets read off a client while looking for a PUBLISH, left for the next look. */
const unread = new WeakMap<SnClient, Packet[]>();

/** The next PUBLISH, REGISTERs on the way answered (other packets are passed over). */
export async function nextPublish(dev: SnClient): Promise<PublishPacket> {
  const queue = unread.get(dev) ?? [];
  unread.set(dev, queue);
  for (;;) {
    await until('a REGISTER or PUBLISH', () => {
      queue.push(...dev.pending());
      return queue.some((p) => p.type === 'REGISTER' || p.type === 'PUBLISH');
    });
    const p = queue.splice(0, queue.findIndex((q) => q.type === 'REGISTER' || q.type === 'PUBLISH') + 1).pop();
    if (p?.type === 'PUBLISH') return p;
    if (p?.type === 'REGISTER') dev.send({ type: 'REGACK', topicId: p.topicId, msgId: p.msgId, returnCode: 0 });
  }
}

export function puback(dev: SnClient, p: PublishPacket): void {
  dev.send({ type: 'PUBACK', topicId: p.topicIdType === 'normal' ? p.topicId : 0, msgId: p.msgId, returnCode: 0 });
}

/** The device's half of a QoS 2 delivery (MQTT-SN 1.2 §6.7): PUBREC, then PUBCOMP to the gateway's PUBREL. */
export async function receiveQos2(dev: SnClient, p: PublishPacket): Promise<void> {
  assert.equal(p.qos, 2, `${p.payload.toString()} comes at QoS 2`);
  dev.send({ type: 'PUBREC', msgId: p.msgId });
  const rel = await dev.next('PUBREL');
  assert.equal(rel.msgId, p.msgId);
  dev.send({ type: 'PUBCOMP', msgId: p.msgId });
}
