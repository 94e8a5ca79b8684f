/**
 * What every `OutboundQueue` must do, whatever keeps it (memory now, SQLite later): order, acks in
 * any order, the count and byte limits with drop-oldest, seqs that are never reused. A durable
 * implementation also passes `reopen`, which checks that its content survives closing.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, OutboundQueue, OutboundQueueLimits, QueuedMessage } from '../../src/store/types.js';

export interface OutboundQueueFactory {
  /** A new, empty queue. */
  open: (limits: OutboundQueueLimits) => OutboundQueue | Promise<OutboundQueue>;
  /** Closes `queue` and opens the same storage again (durable implementations only). */
  reopen?: (queue: OutboundQueue) => Promise<OutboundQueue>;
  /** Removes whatever `open` created on disk. */
  cleanup?: () => Promise<void>;
}

const BIG: OutboundQueueLimits = { maxMessages: 1_000_000, maxBytes: 1 << 30 };

const msg = (topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 1, retain = false): Message => ({
  topic,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  qos,
  retain,
});

/** Comparable form of entries: `topic=payload` strings. */
const show = (entries: readonly QueuedMessage[]): string[] => entries.map((e) => `${e.topic}=${e.payload.toString()}`);

/** A deterministic [0, 1) source, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function outboundQueueConformance(name: string, factory: OutboundQueueFactory): void {
  describe(`OutboundQueue conformance: ${name}`, () => {
    const opened: OutboundQueue[] = [];
    const open = async (limits: OutboundQueueLimits = BIG): Promise<OutboundQueue> => {
      const q = await factory.open(limits);
      opened.push(q);
      return q;
    };
    afterEach(async () => {
      for (const q of opened.splice(0)) await q.close();
      await factory.cleanup?.();
    });

    it('starts empty', async () => {
      const q = await open();
      assert.equal(q.size, 0);
      assert.equal(q.bytes, 0);
      assert.equal(q.dropped, 0);
      assert.deepEqual(q.peek(10), []);
      assert.equal(q.shift(), undefined);
      assert.equal(q.ack(1), false);
    });

    it('keeps push order, every field, and hands out increasing seqs above 0', async () => {
      const q = await open();
      const binary = Buffer.from([0, 255, 1, 254]);
      const a = q.push(msg('a/1', 'one', 1, false)).queued!;
      const b = q.push(msg('a/ü', binary, 2, true)).queued!;
      const c = q.push(msg('a/3', '', 0, false)).queued!;
      assert.ok(a.seq > 0 && b.seq > a.seq && c.seq > b.seq);
      const all = q.peek(10);
      assert.deepEqual(
        all.map((e) => ({ seq: e.seq, topic: e.topic, payload: e.payload.toString('hex'), qos: e.qos, retain: e.retain })),
        [
          { seq: a.seq, topic: 'a/1', payload: Buffer.from('one').toString('hex'), qos: 1, retain: false },
          { seq: b.seq, topic: 'a/ü', payload: binary.toString('hex'), qos: 2, retain: true },
          { seq: c.seq, topic: 'a/3', payload: '', qos: 0, retain: false },
        ],
      );
      assert.equal(q.size, 3);
    });

    it('counts bytes as the topic in UTF-8 plus the payload', async () => {
      const q = await open();
      q.push(msg('é', 'xyz')); // 2 + 3
      q.push(msg('ab', Buffer.alloc(10))); // 2 + 10
      assert.equal(q.bytes, 17);
      q.shift();
      assert.equal(q.bytes, 12);
    });

    it('peeks a window, and reads on after a seq without removing anything', async () => {
      const q = await open();
      const seqs = [1, 2, 3, 4, 5].map((i) => q.push(msg(`t/${i}`, String(i))).queued!.seq);
      assert.deepEqual(show(q.peek(2)), ['t/1=1', 't/2=2']);
      assert.deepEqual(show(q.peek(2, seqs[1])), ['t/3=3', 't/4=4']);
      assert.deepEqual(show(q.peek(10, seqs[3])), ['t/5=5']);
      assert.deepEqual(q.peek(10, seqs[4]), []);
      assert.deepEqual(q.peek(10, seqs[4]! + 100), []);
      assert.deepEqual(q.peek(0), []);
      assert.equal(q.size, 5);
    });

    it('shifts the oldest, in order', async () => {
      const q = await open();
      for (const i of [1, 2, 3]) q.push(msg('t', String(i)));
      assert.equal(q.shift()?.payload.toString(), '1');
      assert.equal(q.shift()?.payload.toString(), '2');
      assert.equal(q.size, 1);
      assert.equal(q.shift()?.payload.toString(), '3');
      assert.equal(q.shift(), undefined);
      assert.equal(q.bytes, 0);
    });

    it('acks in any order; an entry goes once', async () => {
      const q = await open();
      const seqs = [1, 2, 3, 4].map((i) => q.push(msg('t', String(i))).queued!.seq);
      assert.equal(q.ack(seqs[2]!), true);
      assert.equal(q.ack(seqs[2]!), false, 'a second ack finds nothing');
      assert.deepEqual(show(q.peek(10)), ['t=1', 't=2', 't=4']);
      assert.deepEqual(show(q.peek(10, seqs[1])), ['t=4'], 'reading on skips the acked entry');
      assert.equal(q.ack(seqs[0]!), true);
      assert.deepEqual(show(q.peek(10)), ['t=2', 't=4']);
      assert.equal(q.shift()?.payload.toString(), '2');
      assert.equal(q.ack(seqs[3]!), true);
      assert.equal(q.size, 0);
      assert.equal(q.bytes, 0);
      assert.equal(q.ack(0), false);
      assert.equal(q.ack(-5), false);
      assert.equal(q.ack(seqs[3]! + 1000), false);
    });

    it('drops the oldest when the count limit is reached, and counts it', async () => {
      const q = await open({ maxMessages: 3, maxBytes: 1 << 20 });
      const results = [1, 2, 3, 4, 5].map((i) => q.push(msg('t', String(i))));
      assert.deepEqual(results.map((r) => r.dropped), [0, 0, 0, 1, 1]);
      assert.equal(q.size, 3);
      assert.equal(q.dropped, 2);
      assert.deepEqual(show(q.peek(10)), ['t=3', 't=4', 't=5']);
    });

    it('drops as many of the oldest as the byte limit needs', async () => {
      const q = await open({ maxMessages: 100, maxBytes: 30 });
      q.push(msg('t', Buffer.alloc(9))); // 10
      q.push(msg('t', Buffer.alloc(9))); // 10
      q.push(msg('t', Buffer.alloc(9))); // 10: exactly full
      assert.equal(q.dropped, 0);
      const r = q.push(msg('u', Buffer.alloc(19))); // 20: two must go
      assert.equal(r.dropped, 2);
      assert.equal(q.size, 2);
      assert.equal(q.bytes, 30);
      assert.deepEqual(q.peek(10).map((e) => e.topic), ['t', 'u']);
    });

    it('refuses, and counts, a message larger than the byte limit without touching the rest', async () => {
      const q = await open({ maxMessages: 100, maxBytes: 30 });
      q.push(msg('t', 'small'));
      const r = q.push(msg('t', Buffer.alloc(40)));
      assert.equal(r.queued, undefined);
      assert.equal(r.dropped, 1);
      assert.equal(q.dropped, 1);
      assert.deepEqual(show(q.peek(10)), ['t=small']);
    });

    it('an entry dropped while in flight is not acked later', async () => {
      const q = await open({ maxMessages: 2, maxBytes: 1 << 20 });
      const inFlight = q.peek(1, 0);
      assert.equal(inFlight.length, 0);
      const first = q.push(msg('t', '1')).queued!;
      q.push(msg('t', '2'));
      q.push(msg('t', '3'));
      assert.equal(q.ack(first.seq), false);
      assert.deepEqual(show(q.peek(10, first.seq)), ['t=2', 't=3'], 'reading on after a dropped seq still works');
    });

    it('never reuses a seq, also after the queue ran empty or was cleared', async () => {
      const q = await open({ maxMessages: 2, maxBytes: 1 << 20 });
      let last = 0;
      const check = (seq: number): void => {
        assert.ok(seq > last, `${seq} after ${last}`);
        last = seq;
      };
      for (let i = 0; i < 5; i++) check(q.push(msg('t', String(i))).queued!.seq);
      while (q.shift() !== undefined);
      check(q.push(msg('t', 'x')).queued!.seq);
      q.ack(last);
      check(q.push(msg('t', 'y')).queued!.seq);
      q.clear();
      assert.equal(q.size, 0);
      assert.equal(q.bytes, 0);
      assert.equal(q.dropped, 3, 'clear does not count as dropping');
      check(q.push(msg('t', 'z')).queued!.seq);
      assert.deepEqual(show(q.peek(10)), ['t=z']);
    });

    it('agrees with a plain array model over a long random run', async () => {
      const limits = { maxMessages: 50, maxBytes: 600 };
      const q = await open(limits);
      const random = seeded(42);
      let model: Array<{ seq: number; body: string; size: number }> = [];
      let inFlight: number[] = [];
      let cursor = 0;
      let droppedModel = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = random();
        if (r < 0.45) {
          const body = 'x'.repeat(Math.floor(random() * 40));
          const topic = `t/${step % 7}`;
          const size = topic.length + body.length;
          const res = q.push(msg(topic, body));
          const seq = res.queued!.seq;
          model.push({ seq, body: `${topic}=${body}`, size });
          let dropped = 0;
          while (model.length > limits.maxMessages || model.reduce((s, e) => s + e.size, 0) > limits.maxBytes) {
            model.shift();
            dropped++;
          }
          droppedModel += dropped;
          assert.equal(res.dropped, dropped, `step ${step}: dropped`);
        } else if (r < 0.75) {
          // The sender's read-ahead.
          const got = q.peek(5, cursor);
          const want = model.filter((e) => e.seq > cursor).slice(0, 5);
          assert.deepEqual(show(got), want.map((e) => e.body), `step ${step}: peek`);
          for (const e of got) inFlight.push(e.seq);
          if (got.length > 0) cursor = got[got.length - 1]!.seq;
        } else if (r < 0.95) {
          if (inFlight.length === 0) continue;
          const i = Math.floor(random() * inFlight.length);
          const seq = inFlight[i]!;
          inFlight.splice(i, 1);
          const present = model.some((e) => e.seq === seq);
          assert.equal(q.ack(seq), present, `step ${step}: ack ${seq}`);
          model = model.filter((e) => e.seq !== seq);
        } else if (r < 0.98) {
          // A reconnect: everything unacked is read again from the start.
          cursor = 0;
          inFlight = [];
        } else {
          const got = q.shift();
          const want = model.shift();
          assert.equal(got?.seq, want?.seq, `step ${step}: shift`);
        }
        assert.equal(q.size, model.length, `step ${step}: size`);
        assert.equal(q.bytes, model.reduce((s, e) => s + e.size, 0), `step ${step}: bytes`);
      }
      assert.equal(q.dropped, droppedModel);
    });

    if (factory.reopen !== undefined) {
      const reopen = factory.reopen;
      it('keeps entries, order and seqs across a reopen', async () => {
        const q = await open();
        const seqs = [1, 2, 3].map((i) => q.push(msg('t', String(i), 2, i === 2)).queued!.seq);
        q.ack(seqs[0]!);
        const again = await reopen(q);
        opened.splice(opened.indexOf(q), 1, again);
        assert.deepEqual(
          again.peek(10).map((e) => [e.seq, e.payload.toString(), e.qos, e.retain]),
          [
            [seqs[1], '2', 2, true],
            [seqs[2], '3', 2, false],
          ],
        );
        assert.equal(again.size, 2);
        assert.equal(again.bytes, 4);
        assert.ok(again.push(msg('t', '4')).queued!.seq > seqs[2]!);
      });
    }
  });
}
