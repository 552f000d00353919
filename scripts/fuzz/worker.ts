/**
 * One target's campaign, in a worker thread (so the main thread can stop an input that never ends):
 * set the target up, then for each index make the input from its own generator, run it, time it and
 * count its outcome. Failures are written to files with the input as it was run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { inputRng } from './rng.ts';
import { Finding } from './target.ts';
import { TARGETS } from './targets.ts';

export interface WorkerJob {
  target: string;
  seed: number;
  /** First and one-past-last index to run. */
  from: number;
  to: number;
  boundMs: number;
  out: string;
  /** [index in flight, its start in epoch ms]: read by the main thread's watchdog. */
  slot: SharedArrayBuffer;
  /** Stop after this many seconds (epoch ms deadline), whatever the count: for runs bounded in time. */
  deadline?: number;
  /** Write every input run to a file (`--index`: one input made again). */
  keepInputs?: boolean;
  /** Run only this input file (as written on a failure) and report its outcome. */
  replay?: string;
}

export interface FindingRecord {
  kind: 'crash' | '5xx' | 'uncatalogued' | 'hang' | 'input';
  index: number;
  message: string;
  file: string;
  ms: number;
}

export interface Stats {
  inputs: number;
  codes: Record<string, number>;
  crashes: number;
  hangs: number;
  fiveXx: number;
  uncatalogued: number;
  maxMs: number;
  totalMs: number;
  seeds: number;
  /** Inputs the generator itself failed to make (a seed ran in their place). */
  generatorErrors: number;
  findings: FindingRecord[];
}

/** JSON with bytes kept: Uint8Array becomes {"$bytes": base64}. */
export function encodeInput(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) => (x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('base64') } : x),
    1,
  );
}

export function decodeInput(text: string): unknown {
  return JSON.parse(text, (_k, x) =>
    x && typeof x === 'object' && typeof x.$bytes === 'string' && Object.keys(x).length === 1
      ? new Uint8Array(Buffer.from(x.$bytes, 'base64'))
      : x,
  );
}

const job = workerData.job as WorkerJob;
const port = parentPort;
if (!port) throw new Error('worker.ts runs in a worker thread');

const target = TARGETS.find((t) => t.name === job.target);
if (!target) throw new Error(`no target ${job.target}`);
const harness = await target.setup(job.seed);
const slot = new Float64Array(job.slot);

if (job.replay) {
  const file = JSON.parse(readFileSync(job.replay, 'utf8')) as { input: string };
  const input = decodeInput(file.input);
  const t0 = performance.now();
  let outcome: string;
  try {
    outcome = await harness.run(input);
  } catch (e) {
    outcome =
      e instanceof Finding
        ? `${e.kind}: ${e.message}\n${e.stack_ ?? ''}`
        : `crash: ${String((e as Error)?.stack ?? e)}`;
  }
  port.postMessage({ type: 'replayed', outcome, ms: performance.now() - t0 });
  await harness.close?.();
  process.exit(0);
}

const stats: Stats = {
  inputs: 0,
  codes: {},
  crashes: 0,
  hangs: 0,
  fiveXx: 0,
  uncatalogued: 0,
  maxMs: 0,
  totalMs: 0,
  seeds: harness.seeds.length,
  generatorErrors: 0,
  findings: [],
};
/** Failures kept as files: the first few of each distinct message. */
const kept = new Map<string, number>();
const failures = join(job.out, 'failures');

function record(
  kind: FindingRecord['kind'],
  index: number,
  message: string,
  stack: string | undefined,
  input: unknown,
  ms: number,
): void {
  const key = `${kind}:${message.slice(0, 120)}`;
  const n = kept.get(key) ?? 0;
  kept.set(key, n + 1);
  if (n >= 3 || stats.findings.length >= 200) return;
  mkdirSync(failures, { recursive: true });
  const file = join(failures, `${job.target}-seed${job.seed}-${index}-${kind}.json`);
  const record = { target: job.target, seed: job.seed, index, kind, message, stack, ms };
  let text: string;
  try {
    text = JSON.stringify({ ...record, input: encodeInput(input) }, null, 1);
  } catch (e) {
    // An input too big to write out (past V8's longest string) must not end the campaign: the
    // finding is kept without it, and `--seed N --index i` makes the input again.
    text = JSON.stringify(
      { ...record, input: null, inputNotWritten: `${(e as Error)?.name}: ${(e as Error)?.message}` },
      null,
      1,
    );
  }
  writeFileSync(file, text);
  stats.findings.push({ kind, index, message, file, ms });
  port?.postMessage({ type: 'finding', finding: { kind, index, message, file, ms } });
}

const REFRESH_EVERY = 20_000;
let lastPost = Date.now();
for (let i = job.from; i < job.to; i++) {
  if (job.deadline !== undefined && (i & 63) === 0 && Date.now() > job.deadline) break;
  if (i > job.from && (i - job.from) % REFRESH_EVERY === 0) await harness.refresh?.();
  let input: unknown;
  try {
    input = harness.generate(inputRng(job.seed, i));
  } catch (e) {
    // A fault of the fuzzer itself, not of the target: counted apart, and the index skipped.
    stats.generatorErrors++;
    if (stats.generatorErrors <= 3)
      console.error(`[${job.target}] generator failed at ${i}: ${(e as Error)?.stack ?? e}`);
    continue;
  }
  slot[0] = i;
  slot[1] = Date.now();
  const t0 = performance.now();
  let outcome: string;
  try {
    outcome = await harness.run(input);
  } catch (e) {
    const f =
      e instanceof Finding
        ? e
        : new Finding(
            'crash',
            `${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 300)}`,
            (e as Error)?.stack,
          );
    outcome = `!${f.kind}`;
    if (f.kind === 'crash') stats.crashes++;
    else if (f.kind === '5xx') stats.fiveXx++;
    else stats.uncatalogued++;
    record(f.kind, i, f.message, f.stack_ ?? f.stack, input, performance.now() - t0);
  }
  const ms = performance.now() - t0;
  slot[1] = 0;
  stats.inputs++;
  stats.totalMs += ms;
  if (ms > stats.maxMs) stats.maxMs = ms;
  stats.codes[outcome] = (stats.codes[outcome] ?? 0) + 1;
  if (job.keepInputs) record('input', i, `outcome ${outcome} in ${ms.toFixed(1)} ms`, undefined, input, ms);
  const bound = harness.boundFor?.(input, job.boundMs) ?? job.boundMs;
  if (ms > bound) {
    stats.hangs++;
    record('hang', i, `took ${ms.toFixed(0)} ms (bound ${bound} ms)`, undefined, input, ms);
  }
  if ((i & 255) === 0 && Date.now() - lastPost > 1000) {
    lastPost = Date.now();
    port.postMessage({ type: 'progress', index: i, stats: { ...stats, findings: [] } });
  }
}
await harness.close?.();
port.postMessage({ type: 'done', stats });
