/** methodReadings reads override headers and `_method` from hostile requests: a list, never a throw. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ANY_METHOD, compileRoutes, methodReadings, scopesFor } from '../src/routes.ts';

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

test('method readings: a form POST may run as any method, the body unread; a parsed body as its `_method` says', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '15' };
  assert.deepEqual(methodReadings('POST', form, '/x'), ['POST', ANY_METHOD]);
  assert.deepEqual(methodReadings('post', { 'content-length': '3' }, '/x'), ['POST', ANY_METHOD]);
  assert.deepEqual(
    methodReadings(
      'POST',
      { 'transfer-encoding': 'chunked', 'content-type': 'Multipart/Form-Data; boundary=x' },
      '/x',
    ),
    ['POST', ANY_METHOD],
  );
  assert.deepEqual(
    methodReadings('POST', { 'content-length': '9', 'content-type': 'Multipart/Mixed; b=1' }, '/x'),
    ['POST', ANY_METHOD],
  );
  // No body, not a form (JSON: read only once parsed), or not a POST: its own method.
  assert.deepEqual(
    methodReadings('POST', { 'content-length': '2', 'content-type': 'application/problem+json' }, '/x'),
    ['POST'],
  );
  assert.deepEqual(
    methodReadings('POST', { 'content-length': '20', 'content-type': 'application/json' }, '/x'),
    ['POST'],
  );
  assert.deepEqual(
    methodReadings('POST', { 'content-length': '20', 'content-type': 'application/json' }, '/x', {
      _method: 'DELETE',
    }),
    ['POST', 'DELETE'],
  );
  assert.deepEqual(
    methodReadings('POST', { 'content-type': 'application/json', 'content-length': '0' }, '/x'),
    ['POST'],
  );
  assert.deepEqual(methodReadings('POST', { 'content-type': 'application/json' }, '/x'), ['POST']);
  assert.deepEqual(methodReadings('POST', { 'content-type': 'text/plain', 'content-length': '9' }, '/x'), [
    'POST',
  ]);
  assert.deepEqual(methodReadings('PUT', form, '/x'), ['PUT']);
  // Parsed by the host: exactly the `_method` it holds.
  assert.deepEqual(methodReadings('POST', form, '/x', { _method: 'delete' }), ['POST', 'DELETE']);
  assert.deepEqual(methodReadings('POST', form, '/x', { _method: ['put', 'patch'] }), [
    'POST',
    'PUT',
    'PATCH',
  ]);
  assert.deepEqual(methodReadings('POST', form, '/x', { item: 1 }), ['POST']);
  // `{}`: what Express 4's parsers leave on a body of a type they do not parse; the body is unread.
  assert.deepEqual(methodReadings('POST', form, '/x', {}), ['POST', ANY_METHOD]);
  assert.deepEqual(methodReadings('POST', form, '/x', { _method: { a: 1 } }), ['POST', ANY_METHOD]);
  assert.deepEqual(methodReadings('POST', form, '/x', Buffer.from('_method=DELETE')), ['POST', ANY_METHOD]);
  assert.deepEqual(methodReadings('POST', form, '/x', '_method=DELETE'), ['POST', ANY_METHOD]);
});

test('scopes for any method: the first rule under every method a rule names, and under one none names', () => {
  const routes = compileRoutes([
    { method: 'POST', path: '/orders/*', scope: 'orders:write' },
    { method: 'DELETE', path: '/orders/*', scope: 'orders:delete' },
    { method: 'get', path: '/orders/*', scope: 'orders:read' },
    { method: '*', path: '/orders/*', scope: 'orders:other' },
    { method: 'DELETE', path: '/admin', scope: 'admin' },
  ]);
  assert.deepEqual(scopesFor(routes, ['POST', ANY_METHOD], '/orders/1').sort(), [
    'orders:delete',
    'orders:other',
    'orders:read',
    'orders:write',
  ]);
  assert.deepEqual(scopesFor(routes, ['POST'], '/orders/1'), ['orders:write']);
  assert.deepEqual(scopesFor(routes, ['POST', ANY_METHOD], '/Admin/'), ['admin']);
});
