/**
 * The node's side of topic naming: the normal ids a gateway handed out on this connection
 * (MQTT-SN.md §4.5: ids are per client), and how a verb's target becomes a wire topic.
 */
import type { PublishTopic, SubscriptionTopic } from '../src/codec/index.js';
import { SimError, SimErrorCode } from './errors.js';
import type { SubscribeTarget } from './node-types.js';

/** name -> normal id and back, per connection; emptied by a clean session (§4.3) */
export class TopicTable {
  #nameToId = new Map<string, number>();
  #idToName = new Map<number, string>();
  /** 2.0: names the gateway said have a predefined alias (MQTT-SN-4.7.2.2-5); not session state */
  #predefinedByName = new Map<string, number>();

  idOf(name: string): number | undefined {
    return this.#nameToId.get(name);
  }

  /** How a PUBLISH names `name` with what the node holds: a predefined alias first, else its id. */
  topicOf(name: string): Extract<PublishTopic, { topicIdType: 'normal' | 'predefined' }> | undefined {
    const predefined = this.#predefinedByName.get(name);
    if (predefined !== undefined) return { topicIdType: 'predefined', topicId: predefined };
    const id = this.#nameToId.get(name);
    return id === undefined ? undefined : { topicIdType: 'normal', topicId: id };
  }

  rememberPredefined(name: string, id: number): void {
    this.#predefinedByName.set(name, id);
  }

  nameOf(id: number): string | undefined {
    return this.#idToName.get(id);
  }

  /** An id names one topic: a new name for a known id replaces the old one. */
  remember(name: string, id: number): void {
    const old = this.#idToName.get(id);
    if (old !== undefined && old !== name) this.#nameToId.delete(old);
    this.#nameToId.set(name, id);
    this.#idToName.set(id, name);
  }

  forget(name: string, id: number): void {
    if (this.#nameToId.get(name) === id) this.#nameToId.delete(name);
    if (this.#idToName.get(id) === name) this.#idToName.delete(id);
  }

  clear(): void {
    this.#nameToId.clear();
    this.#idToName.clear();
  }
}

export const hasWildcard = (name: string): boolean => name.includes('+') || name.includes('#');

/** The two bytes a short topic name travels as (§4.5); BAD_ARGUMENT for any other length. */
export function shortNameBytes(name: string): number {
  const b = Buffer.from(name, 'utf8');
  if (b.length !== 2) throw new SimError(SimErrorCode.BAD_ARGUMENT, `short topic name "${name}" must be exactly 2 bytes (§4.5)`);
  return (b[0]! << 8) | b[1]!;
}

/** What SUBSCRIBE and UNSUBSCRIBE carry for a target (§4.9). */
export function subscriptionTopic(target: SubscribeTarget): SubscriptionTopic {
  if (typeof target === 'string') return { topicIdType: 'normal', topicName: target };
  if ('topic' in target) return { topicIdType: 'normal', topicName: target.topic };
  if ('shortName' in target) {
    shortNameBytes(target.shortName);
    return { topicIdType: 'short', topicName: target.shortName };
  }
  return { topicIdType: 'predefined', topicId: target.predefinedId };
}

/** Runs `fn` with the wire topic of `target`; a target the wire cannot carry rejects instead. */
export function withSubscriptionTopic<R>(target: SubscribeTarget, fn: (t: SubscriptionTopic) => Promise<R>): Promise<R> {
  let t: SubscriptionTopic;
  try {
    t = subscriptionTopic(target);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return fn(t);
}

/** One key per subscription target, for messages and the replay table. */
export function describeTopic(t: SubscriptionTopic): string {
  switch (t.topicIdType) {
    case 'normal':
      return t.topicName;
    case 'short':
      return `short:${t.topicName}`;
    case 'predefined':
      return `predefined:${t.topicId}`;
  }
}
