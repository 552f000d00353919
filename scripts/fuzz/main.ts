/**
 * `npm run fuzz`: a fuzzing campaign against every parser facing the network or a hostile file.
 *
 *   node --import tsx scripts/fuzz/main.ts [--target NAME[,NAME…]|all] [--seed N] [--count N]
 *     [--from N] [--time-bound-ms N] [--max-seconds N] [--jobs N] [--out DIR] [--index N] [--replay FILE]
 *     [--list]
 *
 * Each target runs in a worker thread: inputs 0…count-1, input i made by its own generator seeded
 * from (seed, i), so a campaign is deterministic by seed and one input can be made again alone
 * (`--index`). Every input is timed; one over the bound is a hang, one still running at ten times the
 * bound (at least 30 s) is stopped and recorded. The result per target: crashes (an exception that is
 * not a catalogued CharterError), hangs, 5xx answers, answers without a catalogued code, and the
 * outcomes seen. Progress lines while it runs, a table at the end, JSON in DIR/fuzz-seed<N>.json,
 * failing inputs in DIR/failures/. Exit 1 when anything failed. `--max-seconds` ends each target after
 * that long even short of `--count` (the table then says how many inputs ran). `--from N` starts at
 * input N (inputs N…count-1), so one campaign can be split over processes or cores: `--count 500000`
 * and `--from 500000 --count 1000000` together run the same inputs as `--count 1000000` alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TARGETS } from './targets.ts';
import type { FindingRecord, Stats, WorkerJob } from './worker.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const root = resolve(import.meta.dirname, '../..');
const seed = Number(arg('seed') ?? 1);
const count = Number(arg('count') ?? 1_000_000);
const first = Number(arg('from') ?? 0);
const boundMs = Number(arg('time-bound-ms') ?? 2000);
const jobs = Math.max(1, Number(arg('jobs') ?? 1));
const maxSeconds = arg('max-seconds') === undefined ? undefined : Number(arg('max-seconds'));
const out = resolve(arg('out') ?? join(root, 'test-artifacts', 'fuzz'));
const index = arg('index');
const replay = arg('replay');
const wanted = arg('target') ?? 'all';

if (process.argv.includes('--list')) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(22)} ${t.about}`);
  process.exit(0);
}
const names = wanted === 'all' ? TARGETS.map((t) => t.name) : wanted.split(',');
for (const n of names) {
  if (!TARGETS.some((t) => t.name === n)) {
    console.error(`no target ${n}; --list shows them`);
    process.exit(2);
  }
}
if (
  !Number.isSafeInteger(seed) ||
  !Number.isSafeInteger(count) ||
  count < 0 ||
  !Number.isSafeInteger(first) ||
  first < 0 ||
  first > count ||
  !(boundMs > 0)
) {
  console.error(
    '--seed, --count and --from are integers (0 ≤ from ≤ count), --time-bound-ms a positive number',
  );
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const boot = join(import.meta.dirname, 'boot.mjs');
const entry = new URL('./worker.ts', import.meta.url).href;

interface Result extends Stats {
  target: string;
  about: string;
  seed: number;
  seconds: number;
  inputsPerS: number;
  stopped: number;
}

/** The old-generation heap of each target's worker, in MB. */
const WORKER_HEAP_MB = 3072;

