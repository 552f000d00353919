/**
 * The user's own credential beside the app's, in library mode: a Fastify host and an Express host get
 * `request.charter` and the untouched user credential; the single-token form has none. And the
 * credential parser facing the network: any headers give a catalogued refusal or a result, never a crash.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CharterError } from '@charter/core';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { type CharterIncomingMessage, charterMiddleware } from '../src/entries/express.ts';
import { charterFastify } from '../src/entries/fastify.ts';
import { startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { charterCredentials, createGateway, type Gateway, userCredentialOf } from '../src/index.ts';
import {
  ath,
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  SpecClient,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';

describe('the user credential in library mode', () => {
  let vendor: TestVendor;
  let home: ReturnType<typeof tempDir>;
  let charter: string;

  before(async () => {
    vendor = await makeVendor();
    home = tempDir();
    charter = (await makeCharter(vendor, 'app_beta')).token;
  });
  after(() => home.remove());

  async function engine(name: string, publicUrl: string): Promise<{ gateway: Gateway; store: SqliteStore }> {
    const store = new SqliteStore(join(home.dir, `${name}.db`));
    const gateway = await createGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1),
      publicUrl,
    });
    return { gateway, store };
  }

  /** The same checks against either host: what the route handler saw for each form. */
  async function checks(base: string): Promise<void> {
    const c = new SpecClient(base, await makeInstanceKey());
    assert.equal((await c.register(charter)).status, 200);
    assert.equal((await c.token()).status, 200);
    const htu = `${base}/orders/1`;
    // One shared proof: ath of the user token, charter_ath of the Charter token.
    const shared = await makeProof(c.key, { htm: 'GET', htu, ath: ath('user.jwt') });
    const bad = await fetch(htu, {
      headers: { authorization: 'DPoP user.jwt', 'charter-token': c.accessToken, dpop: shared },
    });
    assert.equal(bad.status, 401, 'a shared proof needs charter_ath');
    const proof = await new (await import('jose')).SignJWT({
      htm: 'GET',
      htu,
      jti: crypto.randomUUID(),
      ath: ath('user.jwt'),
      charter_ath: ath(c.accessToken),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: c.key.jwk })
      .setIssuedAt()
      .sign(c.key.privateKey);
    const r = await fetch(htu, {
      headers: { authorization: 'DPoP user.jwt', 'charter-token': c.accessToken, dpop: proof },
    });
    assert.equal(r.status, 200, await r.clone().text());
    const body = (await r.json()) as Record<string, { app_id?: string } | Record<string, string> | null>;
    assert.equal((body.charter as { app_id: string }).app_id, 'app_beta');
    assert.deepEqual(body.user, { authorization: 'DPoP user.jwt', scheme: 'dpop', dpop: proof });
    assert.equal((body.headers as Record<string, string>).authorization, 'DPoP user.jwt', 'untouched');

    const single = await c.call('GET', '/orders/1');
    assert.equal(single.status, 200);
    assert.equal(single.body.user, null, 'the single-token form carries no user credential');
  }

  test('Fastify: request.charter and request.userCredential', async () => {
    const probe = Fastify();
    await probe.listen({ host: '127.0.0.1', port: 0 });
    const port = (probe.server.address() as AddressInfo).port;
    await probe.close();
    const base = `http://127.0.0.1:${port}`;
    const { gateway, store } = await engine('fastify-user', base);
    const host = Fastify();
    await host.register(charterFastify, { gateway });
    host.get('/orders/:id', async (request) => ({
      charter: request.charter,
      user: request.userCredential,
      headers: { authorization: request.headers.authorization },
    }));
    await host.listen({ host: '127.0.0.1', port });
    try {
      await checks(base);
    } finally {
      await host.close();
      await gateway.close();
      await store.close();
    }
  });

  test('Express: req.charter and req.userCredential', async () => {
    const app = express();
    let middleware: ReturnType<typeof charterMiddleware> | undefined;
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
    app.get('/orders/:id', (req, res) => {
      const r = req as CharterIncomingMessage;
      res.json({
        charter: r.charter,
        user: r.userCredential,
        headers: { authorization: req.headers.authorization },
      });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { gateway, store } = await engine('express-user', base);
    middleware = charterMiddleware(gateway);
    try {
      await checks(base);
    } finally {
      server.close();
      await gateway.close();
      await store.close();
    }
  });
});

test('proxy, monitor mode: the user credential goes on whatever Charter would refuse, the Charter token never', async () => {
  const vendor = await makeVendor();
  const home = tempDir();
  const upstream = await startUpstream();
  const store = new SqliteStore(join(home.dir, 'monitor.db'));
  const gw = await startGateway({
    trust: vendor.trust,
    store,
    license: await makeLicense(vendor, 1, { policy: { mode: 'monitor' } }),
    upstream: upstream.url,
    licensePollMs: 0,
  });
  try {
    const c = new SpecClient(gw.url, await makeInstanceKey());
    assert.equal((await c.register((await makeCharter(vendor, 'app_beta')).token)).status, 200);
    assert.equal((await c.token()).status, 200);
    const url = `${gw.url}/orders`;
    // A forged Charter token: monitor mode lets it through with no identity headers, the user's Bearer intact.
    let r = await fetch(url, {
      headers: { authorization: 'Bearer user-1', 'charter-token': 'forged.charter.token', dpop: 'x' },
    });
    assert.equal(r.status, 200);
    let seen = upstream.seen.at(-1)?.headers ?? {};
    assert.equal(seen.authorization, 'Bearer user-1');
    assert.equal(seen['charter-app-id'], undefined);
    assert.match(String(seen['charter-monitor']), /invalid_token/);
    assert.equal(seen.dpop, undefined, "a Bearer user's DPoP header is the app's");
    // The Charter token sent in Authorization too: noted, and it does not reach the upstream.
    r = await fetch(url, {
      headers: {
        authorization: `DPoP ${c.accessToken}`,
        'charter-token': c.accessToken,
        dpop: await makeProof(c.key, { htm: 'GET', htu: url, ath: ath(c.accessToken) }),
      },
    });
    assert.equal(r.status, 200);
    seen = upstream.seen.at(-1)?.headers ?? {};
    assert.equal(seen.authorization, undefined);
    assert.match(String(seen['charter-monitor']), /invalid_request/);
  } finally {
    await gw.close();
    await store.close();
    await upstream.close();
    home.remove();
  }
});

test('credential parsing: any headers give a result or a catalogued refusal', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('DPoP abc', 'Bearer abc', 'dpop', 'DPoP ', 'Basic a:b', 'a.b.c', '', ' ', 'DPoP a b'),
    fc.string({ maxLength: 9000, unit: 'binary-ascii' }),
  );
  const name = fc.constantFrom('authorization', 'dpop', 'charter-token', 'charter-dpop');
  fc.assert(
    fc.property(fc.dictionary(name, fc.oneof(value, fc.array(value, { maxLength: 3 }))), (headers) => {
      const req = { method: 'GET', url: '/x', headers };
      try {
        const c = charterCredentials(req);
        assert.ok(c.token.length > 0);
      } catch (e) {
        assert.ok(e instanceof CharterError, String(e));
        assert.ok(['invalid_token', 'invalid_dpop_proof', 'invalid_request'].includes(e.code));
        for (const v of Object.values(headers).flat())
          if (v.length >= 8) assert.ok(!e.message.includes(v), 'no header value in the reason');
      }
      const user = userCredentialOf(req);
      if (user) assert.equal(typeof user.authorization, 'string');
      if (headers['charter-token'] === undefined) assert.equal(user, undefined);
    }),
    { numRuns: 2000 },
  );
});
