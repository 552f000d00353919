/** Shared test helpers: the package's own copy of the fixtures, and refusal assertions. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { CharterError } from '@charter/core';

const FIXTURES = new URL('./fixtures/', import.meta.url);

/** One fixture file, parsed (fields as documented in fixtures/README.md). */
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON is free-form by design.
export type Fixture = Record<string, any>;

/** Load a fixture by file name. */
export function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Fixture;
}

/** All fixture file names starting with `prefix`. */
export function fixtureNames(prefix: string): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
}

/** Text of a file under fixtures/. */
export function fixtureText(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

/** Bytes of base64 text. */
export function b64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** Assert `fn` throws CharterError invalid_attestation, with `detail` when given. */
export function assertRefused(fn: () => unknown, detail?: string): CharterError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CharterError, `expected CharterError, got ${String(e)}`);
    assert.equal(e.code, 'invalid_attestation');
    if (detail !== undefined) assert.equal(e.detail, detail, `reason was: ${e.message}`);
    return e;
  }
  assert.fail(`expected a refusal${detail ? ` (${detail})` : ''}, but verification succeeded`);
}

/** True when `e` is the only kind of error verifiers may throw on bad input. */
export function isAttestationRefusal(e: unknown): boolean {
  return e instanceof CharterError && e.code === 'invalid_attestation';
}
