/**
 * Library mode loads only what it uses: each subpath entry of @charter/gateway is imported in a fresh
 * process under an import-tracing hook, and the store drivers (`pg`, `ioredis`, the native
 * `better-sqlite3`) must be loaded only by the entries that name them. The production entry of
 * @charter/attest must not carry (or load) the attestation minting code of `@charter/attest/testing`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..', '..');
const DRIVERS = ['pg', 'ioredis', 'better-sqlite3'] as const;

/** Run `code` (an ES module body) in a new process; every module URL it loaded. */
function loadedBy(code: string): string[] {
  const trace = join(mkdtempSync(join(tmpdir(), 'charter-trace-')), 'trace.txt');
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      join(import.meta.dirname, 'load-trace.mjs'),
      '--input-type=module',
      '-e',
      code,
    ],
    {
      cwd: root,
      env: { ...process.env, CHARTER_LOAD_TRACE: trace },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
}

/** The drivers among `urls`, by their folder in node_modules. */
function driversIn(urls: string[]): string[] {
  return DRIVERS.filter((d) => urls.some((u) => u.includes(`/node_modules/${d}/`)));
}

describe('subpath entries', () => {
  test('the trace sees a driver when an entry does load it (the check can fail)', () => {
    const urls = loadedBy(
      "await import('@charter/gateway/sqlite'); await import('@charter/gateway/pg'); await import('@charter/gateway/redis');",
    );
    assert.deepEqual(driversIn(urls), [...DRIVERS]);
  });

  test('@charter/gateway/fastify with the engine loads no store driver', () => {
    const urls = loadedBy(
      [
        "const { charterFastify } = await import('@charter/gateway/fastify');",
        "const { createGateway } = await import('@charter/gateway');",
        "if (typeof charterFastify !== 'function' || typeof createGateway !== 'function') process.exit(3);",
      ].join('\n'),
    );
    assert.ok(
      urls.some((u) => u.endsWith('/packages/gateway/src/fastify-plugin.ts')),
      'the plugin was loaded',
    );
    assert.deepEqual(driversIn(urls), []);
  });

  test('@charter/gateway/express loads no store driver and no web framework', () => {
    const urls = loadedBy(
      "const { charterMiddleware } = await import('@charter/gateway/express'); if (typeof charterMiddleware !== 'function') process.exit(3);",
    );
    assert.deepEqual(driversIn(urls), []);
    assert.ok(!urls.some((u) => u.includes('/node_modules/fastify/')), 'fastify is not loaded');
  });

  test('@charter/gateway/backends loads only the driver of the URL it opens', () => {
    const home = mkdtempSync(join(tmpdir(), 'charter-backends-'));
    const urls = loadedBy(
      `const { openBackends } = await import('@charter/gateway/backends'); const b = await openBackends({ home: ${JSON.stringify(home)} }); await b.close();`,
    );
    assert.deepEqual(driversIn(urls), ['better-sqlite3']);
  });

  test('@charter/attest carries no test authority; @charter/attest/testing does', async () => {
    const attest: Record<string, unknown> = await import('@charter/attest');
    const testing: Record<string, unknown> = await import('@charter/attest/testing');
    const minting = Object.keys(attest).filter((k) => /^createTest|^mlDsa65Spki$/.test(k));
    assert.deepEqual(minting, []);
    assert.equal(typeof testing.createTestAttestationAuthority, 'function');
    const urls = loadedBy("await import('@charter/attest');");
    assert.ok(urls.some((u) => u.endsWith('/packages/attest/src/index.ts')));
    assert.ok(!urls.some((u) => /\/packages\/attest\/src\/(testing|x509build)\.ts$/.test(u)));
  });
});
