/**
 * The time high-water mark: the latest instant this gateway has good reason to believe has already
 * happened, kept so that setting the clock back cannot resurrect an expired license or charter and
 * is seen (SPEC.md §1, "customer rolls back").
 *
 * Sources, each a lower bound of the true time: the `iat` of every license verified here (the
 * vendor's clock, vendor-signed) and the high-water mark persisted by earlier runs and other
 * replicas. Between those, the mark advances by the *monotonic* time the process has lived through,
 * not by the wall clock: a wall clock set forward by mistake and then corrected must not leave a mark
 * in the future that would refuse the site until the future arrives.
 *
 * Clients have no say. Proof `iat`s once voted (a median of the last fifteen), and one client sending
 * proofs at the edge of the skew, a burst at a time, ratcheted the mark a skew per burst: honest
 * clients were refused and, under `on_clock_rollback: refuse`, the site would not start again. A
 * client's clock is whatever the client says it is, so it is not evidence of the time at all.
 */
import type { GatewayStore } from './store.ts';

/** The store state holding `{ high_water }` (epoch seconds), shared by replicas and restarts. */
export const CLOCK_STATE = 'clock';

/** How far the clock may lag the mark when the license does not say: an hour. */
export const DEFAULT_CLOCK_TOLERANCE_S = 3600;

// performance.now() is monotonic like hrtime and, as a double, costs no BigInt arithmetic: this is
// read several times a request.
function monotonicS(): number {
  return performance.now() / 1000;
}

/**
 * The record's version: 2 since clients lost their vote. A mark without it was written by a version
 * that let proof times raise it, so it may be a client's doing.
 */
const VERSION = 2;

function parse(text: string | undefined): { mark: number; legacy: boolean } {
  if (text === undefined) return { mark: 0, legacy: false };
  try {
    const r = JSON.parse(text) as { high_water?: unknown; v?: unknown };
    const v = r.high_water;
    return { mark: typeof v === 'number' && Number.isFinite(v) ? v : 0, legacy: r.v !== VERSION };
  } catch {
    return { mark: 0, legacy: true };
  }
}

/** The time high-water mark of one gateway process. */
export class TimeGuard {
  readonly #store: GatewayStore;
  #mark: number;
  #markedAt: number;

  private constructor(store: GatewayStore, mark: number) {
    this.#store = store;
    this.#mark = mark;
    this.#markedAt = monotonicS();
  }

  /**
   * Load the persisted mark (0 on a fresh store). A legacy mark (see VERSION) counts only up to the
   * wall clock `wall`: a mark clients pushed ahead must not refuse this start.
   */
  static async load(store: GatewayStore, wall: number): Promise<TimeGuard> {
    const { mark, legacy } = parse(await store.getState(CLOCK_STATE));
    return new TimeGuard(store, legacy ? Math.min(mark, wall) : mark);
  }

  /** The mark now, in epoch seconds: the last trusted time plus the monotonic time since. */
  highWater(): number {
    return Math.floor(this.#mark + (monotonicS() - this.#markedAt));
  }

  /** Raise the mark to a trusted time `t` (never lowers it). */
  raise(t: number): void {
    if (t > this.#mark + (monotonicS() - this.#markedAt)) {
      this.#mark = t;
      this.#markedAt = monotonicS();
    }
  }

  /** Seconds the wall clock `wall` is behind the mark (0 or less when it is not). */
  behind(wall: number): number {
    return this.highWater() - wall;
  }

  /**
   * Store the mark, merging with what other replicas stored (the highest wins, by compare-and-set);
   * a higher stored mark raises this one.
   */
  async persist(): Promise<void> {
    const mine = this.highWater();
    for (let attempt = 0; attempt < 5; attempt++) {
      const text = await this.#store.getState(CLOCK_STATE);
      const stored = parse(text);
      // A legacy record is replaced, never merged: it may hold a mark clients raised.
      if (!stored.legacy && stored.mark >= mine) {
        this.raise(stored.mark);
        return;
      }
      const record = JSON.stringify({ high_water: mine, v: VERSION });
      if (await this.#store.compareAndSetState(CLOCK_STATE, text, record)) return;
    }
  }
}
