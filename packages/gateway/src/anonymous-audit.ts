/**
 * Refusals with no verified identity (no instance proven by its token and key) are what an anonymous
 * flood is made of. Each one is counted (metrics, usage counters), but the durable audit chain gets a
 * sample: the first of each endpoint, code (and app, when a genuine charter named one) after a
 * start, then one row per {@link ANONYMOUS_SAMPLE_EVERY}, each row carrying `count`, the refusals it
 * stands for. The keys are an endpoint, a catalogued code and a vendor-signed app id, so the map is
 * bounded too. Whatever no row stands for yet is
 * written at shutdown; after a crash it is still in the usage counters.
 */

/** One audit row per this many anonymous refusals of one endpoint and code. */
export const ANONYMOUS_SAMPLE_EVERY = 1000;

/**
 * Refusals of one proven instance, endpoint and code that get a row each before sampling starts.
 * A charter is public and registering a server instance is cheap, so a proven identity is no bound
 * on a flood; refused requests never count against a rate limit either. The first rows still name
 * the instance (who to ask); the rest are sampled like anonymous ones.
 */
export const PROVEN_ROWS_BEFORE_SAMPLING = 100;

interface Kind {
  seen: number;
  pending: number;
}

/** Counts anonymous refusals by kind and says when one gets an audit row. */
export class AnonymousSampler {
  readonly #kinds = new Map<string, Kind>();
  readonly #full: number;

  /** `full`: how many refusals of a kind get a row each before one per {@link ANONYMOUS_SAMPLE_EVERY}. */
  constructor(full = 1) {
    this.#full = full;
  }

  /** Count one refusal of `kind`; the `count` for an audit row to write now, or undefined for none. */
  take(kind: string): number | undefined {
    let k = this.#kinds.get(kind);
    if (!k) {
      k = { seen: 0, pending: 0 };
      this.#kinds.set(kind, k);
    }
    k.seen++;
    k.pending++;
    if (k.seen > this.#full && k.pending < ANONYMOUS_SAMPLE_EVERY) return undefined;
    const count = k.pending;
    k.pending = 0;
    return count;
  }

  /** The refusals no row stands for yet, by kind, and forget them. */
  drain(): [string, number][] {
    const out: [string, number][] = [];
    for (const [kind, k] of this.#kinds) {
      if (k.pending > 0) out.push([kind, k.pending]);
      k.pending = 0;
    }
    return out;
  }
}
