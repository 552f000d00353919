#!/usr/bin/env node
// Runs every packages/*/test/**/*.test.ts with node:test through tsx. Node 20's --test takes no
// globs, so the files are listed here; extra arguments filter by path substring.
// Coverage: Node's own (--experimental-test-coverage, mapped back to the .ts sources through tsx's
// source maps) written as lcov, then one line per package of its src/ files at the end. It covers
// the test processes, not the child processes some tests spawn (the CLI, sealed builds), so it is
// a floor. It is on for the whole run (what CI runs) and off when files are filtered, as it costs
// about a quarter more CPU per test process; CHARTER_COVERAGE=1 or 0 says otherwise. It never fails the run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures' || name === 'vectors') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
for (const pkg of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', pkg, 'test');
  try {
    if (statSync(dir).isDirectory()) walk(dir);
  } catch {}
}
const chosen = files.sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (chosen.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// People read the spec reporter; a TAP copy gives the totals for the plain closing line CI reads.
const out = mkdtempSync(join(tmpdir(), 'charter-tap-'));
const tap = join(out, 'results.tap');
const lcov = join(out, 'coverage.lcov');
const coverage = process.env.CHARTER_COVERAGE ? process.env.CHARTER_COVERAGE !== '0' : filters.length === 0;
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    ...(coverage
      ? [
          '--experimental-test-coverage',
          `--test-reporter=${join(import.meta.dirname, 'spec-reporter.mjs')}`,
          '--test-reporter-destination=stdout',
          '--test-reporter=lcov',
          `--test-reporter-destination=${lcov}`,
        ]
      : ['--test-reporter=spec', '--test-reporter-destination=stdout']),
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...chosen,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (coverage) {
  try {
    printCoverage(readFileSync(lcov, 'utf8'));
  } catch {
    // No lcov file: the runner failed before writing it; its exit status says so.
  }
}
try {
  const text = readFileSync(tap, 'utf8');
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  console.log(`\n${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
} catch {
  // No TAP file: the runner itself failed, and its exit status says so.
}
process.exit(r.status ?? 1);

/** One line per package: lines, branches and functions covered in its src/ (test files left out). */
function printCoverage(text) {
  const sums = new Map();
  for (const record of text.split('end_of_record')) {
    const file = /^SF:(.+)$/m.exec(record)?.[1];
    const pkg = file && /^(?:.*\/)?packages\/([^/]+)\/src\//.exec(relative(root, file))?.[1];
    if (!pkg) continue;
    const s = sums.get(pkg) ?? { LF: 0, LH: 0, BRF: 0, BRH: 0, FNF: 0, FNH: 0, files: 0 };
    for (const key of ['LF', 'LH', 'BRF', 'BRH', 'FNF', 'FNH'])
      s[key] += Number(new RegExp(`^${key}:(\\d+)$`, 'm').exec(record)?.[1] ?? 0);
    s.files++;
    sums.set(pkg, s);
  }
  const pct = (hit, found) => (found === 0 ? '   -  ' : `${((100 * hit) / found).toFixed(1).padStart(5)}%`);
  console.log('\ncoverage (src/ of each package, in-process only): lines branches functions');
  for (const [pkg, s] of [...sums].sort(([a], [b]) => a.localeCompare(b)))
    console.log(
      `coverage ${pkg.padEnd(10)} lines ${pct(s.LH, s.LF)}  branches ${pct(s.BRH, s.BRF)}  functions ${pct(s.FNH, s.FNF)}  (${s.files} files)`,
    );
}
