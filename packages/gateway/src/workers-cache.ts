/**
 * The {@link EphemeralCache} of gateway workers sharing one embedded store (`gateway start --workers
 * N`): used proof ids and spent nonces go to the store's durable `useOnce`, as in one process, and
 * rate counts go to its `countInWindow` too, since a count kept in one worker's memory would let each
 * worker admit the whole rate. Both are group commits when the store can batch them (one transaction
 * a turn of the event loop for the proofs, one for the counts, instead of one per request each): each
 * call is still answered exactly as alone, atomic across the processes under the file's write lock.
 */
import type { EphemeralCache } from './cache.ts';
import { storeSetIfAbsent } from './replay-cache.ts';
import type { GatewayStore } from './store.ts';
import { TurnBatch } from './turn-batch.ts';

/** A store able to hold both kinds of short-lived state. */
export type WorkersStore = GatewayStore & Required<Pick<GatewayStore, 'useOnce' | 'countInWindow'>>;

/** True when `store` is shared by workers and can hold their replay and rate state. */
export function isWorkersStore(store: GatewayStore): store is WorkersStore {
  return store.sharedByWorkers === true && !!store.useOnce && !!store.countInWindow;
}

/** One event to count: its key and the end of its window. */
interface Count {
  key: string;
  expiresAt: number;
}

/** Replay state and rate counts, both in the store the workers share. */
export class WorkersCache implements EphemeralCache {
  /** {@link EphemeralCache.setIfAbsent}, in the store. */
  readonly setIfAbsent: (key: string, ttlS: number) => Promise<boolean>;
  /** {@link EphemeralCache.incr}, in the store. */
  readonly incr: (key: string, windowS: number) => Promise<number>;

  /** `now`: the engine's time (epoch seconds), the clock proofs and nonces are checked against. */
  constructor(store: WorkersStore, now: () => number) {
    this.setIfAbsent = storeSetIfAbsent(store, now);
    const many = store.countManyInWindow?.bind(store);
    if (many) {
      const batch = new TurnBatch<Count, number>((counts) => many(counts, now()));
      this.incr = (key, windowS) => batch.add({ key, expiresAt: now() + windowS });
    } else
      this.incr = (key, windowS) => {
        const t = now();
        return store.countInWindow(key, t + windowS, t);
      };
  }

  async close(): Promise<void> {}
}
