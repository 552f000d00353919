/**
 * What a fuzz target is, and the oracle every answer is judged by: a catalogued code (SPEC.md §3 and
 * the tools' codes in packages/core/src/errors.ts) or an acceptance. Anything else is a finding.
 */
import { CharterError, isErrorCode } from '@charter/core';
import type { Rng } from './rng.ts';

/** A failure the oracle found; the worker records it with the input. */
export class Finding extends Error {
  constructor(
    readonly kind: 'crash' | '5xx' | 'uncatalogued',
    message: string,
    readonly stack_?: string,
  ) {
    super(message);
  }
}

/** A target ready to run: its seed corpus, how it makes inputs, and how it runs one. */
export interface Harness<I = unknown> {
  /** Valid inputs made with the project's own code (or real device samples). */
  seeds: readonly I[];
  /** One input: a seed as is, mutated, or generated. Uses only `rng` and the seeds, so it is reproducible. */
  generate(rng: Rng): I;
  /** Run one input; answers its outcome label (a catalogued code or `accepted`/`ok_<status>`), or throws a {@link Finding}. */
  run(input: I): Promise<string> | string;
  /**
   * The time bound of an input that costs a deliberate, fixed amount (a sign-in runs one scrypt on
   * purpose, ~50 ms alone and seconds on a loaded machine); undefined: the campaign's bound.
   */
  boundFor?(input: I, bound: number): number | undefined;
  /** Remake seeds that age (nonces, proof times); called between inputs, never during one. */
  refresh?(): Promise<void>;
  close?(): Promise<void>;
}

/** A named target. */
export interface Target {
  name: string;
  /** What it feeds, in a line (for the summary and docs). */
  about: string;
  /** Build the corpus and whatever the target runs against, for the campaign `seed`. */
  setup(seed: number): Promise<Harness>;
}

/** The outcome of a thrown value: a catalogued code, or a crash {@link Finding}. */
export function codeOf(e: unknown): string {
  if (e instanceof Finding) throw e;
  if (e instanceof CharterError && isErrorCode(e.code)) return e.code;
  const err = e as { name?: string; message?: string; stack?: string };
  throw new Finding(
    'crash',
    `${err?.name ?? typeof e}: ${String(err?.message ?? e).slice(0, 300)}`,
    err?.stack,
  );
}

/** Run a verifier: `accepted` when it returns, its code when it refuses, a crash otherwise. */
export async function outcomeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'accepted';
  } catch (e) {
    return codeOf(e);
  }
}

/** The same for synchronous verifiers (no promise per input). */
export function outcomeOfSync(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    return codeOf(e);
  }
}

/** An HTTP answer as `inject` gives it. */
export interface HttpAnswer {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}

/**
 * Judge an HTTP answer: a 5xx is a finding unless its code is one a gateway may legitimately answer
 * with 503 in this setting (none here: the license is valid and the store works); a 4xx must carry a
 * catalogued `error`; 2xx and 3xx are `ok_<status>`.
 */
export function judgeHttp(
  res: HttpAnswer,
  allowed5xx: ReadonlySet<string> = new Set(),
  head = false,
): string {
  let error: unknown;
  if (head && res.body === '') {
    // A HEAD answer has no body: its status and the refusal header are all there is to judge.
    if (res.statusCode >= 500) throw new Finding('5xx', `HEAD answered ${res.statusCode}`);
    const code = res.headers['charter-refusal'];
    return res.statusCode >= 400
      ? `head_${typeof code === 'string' ? code : res.statusCode}`
      : `ok_${res.statusCode}`;
  }
  if (res.statusCode >= 400) {
    try {
      error = (JSON.parse(res.body) as { error?: unknown }).error;
    } catch {
      throw new Finding(
        'uncatalogued',
        `status ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`,
      );
    }
    if (!isErrorCode(error))
      throw new Finding(
        'uncatalogued',
        `status ${res.statusCode} with error ${JSON.stringify(error)?.slice(0, 100)}`,
      );
    if (res.statusCode >= 500 && !allowed5xx.has(error))
      throw new Finding('5xx', `status ${res.statusCode} ${error}`);
    return error;
  }
  return `ok_${res.statusCode}`;
}
