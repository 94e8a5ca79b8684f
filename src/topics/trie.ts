/**
 * A subscription index: topic filters to values (sessions), matched against concrete topic names
 * by the rules of MQTT 3.1.1 §4.7.
 *
 * One node per filter level. Wildcard levels are not map entries but the `plus` and `hash`
 * fields of their parent, so matching a topic of depth d touches at most the nodes along the
 * paths that can match it: the cost follows the depth of the topic and the number of matches,
 * never the number of filters.
 */
import { TopicError, TopicErrorCode } from './errors.js';
import { validateTopicFilter } from './topic-names.js';

const DOLLAR = 0x24; // '$'

class Node<V> {
  /** literal next levels */
  children: Map<string, Node<V>> | undefined = undefined;
  /** the `+` level below this one */
  plus: Node<V> | undefined = undefined;
  /** the `#` level below this one; always a leaf (§4.7.1.2) */
  hash: Node<V> | undefined = undefined;
  /** the filter that ends here, kept once so a match hands it out without joining levels */
  filter = '';
  /*
   * Most filters of a gateway belong to one session each (`devices/42/cmd`), so one value is held
   * inline and a Set is made only for the second: a Set per filter would cost more than the node.
   */
  single: V | undefined = undefined;
  hasSingle = false;
  many: Set<V> | undefined = undefined;

  isEmpty(): boolean {
    return !this.hasSingle && this.many === undefined && this.children === undefined && this.plus === undefined && this.hash === undefined;
  }
}

export class TopicTrie<V> {
  readonly #root = new Node<V>();
  #size = 0;
  /*
   * The depth-first work stack of `match`, kept between calls so that a match allocates no
   * arrays: levels are read from the topic by offset, never split out. A `visit` callback may call `match` again: the nested call works above
   * `#top` and leaves everything below it as it found it.
   */
  readonly #nodes: Array<Node<V> | undefined> = [];
  /** where the topic level that the node beside it must match starts; past the end: none left */
  readonly #starts: number[] = [];
  #top = 0;

  /** Number of (filter, value) pairs. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds `value` under `filter`. Returns false when that pair was already there (a pair is held
   * once, so a repeated SUBSCRIBE cannot make a message go out twice). Throws
   * `MQTTSN_ERR_BAD_TOPIC_FILTER` for a filter MQTT does not allow: a `#` in the middle would
   * break the shape matching relies on.
   */
  add(filter: string, value: V): boolean {
    const reason = validateTopicFilter(filter);
    if (reason !== undefined) throw new TopicError(TopicErrorCode.BAD_TOPIC_FILTER, `topic filter ${JSON.stringify(filter)}: ${reason}`, { subject: filter });
    let node = this.#root;
    for (const level of filter.split('/')) {
      let next: Node<V> | undefined;
      if (level === '+') {
        next = node.plus ??= new Node<V>();
      } else if (level === '#') {
        next = node.hash ??= new Node<V>();
      } else {
        node.children ??= new Map();
        next = node.children.get(level);
        if (next === undefined) {
          next = new Node<V>();
          node.children.set(level, next);
        }
      }
      node = next;
    }
    node.filter = filter;
    if (node.hasSingle) {
      if (node.single === value) return false;
      node.many = new Set([node.single as V, value]);
      node.single = undefined;
      node.hasSingle = false;
    } else if (node.many !== undefined) {
      if (node.many.has(value)) return false;
      node.many.add(value);
    } else {
      node.single = value;
      node.hasSingle = true;
    }
    this.#size++;
    return true;
  }

  /** Removes the pair; returns false when it was not there. Nodes left empty are dropped. */
  remove(filter: string, value: V): boolean {
    const levels = filter.split('/');
    const path: Array<Node<V>> = [];
    let node: Node<V> | undefined = this.#root;
    for (const level of levels) {
      path.push(node);
      node = level === '+' ? node.plus : level === '#' ? node.hash : node.children?.get(level);
      if (node === undefined) return false;
    }
    if (node.hasSingle && node.single === value) {
      node.single = undefined;
      node.hasSingle = false;
    } else if (node.many?.delete(value) === true) {
      if (node.many.size === 1) {
        for (const last of node.many) node.single = last;
        node.hasSingle = true;
        node.many = undefined;
      }
    } else {
      return false;
    }
    this.#size--;
    for (let i = levels.length - 1; i >= 0 && node.isEmpty(); i--) {
      const parent: Node<V> = path[i]!;
      const level = levels[i]!;
      if (level === '+') parent.plus = undefined;
      else if (level === '#') parent.hash = undefined;
      else if (parent.children !== undefined) {
        parent.children.delete(level);
        if (parent.children.size === 0) parent.children = undefined;
      }
      node = parent;
    }
    return true;
  }

  /** Whether the pair is in the index. */
  has(filter: string, value: V): boolean {
    let node: Node<V> | undefined = this.#root;
    for (const level of filter.split('/')) {
      node = level === '+' ? node.plus : level === '#' ? node.hash : node.children?.get(level);
      if (node === undefined) return false;
    }
    return node.hasSingle ? node.single === value : node.many?.has(value) === true;
  }

  /**
   * Calls `visit(value, filter)` once for each pair whose filter matches the topic name `topic`,
   * in no particular order. `topic` is taken as a valid topic name (no wildcards); the caller
   * validated it where it came in. Changes made by `visit` to this index may or may not be seen
   * by the match in progress.
   */
  match(topic: string, visit: (value: V, filter: string) => void): void {
    const tn = topic.length;
    // [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a topic starting with '$'.
    const dollar = topic.charCodeAt(0) === DOLLAR;
    const nodes = this.#nodes;
    const starts = this.#starts;
    const base = this.#top;
    let top = base;
    nodes[top] = this.#root;
    starts[top] = 0;
    top++;
    try {
      while (top > base) {
        top--;
        const node = nodes[top]!;
        const t = starts[top]!;
        nodes[top] = undefined; // the stack must not keep removed nodes (and their values) alive
        const wildOk = t > 0 || !dollar;
        // §4.7.1.2: `#` matches any number of levels, including none: `a/#` also matches `a`.
        if (node.hash !== undefined && wildOk) {
          this.#top = top;
          emit(node.hash, visit);
        }
        // The topic is used up: the filter ending here matches.
        if (t > tn) {
          this.#top = top;
          emit(node, visit);
          continue;
        }
        let end = topic.indexOf('/', t);
        if (end === -1) end = tn;
        if (node.children !== undefined) {
          const exact = node.children.get(topic.slice(t, end));
          if (exact !== undefined) {
            nodes[top] = exact;
            starts[top] = end + 1;
            top++;
          }
        }
        // §4.7.1.3: `+` matches exactly one level, an empty one included.
        if (node.plus !== undefined && wildOk) {
          nodes[top] = node.plus;
          starts[top] = end + 1;
          top++;
        }
      }
    } finally {
      for (let k = base; k < top; k++) nodes[k] = undefined;
      this.#top = base;
    }
  }
}

function emit<V>(node: Node<V>, visit: (value: V, filter: string) => void): void {
  if (node.hasSingle) visit(node.single as V, node.filter);
  else if (node.many !== undefined) for (const v of node.many) visit(v, node.filter);
}
