// Declarations and imports stay in step: what the product imports at run time is in the importing
// package's `dependencies` (so `npm ci --omit=dev` installs it), tests declare the workspace
// packages they use, and nothing is declared that nothing imports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { check, importsOf } from '../../../scripts/dependencies.mjs';

test('the import scanner sees static, dynamic, side-effect and re-export imports, not builtins or relatives', () => {
  const names: Set<string> = importsOf(
    [
      'import { a } from QalphaQ;',
      'import b from Q@scope/beta/subQ;',
      'export { c } from Qgamma/deep/path.jsQ;',
      'const d = await import(QdeltaQ);',
      'import QepsilonQ;',
      'import { readFileSync } from Qnode:fsQ;',
      'import { join } from QpathQ;',
      'import { x } from Q./local.tsQ;',
    ]
      .join('\n')
      // Q stands for a quote so that the scanner, reading this file, does not see these samples.
      .replaceAll('Q', "'"),
  );
  assert.deepEqual([...names].sort(), ['@scope/beta', 'alpha', 'delta', 'epsilon', 'gamma']);
});

test('every package declares what it imports, and imports what it declares', () => {
  assert.deepEqual(check(), []);
});
