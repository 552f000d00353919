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

type UseOnceMany = (
  entries: readonly { key: string; expiresAt: number }[],
  now: number,
) => Promise<boolean[]>;

interface Pending {
  key: string;
  expiresAt: number;
  resolve(fresh: boolean): void;
  reject(e: unknown): void;
}

/** Replay state in the store, rate counts in memory. */
export class StoreReplayCache implements EphemeralCache {
  readonly #useOnce: (key: string, expiresAt: number, now: number) => Promise<boolean>;
  readonly #useOnceMany: UseOnceMany | undefined;
  readonly #now: () => number;
  readonly #counters = new MemoryCache();
  #pending: Pending[] = [];

  /** `now`: the engine's time (epoch seconds), the clock proofs and nonces are checked against. */
  constructor(store: GatewayStore & Required<Pick<GatewayStore, 'useOnce'>>, now: () => number) {
    this.#useOnce = store.useOnce.bind(store);
    this.#useOnceMany = store.useOnceMany?.bind(store);
    this.#now = now;
  }

  setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    const now = this.#now();
    if (!this.#useOnceMany) return this.#useOnce(key, now + ttlS, now);
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ key, expiresAt: now + ttlS, resolve, reject }) === 1)
        setImmediate(this.#flush);
    });
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    (this.#useOnceMany as UseOnceMany)(batch, this.#now()).then(
      (fresh) => {
        for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(fresh[i] === true);
      },
      // The store failed (unavailable): every request of the batch is refused, none admitted.
      (e: unknown) => {
        for (const p of batch) p.reject(e);
      },
    );
  };

  incr(key: string, windowS: number): Promise<number> {
    return this.#counters.incr(key, windowS);
  }

  async close(): Promise<void> {
    await this.#counters.close();
  }
}
