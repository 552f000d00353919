/**
 * The detail-code registry (packages/core/src/error-details.ts) is complete and documented: every
 * `ERR_*` literal in any package's source is registered, every registered code is still used, and
 * docs/errors.md has one table row per registered code and no row for an unregistered one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ERROR_DETAILS, isErrorCode } from '@charter/core/errors';

const root = join(import.meta.dirname, '..', '..', '..');
const REGISTRY = join(root, 'packages', 'core', 'src', 'error-details.ts');
// `\b` on both sides: a foreign code that merely contains ERR_ (Fastify's FST_ERR_…) is not ours.
const LITERAL = /\bERR_[A-Z0-9_]+\b/g;
// The portal's and console's refuse helpers form the detail from the code: ERR_NOT_FOUND and so on.
const FORMED = /`ERR_\$\{code\.toUpperCase\(\)\}`/;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(m?[jt]sx?)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every ERR_ literal in packages/*\/src, with the first place it is found. */
function literals(): Map<string, string> {
  const found = new Map<string, string>();
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const file of sources(src)) {
      if (file === REGISTRY) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(LITERAL)) if (!found.has(m[0])) found.set(m[0], relative(root, file));
      if (FORMED.test(text))
        for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_REQUEST', 'NOT_FOUND', 'UNAVAILABLE'])
          if (!found.has(`ERR_${code}`)) found.set(`ERR_${code}`, relative(root, file));
    }
  }
  return found;
}

test('every ERR_ literal in the packages’ source is in the registry', () => {
  const unregistered = [...literals()].filter(([code]) => !Object.hasOwn(ERROR_DETAILS, code));
  assert.deepEqual(
    unregistered.map(([code, file]) => `${code} (${file})`),
    [],
    'register each in packages/core/src/error-details.ts and docs/errors.md',
  );
});

test('every registered code is still used somewhere, and names catalogued codes', () => {
  const used = literals();
  assert.deepEqual(
    Object.keys(ERROR_DETAILS).filter((code) => !used.has(code)),
    [],
    'drop registry entries (and their docs rows) that no source uses',
  );
  for (const [code, entry] of Object.entries(ERROR_DETAILS)) {
    assert.ok(entry.meaning.length > 0, `${code} has a meaning`);
    if (entry.error !== 'relayed') {
      assert.ok(entry.error.length > 0, `${code} names the code it travels with`);
      for (const e of entry.error) assert.ok(isErrorCode(e), `${code}: ${e} is catalogued`);
    }
  }
});

test('docs/errors.md has one table row for each registered code, and none for others', () => {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string);
  const registered = Object.keys(ERROR_DETAILS);
  assert.deepEqual(
    registered.filter((c) => !rows.includes(c)),
    [],
    'registered but not documented',
  );
  assert.deepEqual(
    rows.filter((c) => !Object.hasOwn(ERROR_DETAILS, c)),
    [],
    'documented but not registered',
  );
  assert.equal(new Set(rows).size, rows.length, 'each code has one row');
});
