/** The memory outbound queue against the shared conformance suite, plus what only it promises. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryOutboundQueue } from '../../src/store/memory-queue.js';
import { outboundQueueConformance } from './outbound-queue.conformance.js';

outboundQueueConformance('memory', { open: (limits) => new MemoryOutboundQueue(limits) });

describe('MemoryOutboundQueue', () => {
  it('refuses limits below 1', () => {
    assert.throws(() => new MemoryOutboundQueue({ maxMessages: 0, maxBytes: 10 }), RangeError);
    assert.throws(() => new MemoryOutboundQueue({ maxMessages: 10, maxBytes: 0 }), RangeError);
  });

  it('stays correct over a long run with a window in flight (compaction)', () => {
    const q = new MemoryOutboundQueue({ maxMessages: 1_000_000, maxBytes: 1 << 30 });
    const payload = Buffer.alloc(20);
    const inFlight: number[] = [];
    let cursor = 0;
    let acked = 0;
    for (let i = 0; i < 200_000; i++) {
      q.push({ topic: 'bench/t', payload, qos: 1, retain: false });
      for (const e of q.peek(100 - inFlight.length, cursor)) {
        inFlight.push(e.seq);
        cursor = e.seq;
      }
      // Acks come back slightly out of order, as QoS 1 and 2 acks interleave.
      if (inFlight.length >= 100) {
        for (const seq of inFlight.splice(0, 50).reverse()) {
          assert.ok(q.ack(seq));
          acked++;
        }
      }
    }
    // How fast this runs is the bench's business (`npm run bench`), not a test's.
    assert.equal(q.size, 200_000 - acked);
  });
});
