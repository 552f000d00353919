/**
 * docs/architecture.md's import rules are the packages' real ones: the table between
 * `<!-- import-rules:begin -->` and `<!-- import-rules:end -->` says, per package, which `@charter/*`
 * packages it may import, and every `packages/*\/package.json` must keep its `dependencies` (what
 * runs after `npm ci --omit=dev`; scripts/dependencies.mjs keeps them in step with the imports)
 * inside its row. A package without a row fails (document it first); a row for a package not made
 * yet (the target layout) is reported and skipped.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

interface Rule {
  runsOn: string;
  mayImport: Set<string> | '*';
}

/** The rules table of docs/architecture.md, by folder name (`core`, `gateway`, …). */
export function importRules(markdown: string): Map<string, Rule> {
  const begin = markdown.indexOf('<!-- import-rules:begin -->');
  const end = markdown.indexOf('<!-- import-rules:end -->');
  assert.ok(begin >= 0 && end > begin, 'docs/architecture.md has the import-rules table');
  const rules = new Map<string, Rule>();
  for (const row of markdown.slice(begin, end).split('\n')) {
    const m = /^\| `packages\/([a-z0-9-]+)` \| ([^|]+) \| ([^|]+) \|/.exec(row);
    if (!m) continue;
    const list = (m[3] as string).trim();
    const mayImport =
      list === '*' ? '*' : new Set(list === '—' ? [] : list.split(',').map((s) => `@charter/${s.trim()}`));
    assert.ok(!rules.has(m[1] as string), `one row for packages/${m[1]}`);
    rules.set(m[1] as string, { runsOn: (m[2] as string).trim(), mayImport });
  }
  return rules;
}

const rules = importRules(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));
const packages = readdirSync(join(ROOT, 'packages')).filter((p) =>
  existsSync(join(ROOT, 'packages', p, 'package.json')),
);

test('docs/architecture.md has a rule for every package, and names only Charter packages', (t) => {
  assert.ok(rules.size >= 10, `the table parsed (${rules.size} rows)`);
  assert.deepEqual(
    packages.filter((p) => !rules.has(p)),
    [],
    'packages without a row in docs/architecture.md',
  );
  for (const [folder, rule] of rules) {
    if (!packages.includes(folder))
      t.diagnostic(`packages/${folder} is in the target layout but not made yet`);
    if (rule.mayImport === '*') continue;
    for (const name of rule.mayImport) {
      const target = name.replace('@charter/', '');
      assert.ok(rules.has(target), `packages/${folder} may import ${name}, which has no row`);
    }
  }
});

/** Each dependency of a package on a Charter package that its row does not allow, one line each. */
export function violations(
  rules: Map<string, Rule>,
  manifests: Record<string, Record<string, unknown>>,
): string[] {
  const problems: string[] = [];
  for (const [folder, pkg] of Object.entries(manifests)) {
    const rule = rules.get(folder);
    if (!rule) {
      problems.push(`packages/${folder} has no row`);
      continue;
    }
    if (rule.mayImport === '*') continue;
    const deps = Object.keys({
      ...(pkg.dependencies as object),
      ...(pkg.peerDependencies as object),
      ...(pkg.optionalDependencies as object),
    });
    for (const dep of deps.filter((d) => d.startsWith('@charter/')))
      if (!rule.mayImport.has(dep))
        problems.push(`packages/${folder} depends on ${dep}, which its row does not allow`);
  }
  return problems;
}

test('every package depends only on the Charter packages docs/architecture.md lets it import', () => {
  const manifests = Object.fromEntries(
    packages.map((p) => [p, JSON.parse(readFileSync(join(ROOT, 'packages', p, 'package.json'), 'utf8'))]),
  );
  assert.deepEqual(violations(rules, manifests), []);
});

test('the check can fail: a dependency outside its row, or a package without a row, is found', () => {
  const doc = [
    '<!-- import-rules:begin -->',
    '| package | runs on | may import | job |',
    '|---|---|---|---|',
    '| `packages/core` | everywhere | — | formats |',
    '| `packages/gateway` | customer | core, attest | gateway |',
    '| `packages/e2e` | tests | * | tests |',
    '<!-- import-rules:end -->',
  ].join('\n');
  const r = importRules(doc);
  assert.deepEqual(
    violations(r, {
      core: { dependencies: { jose: '1', '@charter/gateway': '*' } },
      gateway: {
        dependencies: { '@charter/core': '*', '@charter/attest': '*' },
        devDependencies: { '@charter/issuer': '*' },
      },
      e2e: { dependencies: { '@charter/issuer': '*' } },
      issuer: { dependencies: {} },
    }),
    ['packages/core depends on @charter/gateway, which its row does not allow', 'packages/issuer has no row'],
  );
  assert.deepEqual(violations(r, { gateway: { peerDependencies: { '@charter/issuer': '*' } } }), [
    'packages/gateway depends on @charter/issuer, which its row does not allow',
  ]);
});
