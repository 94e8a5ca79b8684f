/** The packet size guard: whole packets, headers split across chunks, and the first oversized header. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSizeGuard } from '../../src/broker/packet-size.js';
import { remainingLength } from '../helpers/mqtt-bytes.js';

/** A QoS 0 PUBLISH to topic 't' with `bytes` of payload. */
const publish = (bytes: number): Buffer => Buffer.concat([Buffer.from([0x30, ...remainingLength(3 + bytes), 0, 1, 0x74]), Buffer.alloc(bytes)]);

describe('PacketSizeGuard', () => {
  it('lets packets up to the limit through, in any chunking, and names the first one over it', () => {
    const ok = publish(1000);
    const over = publish(5000);
    const stream = Buffer.concat([ok, publish(0), ok, over, ok]);
    for (const step of [1, 2, 3, 7, 64, stream.length]) {
      const guard = new PacketSizeGuard(ok.length);
      let found: number | undefined;
      for (let i = 0; i < stream.length && found === undefined; i += step) found = guard.feed(stream.subarray(i, i + step));
      assert.equal(found, over.length, `chunks of ${step}`);
    }
  });

  it('refuses a CONNECT announcing 200 MB from its header alone', () => {
    const guard = new PacketSizeGuard(1024 * 1024);
    const remaining = 200 * 1024 * 1024;
    assert.equal(guard.feed(Uint8Array.from([0x10, ...remainingLength(remaining)])), 1 + 4 + remaining);
  });

  it('refuses a Remaining Length of more than four bytes', () => {
    assert.equal(new PacketSizeGuard(1 << 20).feed(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), Infinity);
  });
});
