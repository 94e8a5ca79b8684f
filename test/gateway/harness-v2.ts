/**
 * A 2.0 client for the gateway harness: it sends the vectors' bytes (or packets of the project's
 * 2.0 codec) and reads what the gateway sent back with the 2.0 decoder, failing on any frame that
 * is not 2.0. The vectors are the bytes the draft's figures give, so the gateway is held to them
 * rather than to its own encoder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as v2 from '../../src/codec/v2/index.js';
import { harness, settle, type Harness } from './harness.js';

interface Vector {
  name: string;
  hex: string;
}

const vectors = new Map(
  (JSON.parse(readFileSync(new URL('../fixtures/vectors-2.0.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors.map((v) => [v.name, v.hex]),
);

/** The hex of a vector of test/fixtures/vectors-2.0.json, by name. */
export function vector(name: string): string {
  const hex = vectors.get(name);
  assert.ok(hex !== undefined, `no vector ${name}`);
  return hex;
}

/** A harness (defaults but for `overrides`) and a 2.0 client at address `a`, not connected yet. */
export async function harnessV2(overrides?: Parameters<typeof harness>[0]): Promise<{ h: Harness; c: V2Client }> {
  const h = await harness(overrides);
  return { h, c: new V2Client(h, 'a') };
}

/** A CONNECT with what a test does not set at plain values: Clean Start, Keep Alive 60 s, id 1, nothing optional. */
export function connectPacket(clientId: string, fields: Partial<v2.PacketOf<'CONNECT'>> = {}): v2.PacketOf<'CONNECT'> {
  return {
    type: 'CONNECT',
    cleanStart: true,
    allowNetworkAddressChanges: false,
    allowServerSuggestedValues: false,
    packetId: 1,
    protocolVersion: v2.PROTOCOL_VERSION,
    keepAlive: 60,
    maxPacketSize: 0,
    clientId,
    ...fields,
  };
}

/** A QoS 0 will on a full Topic Name, not retained [3.1.3]. */
export function willOn(topicName: string, payload: string): v2.Will {
  return { topicType: 'name', topicName, qos: 0, retain: false, payload: Buffer.from(payload) };
}

/** A SUBSCRIBE to a filter with the options off (No Local 0, Retain as Published 0, Retain Handling 0) unless set. */
export function subscribePacket(topicFilter: string, fields: Partial<Pick<v2.PacketOf<'SUBSCRIBE'>, 'noLocal' | 'qos' | 'retainAsPublished' | 'retainHandling'>> & { packetId: number }): v2.PacketOf<'SUBSCRIBE'> {
  return { type: 'SUBSCRIBE', noLocal: false, qos: 0, retainAsPublished: false, retainHandling: 0, ...fields, topicType: 'filter', topicFilter };
}

export class V2Client {
  constructor(
    readonly h: Harness,
    readonly key: string,
  ) {}

  send(p: v2.Packet): void {
    this.h.transport.inject(this.key, v2.encode(p));
  }

  sendRaw(hex: string): void {
    this.h.transport.inject(this.key, Buffer.from(hex, 'hex'));
  }

  sendVector(name: string): void {
    this.sendRaw(vector(name));
  }

  /** The raw frames the gateway sent since the last call, as hex. */
  takeHex(): string[] {
    const frames = this.h.transport.outbox.get(this.key) ?? [];
    this.h.transport.outbox.set(this.key, []);
    return frames.map((f) => f.toString('hex'));
  }

  /** Everything the gateway sent since the last call, decoded as 2.0. */
  take(): v2.Packet[] {
    return this.takeHex().map((hex) => {
      const p = v2.decode(Buffer.from(hex, 'hex'));
      assert.ok(!(p instanceof v2.DecodeError), `gateway sent a frame that is not 2.0: ${hex}`);
      return p;
    });
  }

  one<T extends v2.PacketName>(type: T): v2.PacketOf<T> {
    const got = this.take();
    assert.equal(got.length, 1, `expected one ${type}, got ${JSON.stringify(got.map((p) => p.type))}`);
    assert.equal(got[0]!.type, type);
    return got[0] as v2.PacketOf<T>;
  }

  nothing(): void {
    assert.deepEqual(this.takeHex(), []);
  }

  /** CONNECT ({@link connectPacket} with `fields`; `sessionExpiry` is its Session Expiry Interval) and its CONNACK 0x00. */
  async connect(clientId: string, opts: Partial<v2.PacketOf<'CONNECT'>> & { sessionExpiry?: number } = {}): Promise<v2.PacketOf<'CONNACK'>> {
    const { sessionExpiry, ...fields } = opts;
    this.send(connectPacket(clientId, sessionExpiry === undefined ? fields : { ...fields, sessionExpiryInterval: sessionExpiry }));
    await settle();
    const ack = this.one('CONNACK');
    assert.equal(ack.reasonCode, 0);
    return ack;
  }

  async subscribe(topicFilter: string, qos: v2.QoS = 0, packetId = 1): Promise<v2.PacketOf<'SUBACK'>> {
    this.send(subscribePacket(topicFilter, { qos, packetId }));
    await settle();
    return this.one('SUBACK');
  }
}
