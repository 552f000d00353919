/**
 * Calls made in one turn of the event loop, answered together by one batch call at the end of the
 * turn (setImmediate): a group commit. Each caller gets exactly its own answer, or the batch's
 * failure; nothing is answered before the batch call settles.
 */

/** A group commit of `run`: items gathered per turn, `run` called once per turn with them, in order. */
export class TurnBatch<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  // Parallel arrays, not an object a call: this is on every admitted request's path.
  #items: I[] = [];
  #resolves: ((answer: O) => void)[] = [];
  #rejects: ((e: unknown) => void)[] = [];

  /** `run` answers each item, in the order given (one transaction for all of them, say). */
  constructor(run: (items: readonly I[]) => Promise<readonly O[]>) {
    this.#run = run;
  }

  /** The answer to `item`, once the batch of this turn has run. */
  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
      if (this.#items.push(item) === 1) setImmediate(this.#flush);
    });
  }

  readonly #flush = (): void => {
    const items = this.#items;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#items = [];
    this.#resolves = [];
    this.#rejects = [];
    let run: Promise<readonly O[]>;
    try {
      run = this.#run(items);
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (answers) => {
        for (let i = 0; i < resolves.length; i++) (resolves[i] as (answer: O) => void)(answers[i] as O);
      },
      // The store failed (unavailable): every call of the batch is refused, none answered yes.
      (e: unknown) => {
        for (const reject of rejects) reject(e);
      },
    );
  };
}
