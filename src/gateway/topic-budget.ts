/**
 * The gateway's share of `limits.maxTopicBytesTotal` and `limits.maxTopicBytes`: subscriptions
 * counted against the same budget as the registries' names (topics/registry.ts), so 100 filters
 * and 1000 registrations per session cannot multiply past a Raspberry Pi's memory.
 */
import { topicCost, type TopicBudget } from '../topics/registry.js';
import { LazyMap } from './lazy.js';

/** A session's subscriptions, whose filters are counted in a shared budget as they come and go. */
export class CountedMap<V> extends LazyMap<string, V> {
  constructor(readonly budget: TopicBudget) {
    super();
  }

  override set(k: string, v: V): this {
    if (!this.has(k)) this.budget.bytes += topicCost(k);
    return super.set(k, v);
  }

  override delete(k: string): boolean {
    const had = super.delete(k);
    if (had) this.budget.bytes -= topicCost(k);
    return had;
  }

  override clear(): void {
    for (const k of this.keys()) this.budget.bytes -= topicCost(k);
    super.clear();
  }
}

/** Whether a topic name or filter from a client is over `limits.maxTopicBytes` (UTF-8 bytes). */
export function tooLong(topic: string, maxBytes: number): boolean {
  // Each UTF-16 unit is at most 3 bytes in UTF-8: short strings need no encoding to be judged.
  return topic.length * 3 > maxBytes && Buffer.byteLength(topic, 'utf8') > maxBytes;
}
