/**
 * The embedded gateway's {@link EphemeralCache}: single-use records (proof `jti`s, spent nonces) go
 * to the store's durable `useOnce`, so a proof or nonce used before a restart, or before a crash, is
 * still used after it, and gateway processes sharing the store file refuse each other's; rate
 * counters stay in process memory (a restart only starts a fresh window).
 *
 * Group commit: the records asked for in one turn of the event loop are written in one transaction
 * (`useOnceMany`) at the end of the turn, and each request waits for it. The answer is exactly the
 * one `useOnce` would give (committed before anyone is admitted); what is saved is a WAL commit per
 * proof, the largest cost of an admission after the signature check (docs/benchmarks.md).
 */
import type { EphemeralCache } from './cache.ts';
import { MemoryCache } from './memory-cache.ts';
import type { GatewayStore } from './store.ts';
import { TurnBatch } from './turn-batch.ts';

/** One record to use: its key and the second it stops counting. */
interface Use {
  key: string;
  expiresAt: number;
}

/**
 * `setIfAbsent` on the store's `useOnce`: through one `useOnceMany` per turn when the store has it,
 * else one call each. `now`: the engine's time (epoch seconds).
 */
export function storeSetIfAbsent(
  store: GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>,
  now: () => number,
): (key: string, ttlS: number) => Promise<boolean> {
  const many = store.useOnceMany?.bind(store);
  if (!many)
    return (key, ttlS) => {
      const t = now();
      return store.useOnce(key, t + ttlS, t);
    };
  const batch = new TurnBatch<Use, boolean>((uses) => many(uses, now()));
  return (key, ttlS) => batch.add({ key, expiresAt: now() + ttlS });
}

/** Replay state in the store, rate counts in memory. */
export class StoreReplayCache implements EphemeralCache {
  readonly #counters = new MemoryCache();
  /** {@link EphemeralCache.setIfAbsent}, in the store. */
  readonly setIfAbsent: (key: string, ttlS: number) => Promise<boolean>;

  /** `now`: the engine's time (epoch seconds), the clock proofs and nonces are checked against. */
  constructor(store: GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>, now: () => number) {
    this.setIfAbsent = storeSetIfAbsent(store, now);
  }

  incr(key: string, windowS: number): Promise<number> {
    return this.#counters.incr(key, windowS);
  }

  async close(): Promise<void> {
    await this.#counters.close();
  }
}
