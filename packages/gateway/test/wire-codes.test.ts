/**
 * A gateway's wire carries only the SPEC's gateway codes (SPEC.md §3). The type of a refusal admits
 * no vendor tool code (checked by the compiler through the @ts-expect-error lines: if the type let
 * `conflict` through, those lines would be errors themselves), and a tool code that reaches the
 * reply path at run time is answered as `unavailable`, never sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError, PROTOCOL_ERRORS, TOOL_ERRORS, type ToolErrorCode } from '@charter/core';
import { pino } from 'pino';
import { errorReplyOf } from '../src/http-shaping.ts';
import { type GatewayRefusal, refusalReply } from '../src/reply.ts';

const engine = { logger: pino({ level: 'silent' }), nonce: () => 'n', now: () => 0 };

test('the refusal types admit gateway codes only', () => {
  const ok: GatewayRefusal = { error: 'invalid_token', error_description: 'x' };
  // @ts-expect-error a vendor tool's code is not a gateway refusal
  const tool: GatewayRefusal = { error: 'conflict', error_description: 'x' };
  // @ts-expect-error refusalReply takes a refusal with a gateway code only
  refusalReply(new CharterError('not_found', 'ERR_TEST', 'x'));
  assert.equal(refusalReply(new CharterError('invalid_token', 'ERR_TEST', 'x')).status, 401);
  assert.ok(ok && tool);
});

test('a vendor tool code on the reply path is answered as unavailable, not sent', () => {
  for (const code of Object.keys(TOOL_ERRORS) as ToolErrorCode[]) {
    const reply = errorReplyOf(new CharterError(code, 'ERR_STATE_RACE', 'internal reason'), engine);
    assert.equal(reply.status, 503, code);
    assert.deepEqual(reply.body, {
      error: 'unavailable',
      error_description: PROTOCOL_ERRORS.unavailable.description,
    });
  }
});

test('gateway codes are sent with the catalogue text only, never the reason or detail', () => {
  for (const code of Object.keys(PROTOCOL_ERRORS) as (keyof typeof PROTOCOL_ERRORS)[]) {
    const reply = errorReplyOf(new CharterError(code, 'ERR_SECRET_DETAIL', 'reason with eyJ.secret'), engine);
    assert.equal(reply.status, PROTOCOL_ERRORS[code].status);
    assert.deepEqual(reply.body, { error: code, error_description: PROTOCOL_ERRORS[code].description });
    assert.doesNotMatch(JSON.stringify(reply), /ERR_SECRET_DETAIL|eyJ/);
  }
});
