/**
 * The SDK's dual form against the protocol stub: both identities on a request, one proof for a
 * DPoP-bound user token, and the API's own 401 (the user's token) told apart from the gateway's by
 * the gateway's `Charter-Refusal` mark.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, it } from 'node:test';
import { CharterError } from '@charter/core';
import { createCharterClient, MemoryKeyStore } from '../src/index.ts';
import { StubGateway } from './stubGateway.ts';

const CHARTER = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImNoYXJ0ZXIrand0In0.eyJzdWIiOiJhcHBfb3JkZXJzIn0.c2lnbmF0dXJl';
const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
let gw: StubGateway;
beforeEach(async () => {
  gw = await new StubGateway().start();
});
afterEach(() => gw.stop());

const client = () =>
  createCharterClient({
    baseUrl: gw.url,
    charter: CHARTER,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });

it('a DPoP user token: Charter-Token beside it, one proof with ath of the user token and charter_ath', async () => {
  const c = client();
  c.useUserToken(async () => ({ scheme: 'DPoP', token: 'user.token' }));
  // The stub is a gateway of the single form: script the protected answer and read what was sent.
  gw.script.push({ path: '/orders', status: 200, body: { ok: true } });
  const token = (await c.accessToken()).access_token;
  assert.equal((await c.fetch('/orders')).status, 200);
  const sent = gw.seen.at(-1);
  assert.equal(sent?.headers.authorization, 'DPoP user.token');
  assert.equal(sent?.headers['charter-token'], token);
  const proof = JSON.parse(
    Buffer.from(String(sent?.headers.dpop).split('.')[1] ?? '', 'base64url').toString(),
  );
  assert.equal(proof.ath, hash('user.token'));
  assert.equal(proof.charter_ath, hash(token));

  c.useUserToken(async () => ({ scheme: 'Bearer', token: 'bearer.token' }));
  gw.script.push({ path: '/orders', status: 200, body: { ok: true } });
  await c.fetch('/orders');
  const bearer = gw.seen.at(-1);
  assert.equal(bearer?.headers.authorization, 'Bearer bearer.token');
  const p2 = JSON.parse(
    Buffer.from(String(bearer?.headers.dpop).split('.')[1] ?? '', 'base64url').toString(),
  );
  assert.equal(p2.ath, hash(token), 'with a Bearer user token the proof is the app’s');
  assert.equal(p2.charter_ath, undefined);
});

it("the API's 401 for the user's token comes back as the Response; the gateway's marked 401 is the SDK's", async () => {
  const c = client();
  c.useUserToken(async () => ({ scheme: 'DPoP', token: 'expired.user.token' }));
  await c.accessToken();
  const tokens = gw.count('/charter/v1/token');
  gw.script.push({
    path: '/orders',
    status: 401,
    body: { error: 'invalid_token', error_description: 'the user token has expired' },
    headers: { 'www-authenticate': 'DPoP error="invalid_token"' },
  });
  const res = await c.fetch('/orders');
  assert.equal(res.status, 401, 'the app sees it and signs the user in again');
  assert.equal(gw.count('/charter/v1/token'), tokens, 'the Charter token was kept');

  for (let i = 0; i < 2; i++)
    gw.script.push({
      path: '/orders',
      status: 401,
      body: { error: 'invalid_token', error_description: 'The access token is missing, invalid or expired.' },
      headers: { 'www-authenticate': 'DPoP error="invalid_token"', 'charter-refusal': 'invalid_token' },
    });
  await assert.rejects(c.fetch('/orders'), (e) => e instanceof CharterError && e.code === 'invalid_token');
  assert.equal(gw.count('/charter/v1/token'), tokens + 1, 'one retry with a new Charter token');
});
