#!/usr/bin/env node
// Keeps each workspace package's declared dependencies in step with what its code imports, so that
// `npm ci --omit=dev` installs everything the product needs at run time and nothing works only by
// hoisting. Run directly (`node scripts/dependencies.mjs`) or through its test
// (packages/e2e/test/dependencies.test.ts). Exit 1 with one line per problem.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const builtins = new Set(builtinModules);

/** Bare package names imported by one source file (static, dynamic and `export … from`). */
export function importsOf(text) {
  const names = new Set();
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const spec = m[1];
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      if (builtins.has(name)) continue;
      names.add(name);
    }
  }
  return names;
}

function files(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    const p = join(dir, name);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink()) continue;
    if (st.isDirectory()) files(p, out);
    else if (/\.(m?[jt]sx?)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// Declared on purpose without an import the scan can see: a CLI's loader, type packages.
const USED_WITHOUT_IMPORT = {
  '@charter/cli': ['tsx'],
};

/** Every problem found, one human-readable line each. */
export function check() {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const rootDev = new Set(Object.keys(rootPkg.devDependencies ?? {}));
  const problems = [];
  for (const dirName of readdirSync(join(root, 'packages'))) {
    const dir = join(root, 'packages', dirName);
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const runtime = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
    ]);
    const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
    const used = new Set(USED_WITHOUT_IMPORT[pkg.name] ?? []);
    // Production code: everything under the package except its tests, benches and demo pages.
    const testDirs = ['test', 'bench', 'demo'].map((d) => join(dir, d));
    for (const file of files(dir)) {
      const isTest = testDirs.some((t) => file.startsWith(t + '/')) || /\.config\.[mc]?[jt]s$/.test(file);
      for (const name of importsOf(readFileSync(file, 'utf8'))) {
        if (name === pkg.name) continue;
        used.add(name);
        if (runtime.has(name)) continue;
        if (isTest) {
          // Tests may use the repository's shared dev tools; our own packages must be declared.
          if (dev.has(name) || (rootDev.has(name) && !name.startsWith('@charter/'))) continue;
          problems.push(
            `${pkg.name}: ${relative(root, file)} imports ${name}, which ${pkg.name} does not declare`,
          );
        } else {
          problems.push(
            `${pkg.name}: ${relative(root, file)} imports ${name} at run time, but it is not in ${pkg.name}'s dependencies`,
          );
        }
      }
    }
    for (const name of runtime) {
      if (!used.has(name) && !name.startsWith('@types/')) {
        problems.push(`${pkg.name}: declares ${name} but never imports it`);
      }
    }
  }
  return [...new Set(problems)].sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = check();
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log('dependencies match the imports');
}
