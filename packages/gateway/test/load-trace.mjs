// An import-tracing hook for entries.test.ts: every module URL the ESM loader resolves is appended
// to the file named by CHARTER_LOAD_TRACE, one a line. Registered with --import before the code
// under test runs, so nothing it loads escapes the list.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const trace = process.env.CHARTER_LOAD_TRACE;
if (!trace) throw new Error('CHARTER_LOAD_TRACE is not set');
register('./load-trace-hooks.mjs', import.meta.url, { data: { trace } });
// A CommonJS package's own require() calls never reach the ESM hooks; require.cache holds them,
// so it goes into the trace too when the process ends.
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const loaded = Object.keys(cache).filter((p) => p.startsWith('/'));
  appendFileSync(trace, loaded.map((p) => `${pathToFileURL(p).href}\n`).join(''));
});
