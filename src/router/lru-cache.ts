/**
 * A bounded map that forgets the least recently used entries first, in two generations (the
 * scheme of `quick-lru`): new and recently read entries live in the young generation; when it
 * is full it becomes the old one and the previous old generation is dropped whole. A read of an
 * old entry moves it to the young generation. So a hit costs one `Map.get` (an exact LRU's
 * delete-and-reinsert costs about twenty times more), and at most `capacity` entries are kept (rounded up to an even number).
 * @internal
 */
export class LruCache<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  /** Entries per generation. */
  readonly #generation: number;

  /** @param capacity Most entries kept; 0 keeps none. */
  constructor(capacity: number) {
    this.#generation = Math.ceil(capacity / 2);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /** The entry for `key`, now among the most recently used; `undefined` when there is none. */
  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.#add(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    if (this.#generation === 0) return;
    if (this.#young.has(key)) this.#young.set(key, value);
    else {
      this.#old.delete(key);
      this.#add(key, value);
    }
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  #add(key: K, value: V): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
