#!/usr/bin/env node
// Summarise a V8 .cpuprofile (node --cpu-prof; `npm run bench -- --profile DIR` writes the gateway's):
// self time per function and per file, largest first, as a share of the samples. Usage:
//   node scripts/bench/profile-summary.mjs FILE.cpuprofile [top=30]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs FILE.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfCount = new Map();
for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
// Idle samples are the process waiting for work: left out, so shares are of the time spent working.
const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const total = profile.samples.filter((id) => !idle.has(id)).length;
const fns = new Map();
const files = new Map();
const shortFile = (url) => {
  if (!url) return '(native/VM)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m && !url.includes('/packages/')) return `dep:${m[1]}`;
  const p = url.match(/packages\/(.*)$/);
  if (p) return p[1];
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
};
for (const [id, count] of selfCount) {
  if (idle.has(id)) continue;
  const n = byId.get(id);
  const cf = n.callFrame;
  const f = shortFile(cf.url);
  const key = `${cf.functionName || '(anonymous)'}  ${f}:${cf.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + count);
  files.set(f, (files.get(f) ?? 0) + count);
}
const print = (title, map) => {
  console.log(`\n${title} (self time, % of ${total} samples)`);
  for (const [k, c] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * c) / total).toFixed(1).padStart(6)}%  ${k}`);
};
// Inclusive time of the project's own functions (self + everything they call), once per stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map();
for (const [id, count] of selfCount) {
  if (idle.has(id)) continue;
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const cf = byId.get(at).callFrame;
    if (!cf.url.includes('/packages/')) continue;
    const key = `${cf.functionName || '(anonymous)'}  ${shortFile(cf.url)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + count);
  }
}
print('by file', files);
print('by function', fns);
print('project functions, inclusive', inclusive);
