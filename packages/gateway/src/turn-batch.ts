/**
 * Calls made in one turn of the event loop, answered together by one batch call at the end of the
 * turn (setImmediate): a group commit. Each caller gets exactly its own answer, or the batch's
 * failure; nothing is answered before the batch call settles.
 */
interface Pending<I, O> {
  item: I;
  resolve(answer: O): void;
  reject(e: unknown): void;
}

/** A group commit of `run`: items gathered per turn, `run` called once per turn with them, in order. */
export class TurnBatch<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  #pending: Pending<I, O>[] = [];

  /** `run` answers each item, in the order given (one transaction for all of them, say). */
  constructor(run: (items: readonly I[]) => Promise<readonly O[]>) {
    this.#run = run;
  }

  /** The answer to `item`, once the batch of this turn has run. */
  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ item, resolve, reject }) === 1) setImmediate(this.#flush);
    });
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    let run: Promise<readonly O[]>;
    try {
      run = this.#run(batch.map((p) => p.item));
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (answers) => {
        for (let i = 0; i < batch.length; i++) (batch[i] as Pending<I, O>).resolve(answers[i] as O);
      },
      // The store failed (unavailable): every call of the batch is refused, none answered yes.
      (e: unknown) => {
        for (const p of batch) p.reject(e);
      },
    );
  };
}
