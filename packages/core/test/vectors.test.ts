/** Runs every vector in ./vectors: each valid artifact verifies, each invalid one gets its exact code and detail. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CharterError, KeyRing, trustFromDocument, verifyCharter, verifyLicense } from '@charter/core';

const dir = join(import.meta.dirname, 'vectors');
const context = JSON.parse(readFileSync(join(dir, '_context.json'), 'utf8'));
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('_'));

test('the vector folder holds at least 25 distinct invalid artifacts', () => {
  const invalid = files
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .filter((v) => !v.expected.ok);
  assert.ok(invalid.length >= 25, `only ${invalid.length}`);
  assert.equal(
    new Set(invalid.map((v) => JSON.stringify(v.input))).size,
    invalid.length,
    'two vectors share an input',
  );
});

for (const file of files) {
  const vector = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  test(`vector ${file}: ${vector.title}`, async () => {
    const trust = await trustFromDocument(context.trust);
    const ring = new KeyRing(trust, vector.kind === 'charter' ? context.keys : []);
    const verify = vector.kind === 'charter' ? verifyCharter : verifyLicense;
    try {
      await verify(vector.input, ring, { at: vector.at });
      assert.ok(
        vector.expected.ok,
        `accepted, but expected ${vector.expected.code}/${vector.expected.detail}`,
      );
    } catch (e) {
      if (!(e instanceof CharterError)) throw e;
      assert.ok(!vector.expected.ok, `refused ${e.code}/${e.detail}: ${e.message}`);
      assert.equal(e.code, vector.expected.code);
      assert.equal(e.detail, vector.expected.detail, e.message);
      // The reason a person reads never repeats the artifact.
      if (typeof vector.input === 'string') {
        for (const part of vector.input.split('.'))
          if (part.length > 20) assert.ok(!e.message.includes(part));
      }
    }
  });
}
