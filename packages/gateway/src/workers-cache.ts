/**
 * The {@link EphemeralCache} of gateway workers sharing one embedded store (`gateway start --workers
 * N`): used proof ids and spent nonces go to the store's durable `useOnce`, as in one process, and
 * rate counts go to its `countInWindow` too, since a count kept in one worker's memory would let each
 * worker admit the whole rate. Every call is one SQLite statement, atomic across the processes.
 */
import type { EphemeralCache } from './cache.ts';
import type { GatewayStore } from './store.ts';

/** A store able to hold both kinds of short-lived state. */
export type WorkersStore = GatewayStore & Required<Pick<GatewayStore, 'useOnce' | 'countInWindow'>>;

/** True when `store` is shared by workers and can hold their replay and rate state. */
export function isWorkersStore(store: GatewayStore): store is WorkersStore {
  return store.sharedByWorkers === true && !!store.useOnce && !!store.countInWindow;
}

/** Replay state and rate counts, both in the store the workers share. */
export class WorkersCache implements EphemeralCache {
  readonly #store: WorkersStore;
  readonly #now: () => number;

  /** `now`: the engine's time (epoch seconds), the clock proofs and nonces are checked against. */
  constructor(store: WorkersStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  setIfAbsent(key: string, ttlS: number): Promise<boolean> {
    const now = this.#now();
    return this.#store.useOnce(key, now + ttlS, now);
  }

  incr(key: string, windowS: number): Promise<number> {
    const now = this.#now();
    return this.#store.countInWindow(key, now + windowS, now);
  }

  async close(): Promise<void> {}
}