/** Run inputs [from, to) of `name` in a worker; resolves with its stats (a stuck input ends the worker). */
function runWorker(
  name: string,
  from: number,
  to: number,
  onProgress: (s: Stats) => void,
  onFinding: (f: FindingRecord) => void,
  extra: Partial<WorkerJob> = {},
): Promise<{
  stats?: Stats;
  stuck?: number;
  outOfMemory?: boolean;
  replayed?: { outcome: string; ms: number };
}> {
  const slot = new SharedArrayBuffer(16);
  const view = new Float64Array(slot);
  const job: WorkerJob = { target: name, seed, from, to, boundMs, out, slot, ...extra };
  // A heap limit of its own: an input that makes the worker (the harness, or the target running in
  // it) run out of memory ends that worker with ERR_WORKER_OUT_OF_MEMORY, not the whole campaign.
  const worker = new Worker(boot, {
    workerData: { entry, job },
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  const killAfter = Math.max(boundMs * 10, 30_000);
  return new Promise((done, fail) => {
    let finished = false;
    const watchdog = setInterval(() => {
      const started = view[1] as number;
      if (started > 0 && Date.now() - started > killAfter && !finished) {
        finished = true;
        clearInterval(watchdog);
        const stuck = view[0] as number;
        void worker.terminate().then(() => done({ stuck }));
      }
    }, 1000);
    worker.on(
      'message',
      (m: { type: string; stats?: Stats; finding?: FindingRecord; outcome?: string; ms?: number }) => {
        if (m.type === 'progress' && m.stats) onProgress(m.stats);
        else if (m.type === 'finding' && m.finding) onFinding(m.finding);
        else if (m.type === 'replayed') {
          finished = true;
          clearInterval(watchdog);
          void worker.terminate().then(() => done({ replayed: { outcome: m.outcome ?? '', ms: m.ms ?? 0 } }));
        } else if (m.type === 'done') {
          finished = true;
          clearInterval(watchdog);
          done({ stats: m.stats as Stats });
        }
      },
    );
    worker.on('error', (e) => {
      clearInterval(watchdog);
      if (finished) return;
      finished = true;
      if ((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY')
        done({ stuck: view[0] as number, outOfMemory: true });
      else fail(e);
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (!finished) fail(new Error(`worker for ${name} exited with ${code}`));
    });
  });
}

function line(name: string, s: Stats, seconds: number): string {
  const rate = seconds > 0 ? Math.round(s.inputs / seconds) : 0;
  const distinct = Object.keys(s.codes).length;
  return `[${name}] ${s.inputs}/${count - first} inputs, ${rate}/s, crashes ${s.crashes}, hangs ${s.hangs}, 5xx ${s.fiveXx}, uncatalogued ${s.uncatalogued}, outcomes ${distinct}, max ${s.maxMs.toFixed(0)} ms`;
}

async function campaign(name: string): Promise<Result> {
  const about = TARGETS.find((t) => t.name === name)?.about ?? '';
  const started = Date.now();
  const deadline = maxSeconds === undefined ? undefined : started + maxSeconds * 1000;
  const total: Stats = {
    inputs: 0,
    codes: {},
    crashes: 0,
    hangs: 0,
    fiveXx: 0,
    uncatalogued: 0,
    maxMs: 0,
    totalMs: 0,
    seeds: 0,
    generatorErrors: 0,
    findings: [],
  };
  let from = first;
  let stopped = 0;
  let lastPrint = 0;
  const findings: FindingRecord[] = [];
  while (from < count) {
    const base = { ...total, codes: { ...total.codes } };
    const r = await runWorker(
      name,
      from,
      count,
      (s) => {
        if (Date.now() - lastPrint < 10_000) return;
        lastPrint = Date.now();
        const merged = {
          ...s,
          inputs: base.inputs + s.inputs,
          crashes: base.crashes + s.crashes,
          hangs: base.hangs + s.hangs,
          fiveXx: base.fiveXx + s.fiveXx,
          uncatalogued: base.uncatalogued + s.uncatalogued,
        };
        console.log(line(name, merged, (Date.now() - started) / 1000));
      },
      (f) => {
        findings.push(f);
        console.log(
          `[${name}] ${f.kind} at input ${f.index}: ${f.message.split('\n')[0]}\n  input: ${f.file}\n  reproduce: npm run fuzz -- --target ${name} --replay ${f.file}`,
        );
      },
      deadline === undefined ? {} : { deadline },
    );
    if (r.stats) {
      merge(total, r.stats);
      break;
    }
    if (deadline !== undefined && Date.now() > deadline) break;
    // A stuck input (a hang) or one that ran the worker out of memory (a crash): recorded, and the
    // campaign goes on after it in a fresh worker. The ended worker's own counts are lost with it;
    // the inputs up to the stuck one count as run.
    const stuck = r.stuck ?? from;
    stopped++;
    total.inputs += stuck - from + 1;
    const f: FindingRecord = r.outOfMemory
      ? {
          kind: 'crash',
          index: stuck,
          message: `the worker ran out of memory (${WORKER_HEAP_MB} MB) at this input, or before it`,
          file: '',
          ms: 0,
        }
      : {
          kind: 'hang',
          index: stuck,
          message: `still running after ${Math.max(boundMs * 10, 30_000)} ms: stopped`,
          file: '',
          ms: Math.max(boundMs * 10, 30_000),
        };
    if (r.outOfMemory) total.crashes++;
    else total.hangs++;
    findings.push(f);
    console.log(
      `[${name}] input ${stuck} ${r.outOfMemory ? 'ran the worker out of memory' : 'never finished'}; make it again with: npm run fuzz -- --target ${name} --seed ${seed} --index ${stuck}`,
    );
    from = stuck + 1;
  }
  const seconds = (Date.now() - started) / 1000;
  total.findings = findings;
  console.log(line(name, total, seconds));
  return {
    target: name,
    about,
    seed,
    seconds,
    inputsPerS: Math.round(total.inputs / seconds),
    stopped,
    ...total,
  };
}

function merge(into: Stats, s: Stats): void {
  into.inputs += s.inputs;
  into.crashes += s.crashes;
  into.hangs += s.hangs;
  into.fiveXx += s.fiveXx;
  into.uncatalogued += s.uncatalogued;
  into.maxMs = Math.max(into.maxMs, s.maxMs);
  into.totalMs += s.totalMs;
  into.seeds = s.seeds;
  into.generatorErrors += s.generatorErrors;
  for (const [k, v] of Object.entries(s.codes)) into.codes[k] = (into.codes[k] ?? 0) + v;
}

if (replay || index !== undefined) {
  const name = names[0] as string;
  if (replay) {
    const r = await runWorker(
      name,
      0,
      0,
      () => {},
      () => {},
      { replay: resolve(replay) },
    );
    console.log(`[${name}] ${replay}: ${r.replayed?.outcome} (${r.replayed?.ms.toFixed(1)} ms)`);
    process.exit(r.replayed?.outcome.match(/^(crash|5xx|uncatalogued)/) ? 1 : 0);
  }
  const i = Number(index);
  // One input alone, written to a file whatever its outcome, so it can be read and replayed.
  const r = await runWorker(
    name,
    i,
    i + 1,
    () => {},
    (f) => console.log(`[${name}] input ${i}: ${f.kind}: ${f.message}\n  written to ${f.file}`),
    { keepInputs: true },
  );
  console.log(`[${name}] input ${i}: ${JSON.stringify(r.stats?.codes ?? { stuck: r.stuck })}`);
  process.exit(0);
}

console.log(
  `fuzz: seed ${seed}, ${count - first} inputs per target${first > 0 ? ` (${first}…${count - 1})` : ''}${maxSeconds === undefined ? '' : ` or ${maxSeconds} s`}, bound ${boundMs} ms per input, ${jobs} at a time, targets: ${names.join(', ')}`,
);
const results: Result[] = [];
const setupFailures: string[] = [];
const file = join(out, `fuzz-seed${seed}.json`);
/**
 * Write what has finished so far: after every target, so a run that dies later (out of memory, a
 * kill) still leaves the figures of the targets it completed (`complete: false` until the end).
 */
function writeResults(complete: boolean): void {
  writeFileSync(
    file,
    JSON.stringify(
      {
        seed,
        from: first,
        count,
        maxSeconds,
        boundMs,
        node: process.version,
        finishedAt: new Date().toISOString(),
        complete,
        setupFailures,
        results,
      },
      null,
      1,
    ),
  );
}
const queue = [...names];
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      try {
        results.push(await campaign(n));
        writeResults(false);
      } catch (e) {
        // A target that cannot even start is a failure of the run, reported as such; the others go on.
        console.error(`[${n}] did not run: ${(e as Error)?.stack ?? e}`);
        setupFailures.push(n);
      }
    }
  }),
);
results.sort((a, b) => names.indexOf(a.target) - names.indexOf(b.target));

// `gen. faults`: indexes whose generator threw (a fault of the fuzzer, not of the target; its stack is
// printed when it happens): those inputs were not run, so `inputs` is short of `--count` by as many.
const header = [
  'target',
  'inputs',
  'inputs/s',
  'crashes',
  'hangs',
  '5xx',
  'uncat.',
  'gen. faults',
  'max ms',
  'outcomes',
];
const rows = results.map((r) => [
  r.target,
  String(r.inputs),
  String(r.inputsPerS),
  String(r.crashes),
  String(r.hangs),
  String(r.fiveXx),
  String(r.uncatalogued),
  String(r.generatorErrors),
  r.maxMs.toFixed(0),
  String(Object.keys(r.codes).length),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const fmt = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
console.log(`\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(fmt).join('\n')}`);
for (const r of results)
  console.log(
    `${r.target}: ${Object.entries(r.codes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
writeResults(true);
console.log(`\nresults: ${file}`);
const failed =
  setupFailures.length > 0 || results.some((r) => r.crashes + r.hangs + r.fiveXx + r.uncatalogued > 0);
process.exit(failed ? 1 : 0);
