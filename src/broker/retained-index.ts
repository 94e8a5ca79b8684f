/**
 * The local broker core's retained messages, indexed by topic level, with caps. aedes' memory
 * persistence keeps them in a flat list that every SUBSCRIBE scans whole; here a filter walks
 * only the branches it can match, and the count, the bytes and each client's share are bounded.
 */

export interface RetainedLimits {
  /** retained messages at most */
  readonly maxMessages: number;
  /** sum of topic (UTF-8) and payload bytes at most */
  readonly maxBytes: number;
  /** retained messages one client (an owner) may have set at most; owners are MQTT-SN and listener clients */
  readonly maxPerClient: number;
}

export interface RetainedEntry {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  /** who set it, for `maxPerClient`; undefined for the bridge and the store, which count only in the totals */
  readonly owner: string | undefined;
}

interface Node {
  children: Map<string, Node> | undefined;
  entry: RetainedEntry | undefined;
}

/** Why a retained message was not kept: the cap it would pass. */
export type RetainedRefusal = 'maxMessages' | 'maxBytes' | 'maxPerClient';

const costOf = (topic: string, payload: Buffer): number => Buffer.byteLength(topic, 'utf8') + payload.length;

export class RetainedIndex {
  readonly #root: Node = { children: undefined, entry: undefined };
  readonly #perOwner = new Map<string, number>();
  #count = 0;
  #bytes = 0;

  constructor(readonly limits: RetainedLimits) {}

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Sets the retained message of `topic`, or clears it for an empty payload (MQTT 3.1.1 §3.3.1.3).
   * Returns the cap it would pass, changing nothing, or undefined when done.
   */
  set(topic: string, payload: Buffer, qos: 0 | 1 | 2, owner: string | undefined): RetainedRefusal | undefined {
    if (payload.length === 0) {
      this.#clear(topic);
      return undefined;
    }
    const levels = topic.split('/');
    const old = this.#find(levels)?.entry;
    const cost = costOf(topic, payload);
    const delta = cost - (old === undefined ? 0 : costOf(old.topic, old.payload));
    if (old === undefined && this.#count >= this.limits.maxMessages) return 'maxMessages';
    if (delta > 0 && this.#bytes + delta > this.limits.maxBytes) return 'maxBytes';
    if (owner !== undefined && old?.owner !== owner && (this.#perOwner.get(owner) ?? 0) >= this.limits.maxPerClient) return 'maxPerClient';
    let node = this.#root;
    for (const level of levels) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (next === undefined) node.children.set(level, (next = { children: undefined, entry: undefined }));
      node = next;
    }
    if (old === undefined) this.#count++;
    else this.#release(old.owner);
    this.#bytes += delta;
    if (owner !== undefined) this.#perOwner.set(owner, (this.#perOwner.get(owner) ?? 0) + 1);
    node.entry = { topic, payload, qos, owner };
    return undefined;
  }

  /** The retained messages whose topics match `filter` (MQTT 3.1.1 §4.7), in no set order. */
  match(filter: string): RetainedEntry[] {
    const out: RetainedEntry[] = [];
    collect(this.#root, filter.split('/'), 0, out, true);
    return out;
  }

  #find(levels: readonly string[]): Node | undefined {
    let node: Node | undefined = this.#root;
    for (const level of levels) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node;
  }

  #clear(topic: string): void {
    const levels = topic.split('/');
    const path: Node[] = [this.#root];
    for (const level of levels) {
      const next = path.at(-1)!.children?.get(level);
      if (next === undefined) return;
      path.push(next);
    }
    const node = path.at(-1)!;
    const old = node.entry;
    if (old === undefined) return;
    node.entry = undefined;
    this.#count--;
    this.#bytes -= costOf(old.topic, old.payload);
    this.#release(old.owner);
    // Prune the branch back to the last node that still holds something.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.entry !== undefined || (n.children?.size ?? 0) > 0) break;
      path[i - 1]!.children!.delete(levels[i - 1]!);
    }
  }

  #release(owner: string | undefined): void {
    if (owner === undefined) return;
    const n = (this.#perOwner.get(owner) ?? 1) - 1;
    if (n === 0) this.#perOwner.delete(owner);
    else this.#perOwner.set(owner, n);
  }
}

function collectAll(node: Node, out: RetainedEntry[]): void {
  if (node.entry !== undefined) out.push(node.entry);
  for (const child of node.children?.values() ?? []) collectAll(child, out);
}

/** `first`: at the topic's first level, where a wildcard does not match '$' topics ([MQTT-4.7.2-1]). */
function collect(node: Node, levels: readonly string[], i: number, out: RetainedEntry[], first: boolean): void {
  if (i === levels.length) {
    if (node.entry !== undefined) out.push(node.entry);
    return;
  }
  const level = levels[i]!;
  if (level === '#') {
    // 'a/#' matches 'a' itself too (§4.7.1.2).
    if (node.entry !== undefined && !first) out.push(node.entry);
    for (const [name, child] of node.children ?? []) if (!(first && name.startsWith('$'))) collectAll(child, out);
    return;
  }
  if (level === '+') {
    for (const [name, child] of node.children ?? []) if (!(first && name.startsWith('$'))) collect(child, levels, i + 1, out, false);
    return;
  }
  const child = node.children?.get(level);
  if (child !== undefined) collect(child, levels, i + 1, out, false);
}
