/**
 * The web-accounts Fastify plugin on its own, in a host Fastify with its default Ajv (which coerces
 * types and strips unknown properties): schemas stay strict under it, schema failures get the
 * catalogued `invalid_request` shape, an unexpected error shows the client nothing but `unavailable`
 * (its text goes to the log), and CSRF is enforced on the app's routes only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LiveSession, randomToken } from '@charter/accounts';
import { objectBody, str, webAccounts } from '@charter/accounts/fastify';
import Fastify from 'fastify';

interface User {
  id: string;
  email: string;
}

async function host() {
  const logged: string[] = [];
  const app = Fastify({
    logger: {
      level: 'error',
      stream: { write: (line: string) => void logged.push(line) },
    },
  });
  const sessions = new Map<string, LiveSession<User>>();
  await app.register(
    async (scope) => {
      await scope.register(webAccounts, {
        accounts: () => ({
          async signIn({ email }: { email: string }) {
            const sessionId = randomToken();
            const s = { user: { id: 'u1', email }, csrf: randomToken(), expiresAt: 0 };
            sessions.set(sessionId, s);
            return { ...s, sessionId };
          },
          session: async (id: string | undefined) => (id ? sessions.get(id) : undefined),
          signOut: async (id: string | undefined) => void (id && sessions.delete(id)),
        }),
        cookie: 'test_session',
        secure: () => false,
        allowedOrigins: () => new Set(['http://app.example']),
        sessionInfo: (s: LiveSession<User>) => ({ user: s.user, csrf: s.csrf }),
      });
      scope.post<{ Body: { name: string } }>(
        '/api/things',
        { schema: { body: objectBody({ name: str(10, 1) }, ['name']) } },
        async (req) => ({ name: req.body.name }),
      );
      scope.get('/api/boom', async () => {
        throw new Error('secret-token-abc broke the database');
      });
    },
    { prefix: '/app' },
  );
  // A host route outside the app: none of the app's hooks apply.
  app.post('/elsewhere', async () => ({ ok: true }));
  return { app, logged };
}

test('schema failures are invalid_request 400 with a description; extra properties are refused, not stripped', async () => {
  const { app } = await host();
  const signIn = await app.inject({
    method: 'POST',
    url: '/app/api/session',
    headers: { origin: 'http://app.example' },
    payload: { email: 'a@b.example', password: 'x' },
  });
  assert.equal(signIn.statusCode, 200, signIn.body);
  const cookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
  const csrf = signIn.json().csrf as string;
  const send = (payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/app/api/things',
      headers: { origin: 'http://app.example', cookie, 'x-csrf-token': csrf },
      payload: payload as Record<string, unknown>,
    });
  assert.deepEqual((await send({ name: 'ok' })).json(), { name: 'ok' });
  for (const bad of [{ name: 'ok', extra: 1 }, { name: 7 }, { name: '' }, {}, { name: 'x'.repeat(11) }]) {
    const r = await send(bad);
    assert.equal(r.statusCode, 400, `${JSON.stringify(bad)} → ${r.statusCode} ${r.body}`);
    assert.deepEqual(Object.keys(r.json()).sort(), ['error', 'error_description']);
    assert.equal(r.json().error, 'invalid_request');
    assert.match(r.json().error_description, /^invalid input: /);
  }
  // Sign-in bodies are schema-checked too (and not coerced: a number is not a password).
  const junk = await app.inject({
    method: 'POST',
    url: '/app/api/session',
    headers: { origin: 'http://app.example' },
    payload: { email: 'a@b.example', password: 12345678901234 },
  });
  assert.deepEqual([junk.statusCode, junk.json().error], [400, 'invalid_request']);
});

test('an unexpected error: the client reads unavailable / internal error, the log gets the reason', async () => {
  const { app, logged } = await host();
  const r = await app.inject({ method: 'GET', url: '/app/api/boom' });
  assert.equal(r.statusCode, 503);
  assert.deepEqual(r.json(), { error: 'unavailable', error_description: 'internal error' });
  assert.doesNotMatch(r.body, /secret-token|database/);
  assert.ok(
    logged.some((l) => l.includes('secret-token-abc broke the database')),
    logged.join('\n'),
  );
  assert.equal(r.headers['cache-control'], 'no-store');
});

test('CSRF and headers cover the app only: a host route outside it is untouched', async () => {
  const { app } = await host();
  const refused = await app.inject({ method: 'POST', url: '/app/api/things', payload: { name: 'x' } });
  assert.deepEqual([refused.statusCode, refused.json().error], [403, 'forbidden']);
  const signedOut = await app.inject({
    method: 'POST',
    url: '/app/api/things',
    headers: { origin: 'http://app.example' },
    payload: { name: 'x' },
  });
  assert.deepEqual([signedOut.statusCode, signedOut.json().error], [401, 'unauthorized']);
  const outside = await app.inject({ method: 'POST', url: '/elsewhere', payload: {} });
  assert.equal(outside.statusCode, 200);
  assert.equal(outside.headers['content-security-policy'], undefined);
  const missing = await app.inject({ method: 'GET', url: '/app/nothing' });
  assert.deepEqual([missing.statusCode, missing.json().error], [404, 'not_found']);
});
