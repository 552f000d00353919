/** The proxy path reads the upstream's raw headers itself: it must drop what the Fastify path drops (fast-check). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { clientResponseHeaders } from '../src/forward-headers.ts';
import { clientHeadersOfRaw } from '../src/upstream-forward.ts';

test('raw upstream headers become the client headers the Fastify path would send (fast-check)', () => {
  const name = fc.constantFrom(
    'Content-Type',
    'connection',
    'Keep-Alive',
    'x-a',
    'X_A',
    'set-cookie',
    'TE',
    'vary',
  );
  const value = fc.constantFrom('keep-alive', 'close', 'x-a', 'X-A, te', 'x_a', 'a', 'b');
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
      const raw = pairs.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1')]);
      // What undici's parser hands the Fastify path: lower-case names, repeated ones as arrays.
      const parsed: Record<string, string | string[]> = {};
      for (const [n, v] of pairs) {
        const k = n.toLowerCase();
        const prior = parsed[k];
        parsed[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
      }
      assert.deepEqual(clientHeadersOfRaw(raw), clientResponseHeaders(parsed));
    }),
    { numRuns: 2000 },
  );
});
