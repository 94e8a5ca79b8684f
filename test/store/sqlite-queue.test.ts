/** The SQLite outbound queue against the shared conformance suite (reopen included), plus what only a file promises. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { OutboundQueue, OutboundQueueLimits } from '../../src/store/types.js';
import { outboundQueueConformance } from './outbound-queue.conformance.js';

let dir: string | undefined;
let n = 0;
const opened = new Map<OutboundQueue, { store: SqliteStore; limits: OutboundQueueLimits }>();

outboundQueueConformance('sqlite', {
  async open(limits) {
    dir ??= await mkdtemp(join(tmpdir(), 'mqttsn-queue-'));
    const store = SqliteStore.open(join(dir, `q${++n}.db`));
    const q = store.outboundQueue(limits);
    opened.set(q, { store, limits });
    return q;
  },
  async reopen(q) {
    const { store, limits } = opened.get(q)!;
    opened.delete(q);
    await q.close();
    await store.close();
    const again = SqliteStore.open(store.path);
    const q2 = again.outboundQueue(limits);
    opened.set(q2, { store: again, limits });
    return q2;
  },
  async cleanup() {
    for (const { store } of opened.values()) await store.close();
    opened.clear();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  },
});

describe('SqliteOutboundQueue', () => {
  let tmp: string;
  const fresh = async (): Promise<string> => {
    tmp ??= await mkdtemp(join(tmpdir(), 'mqttsn-queue-x-'));
    return join(tmp, `x${++n}.db`);
  };
  after(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it('keeps several queues apart in one file', async () => {
    const store = SqliteStore.open(await fresh());
    const a = store.outboundQueue({ maxMessages: 10, maxBytes: 1000 }, 'a');
    const b = store.outboundQueue({ maxMessages: 10, maxBytes: 1000 }, 'b');
    a.push({ topic: 'a', payload: Buffer.from('1'), qos: 1, retain: false });
    b.push({ topic: 'b', payload: Buffer.from('2'), qos: 1, retain: false });
    b.clear();
    await store.close();
    const again = SqliteStore.open(store.path);
    assert.deepEqual(again.outboundQueue({ maxMessages: 10, maxBytes: 1000 }, 'a').peek(10).map((e) => e.topic), ['a']);
    assert.equal(again.outboundQueue({ maxMessages: 10, maxBytes: 1000 }, 'b').size, 0);
    await again.close();
  });

  it('refuses a second instance of the same queue', async () => {
    const store = SqliteStore.open(await fresh());
    const q = store.outboundQueue({ maxMessages: 10, maxBytes: 1000 });
    assert.throws(() => store.outboundQueue({ maxMessages: 10, maxBytes: 1000 }), RangeError);
    await q.close();
    store.outboundQueue({ maxMessages: 10, maxBytes: 1000 });
    await store.close();
  });

  it('applies lowered limits at open: the oldest go, counted as dropped', async () => {
    const store = SqliteStore.open(await fresh());
    const q = store.outboundQueue({ maxMessages: 10, maxBytes: 1000 });
    for (let i = 0; i < 6; i++) q.push({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await store.close();
    const again = SqliteStore.open(store.path);
    const small = again.outboundQueue({ maxMessages: 4, maxBytes: 1000 });
    assert.equal(small.dropped, 2);
    assert.deepEqual(small.peek(10).map((e) => e.payload.toString()), ['2', '3', '4', '5']);
    await again.close();
    const third = SqliteStore.open(store.path);
    assert.equal(third.outboundQueue({ maxMessages: 10, maxBytes: 1000 }).size, 4, 'the drop is on disk too');
    await third.close();
  });
});
