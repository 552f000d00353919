/** methodReadings reads override headers and `_method` from hostile requests: a list, never a throw. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { methodReadings } from '../src/routes.ts';

test('method readings: any headers and query give the method plus the overrides named, never a throw', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
      fc.dictionary(
        fc.constantFrom('x-http-method-override', 'x_http_method', 'X-Method-Override', 'accept', 'x-other'),
        fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
      ),
      fc.string({ maxLength: 200, unit: 'binary-ascii' }),
      (method, headers, query) => {
        const out = methodReadings(method, headers, `/orders/1?${query}`);
        assert.equal(out[0], method);
        for (const m of out) assert.match(m, /^[A-Z]{1,20}$/);
      },
    ),
  );
  assert.deepEqual(methodReadings('POST', { 'x-http-method-override': 'delete' }, '/x'), ['POST', 'DELETE']);
  assert.deepEqual(methodReadings('POST', {}, '/x?a=1&_%6Dethod=put'), ['POST', 'PUT']);
  assert.deepEqual(methodReadings('POST', {}, '/x?_method[]=patch'), ['POST', 'PATCH']);
  assert.deepEqual(methodReadings('POST', { x_http_method: ' Get , * ' }, '/x?_method=%ZZ'), ['POST', 'GET']);
});
