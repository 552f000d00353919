/** The error tables of docs/errors.md are the documentation of the catalogue: they must match the code exactly. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROTOCOL_ERRORS, TOOL_ERRORS } from '@charter/core';

const errorsDoc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'errors.md'), 'utf8');
const spec = (() => {
  try {
    return readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'SPEC.md'), 'utf8');
  } catch {
    return undefined;
  }
})();

function documented(): Map<string, { status: number; description: string }> {
  const rows = new Map<string, { status: number; description: string }>();
  for (const m of errorsDoc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.+?) \|$/gm)) {
    rows.set(m[1] as string, { status: Number(m[2]), description: m[3] as string });
  }
  return rows;
}

test('every catalogued error is documented in docs/errors.md with its status and description, and nothing else is', () => {
  const docs = documented();
  const code = { ...PROTOCOL_ERRORS, ...TOOL_ERRORS };
  assert.deepEqual([...docs.keys()].sort(), Object.keys(code).sort());
  for (const [name, entry] of Object.entries(code)) assert.deepEqual(docs.get(name), entry, name);
});

test('the protocol codes are exactly the SPEC §3 catalogue', {
  skip: spec === undefined ? 'SPEC.md not beside the checkout' : false,
}, () => {
  const section = (spec as string).split('Error codes:')[1]?.split('\n## ')[0] ?? '';
  const specCodes = [...section.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(specCodes)].sort(), Object.keys(PROTOCOL_ERRORS).sort());
  assert.equal(PROTOCOL_ERRORS.rate_limited.status, 429);
  assert.equal(PROTOCOL_ERRORS.license_invalid.status, 503);
  assert.equal(PROTOCOL_ERRORS.unavailable.status, 503);
});
