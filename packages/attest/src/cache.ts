/** A small least-recently-used map, for parsed certificates and verified links (see certificate.ts). */
export class LruCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The value for `key`, refreshed as most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** Store `value`, evicting the least recently used entry when full. */
  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  /** Remove `key`. */
  delete(key: K): void {
    this.#map.delete(key);
  }

  /** Remove every entry whose key satisfies `predicate`. */
  deleteWhere(predicate: (key: K) => boolean): void {
    for (const k of [...this.#map.keys()]) if (predicate(k)) this.#map.delete(k);
  }

  /** Remove everything. */
  clear(): void {
    this.#map.clear();
  }
}
