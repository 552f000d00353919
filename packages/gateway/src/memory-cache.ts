/** The in-process {@link EphemeralCache}: correct for one gateway process; replicas need Redis. */
import { CharterError } from '@charter/core';
import type { EphemeralCache } from './cache.ts';

interface Entry {
  expires: number;
  count: number;
}

/** Options of {@link MemoryCache}. */
export interface MemoryCacheOptions {
  /** Entries kept at most; when full and nothing has expired, calls fail closed with `unavailable`. */
  maxEntries?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/**
 * A Map with expiry. JavaScript runs each call to completion, so each method is atomic within the
 * process. Expired entries are swept every few thousand writes and whenever the map is full.
 */
export class MemoryCache implements EphemeralCache {
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  readonly #now: () => number;
  #writes = 0;

  constructor(options: MemoryCacheOptions = {}) {
    this.#max = options.maxEntries ?? 1_000_000;
    this.#now = options.now ?? Date.now;
  }

  async setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    const now = this.#now();
    const e = this.#map.get(key);
    if (e && e.expires > now) return false;
    this.#put(key, { expires: now + ttlS * 1000, count: 1 }, now);
    return true;
  }

  async incr(key: string, windowS: number): Promise<number> {
    const now = this.#now();
    const e = this.#map.get(key);
    if (e && e.expires > now) return ++e.count;
    this.#put(key, { expires: now + windowS * 1000, count: 1 }, now);
    return 1;
  }

  async close(): Promise<void> {
    this.#map.clear();
  }

  /** Entries currently held (expired ones included until swept). */
  get size(): number {
    return this.#map.size;
  }

  #put(key: string, entry: Entry, now: number): void {
    if (++this.#writes % 4096 === 0 || this.#map.size >= this.#max) this.#sweep(now);
    if (this.#map.size >= this.#max && !this.#map.has(key)) {
      // Forgetting a used jti or nonce would reopen a replay; refusing is the safe failure.
      throw new CharterError('unavailable', 'ERR_CACHE_FULL', 'the ephemeral cache is full');
    }
    this.#map.set(key, entry);
  }

  #sweep(now: number): void {
    for (const [k, e] of this.#map) if (e.expires <= now) this.#map.delete(k);
  }
}
