/**
 * The embedded gateway's {@link EphemeralCache}: single-use records (proof `jti`s, spent nonces) go
 * to the store's durable `useOnce`, so a proof or nonce used before a restart, or before a crash, is
 * still used after it; rate counters stay in process memory (a restart only starts a fresh window).
 */
import type { EphemeralCache } from './cache.ts';
import { MemoryCache } from './memory-cache.ts';
import type { GatewayStore } from './store.ts';

/** Replay state in the store, rate counts in memory. */
export class StoreReplayCache implements EphemeralCache {
  readonly #useOnce: (key: string, ttlS: number) => Promise<boolean>;
  readonly #counters = new MemoryCache();

  constructor(store: GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>) {
    this.#useOnce = store.useOnce.bind(store);
  }

  setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    return this.#useOnce(key, ttlS);
  }

  incr(key: string, windowS: number): Promise<number> {
    return this.#counters.incr(key, windowS);
  }

  async close(): Promise<void> {
    await this.#counters.close();
  }
}
