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
  readonly #useOnce: (key: string, expiresAt: number, now: number) => Promise<boolean>;
  readonly #now: () => number;
  readonly #counters = new MemoryCache();

  /** `now`: the engine's time (epoch seconds), the clock proofs and nonces are checked against. */
  constructor(store: GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>, now: () => number) {
    this.#useOnce = store.useOnce.bind(store);
    this.#now = now;
  }

  setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    const now = this.#now();
    return this.#useOnce(key, now + ttlS, now);
  }

  incr(key: string, windowS: number): Promise<number> {
    return this.#counters.incr(key, windowS);
  }

  async close(): Promise<void> {
    await this.#counters.close();
  }
}
