/** The one error-to-HTTP mapper and its expose rule. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError, descriptionOf, httpErrorOf } from '@charter/core/errors';

test('catalogue exposure: the client gets the code and the catalogue text; logs get the rest', () => {
  const m = httpErrorOf(new CharterError('invalid_charter', 'ERR_ALG', 'the alg is HS256'), {
    expose: 'catalogue',
  });
  assert.equal(m.status, 403);
  assert.deepEqual(m.body, { error: 'invalid_charter', error_description: descriptionOf('invalid_charter') });
  assert.deepEqual(m.log, { code: 'invalid_charter', detail: 'ERR_ALG', reason: 'the alg is HS256' });
  assert.equal(m.fault, false);
});

test('reason exposure: the signed-in person gets the reason, never the detail', () => {
  const m = httpErrorOf(new CharterError('not_found', 'ERR_UNKNOWN_APP', 'there is no app app_1'), {
    expose: 'reason',
  });
  assert.deepEqual(m.body, { error: 'not_found', error_description: 'there is no app app_1' });
  assert.equal(Object.keys(m.body).length, 2);
});

test('a fault is unavailable with the catalogue text, whatever the exposure; its message stays internal', () => {
  for (const expose of ['catalogue', 'reason'] as const) {
    const m = httpErrorOf(new Error('boom with key material'), { expose });
    assert.equal(m.fault, true);
    assert.equal(m.status, 503);
    assert.deepEqual(m.body, { error: 'unavailable', error_description: descriptionOf('unavailable') });
    assert.equal(m.log.detail, 'ERR_INTERNAL');
  }
});

test('framework refusals are invalid_request only when asked for', () => {
  const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413 });
  assert.deepEqual(
    httpErrorOf(tooLarge, { expose: 'catalogue', framework: true }).log.detail,
    'ERR_BODY_SIZE',
  );
  assert.equal(httpErrorOf({ validation: [] }, { expose: 'catalogue', framework: true }).status, 400);
  assert.equal(httpErrorOf(tooLarge, { expose: 'catalogue' }).fault, true);
});
