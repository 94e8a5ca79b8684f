/**
 * A Set and a Map that allocate their storage on first write. Most of 100,000 sessions never
 * refuse a topic or hold a QoS 2 id, and an empty Map or Set costs a few hundred bytes; a lazy
 * one costs one field until it is used.
 */
export class LazySet<T> implements Iterable<T> {
  #set: Set<T> | undefined;

  get size(): number {
    return this.#set?.size ?? 0;
  }
  has(v: T): boolean {
    return this.#set !== undefined && this.#set.has(v);
  }
  add(v: T): this {
    (this.#set ??= new Set()).add(v);
    return this;
  }
  delete(v: T): boolean {
    return this.#set !== undefined && this.#set.delete(v);
  }
  /** Drops the storage too, so a session that churned goes back to costing nothing. */
  clear(): void {
    this.#set = undefined;
  }
  [Symbol.iterator](): Iterator<T> {
    return (this.#set ?? EMPTY_SET)[Symbol.iterator]() as Iterator<T>;
  }
}

export class LazyMap<K, V> implements Iterable<[K, V]> {
  #map: Map<K, V> | undefined;

  get size(): number {
    return this.#map?.size ?? 0;
  }
  has(k: K): boolean {
    return this.#map !== undefined && this.#map.has(k);
  }
  get(k: K): V | undefined {
    return this.#map?.get(k);
  }
  set(k: K, v: V): this {
    (this.#map ??= new Map()).set(k, v);
    return this;
  }
  delete(k: K): boolean {
    return this.#map !== undefined && this.#map.delete(k);
  }
  clear(): void {
    this.#map = undefined;
  }
  keys(): IterableIterator<K> {
    return (this.#map ?? (EMPTY_MAP as Map<K, V>)).keys();
  }
  [Symbol.iterator](): Iterator<[K, V]> {
    return (this.#map ?? (EMPTY_MAP as Map<K, V>))[Symbol.iterator]();
  }
}

const EMPTY_SET: ReadonlySet<unknown> = new Set();
const EMPTY_MAP: ReadonlyMap<unknown, unknown> = new Map();
