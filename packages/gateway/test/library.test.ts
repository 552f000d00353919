/** Library mode: the Fastify plugin in a host Fastify app, and the middleware on a plain node:http server. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { type CharterIncomingMessage, charterMiddleware } from '../src/entries/express.ts';
import { charterFastify } from '../src/entries/fastify.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { createGateway, type Gateway } from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  SpecClient,
  type TestVendor,
  tempDir,
} from './helpers.ts';

describe('library mode', () => {
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
      routes: [{ method: 'DELETE', path: '/orders/*', scope: 'orders:delete' }],
    });
    return { gateway, store };
  }

  test('the Fastify plugin serves the endpoints and decorates request.charter', async () => {
    const app = Fastify();
    await app.listen({ host: '127.0.0.1', port: 0 });
    // listen first to learn the port, then build a second app on a known port with the plugin
    const port = (app.server.address() as AddressInfo).port;
    await app.close();
    const base = `http://127.0.0.1:${port}`;
    const { gateway, store } = await engine('fastify', base);
    const host = Fastify();
    await host.register(charterFastify, { gateway });
    host.post('/orders/:id', async (request) => ({ charter: request.charter, body: request.body }));
    host.delete('/orders/:id', async () => ({ deleted: true }));
    await host.listen({ host: '127.0.0.1', port });
    try {
      const c = new SpecClient(base, await makeInstanceKey());
      const reg = await c.register(charter);
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      assert.equal((await c.token()).status, 200);
      const r = await c.call('POST', '/orders/9', {
        headers: { 'content-type': 'application/json' },
        body: '{"qty":2}',
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.charter, {
        app_id: 'app_beta',
        publisher_id: 'pub_beta',
        instance_id: c.instanceId,
        scopes: ['orders:read', 'orders:write'],
      });
      assert.deepEqual(r.body.body, { qty: 2 });
      const denied = await c.call('DELETE', '/orders/9');
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error, 'insufficient_scope');
      const anon = await fetch(`${base}/orders/9`, { method: 'POST' });
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_token"/);
      const bad = await fetch(`${base}/charter/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(100_000),
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as Record<string, unknown>).error, 'invalid_request');
    } finally {
      await host.close();
      await gateway.close();
      await store.close();
    }
  });

  test('the middleware works on a plain node:http server', async () => {
    let middleware: ReturnType<typeof charterMiddleware> | undefined;
    const server = createServer((req: CharterIncomingMessage, res) => {
      (middleware as ReturnType<typeof charterMiddleware>)(req, res, (err?: unknown) => {
        if (err) {
          res.statusCode = 500;
          res.end();
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ charter: req.charter }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { gateway, store } = await engine('middleware', base);
    middleware = charterMiddleware(gateway);
    try {
      const wk = (await (await fetch(`${base}/.well-known/charter`)).json()) as Record<string, unknown>;
      assert.equal(wk.site_id, 'site_a');
      const c = new SpecClient(base, await makeInstanceKey('EdDSA'));
      assert.equal((await c.register(charter)).status, 200);
      assert.equal((await c.token()).status, 200);
      const r = await c.call('GET', '/orders/1');
      assert.equal(r.status, 200);
      assert.equal((r.body.charter as Record<string, unknown>).app_id, 'app_beta');
      const replay = await c.proofFor('GET', '/orders/2');
      assert.equal((await c.call('GET', '/orders/2', { proof: replay })).status, 200);
      assert.equal((await c.call('GET', '/orders/2', { proof: replay })).body.error, 'invalid_dpop_proof');
      const big = await fetch(`${base}/charter/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(70_000),
      });
      // An answer, not a reset: a reset used to pass here unnoticed.
      assert.equal(big.status, 400);
      const garbled = await fetch(`${base}/charter/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '\u0000\u0001',
      });
      assert.equal(garbled.status, 400);
    } finally {
      server.close();
      await gateway.close();
      await store.close();
    }
  });

  test('the middleware works in an Express app, before the app’s own JSON parser', async () => {
    const app = express();
    let middleware: ReturnType<typeof charterMiddleware> | undefined;
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
    app.use(express.json());
    app.get('/orders/:id', (req, res) => {
      res.json({ charter: (req as CharterIncomingMessage).charter, id: req.params.id });
    });
    app.post('/orders', (req, res) => {
      res.json({ charter: (req as CharterIncomingMessage).charter, body: req.body });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { gateway, store } = await engine('express', base);
    middleware = charterMiddleware(gateway);
    try {
      const c = new SpecClient(base, await makeInstanceKey('ES256'));
      assert.equal((await c.register(charter)).status, 200);
      assert.equal((await c.token()).status, 200);
      const r = await c.call('GET', '/orders/7');
      assert.equal(r.status, 200);
      assert.equal((r.body.charter as Record<string, unknown>).app_id, 'app_beta');
      assert.equal(r.body.id, '7');
      const posted = await c.call('POST', '/orders', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'gauze' }),
      });
      assert.deepEqual(posted.body.body, { item: 'gauze' }, 'the host app still reads the body');
      const anonymous = await fetch(`${base}/orders/7`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { error: string }).error, 'invalid_token');
    } finally {
      server.close();
      await gateway.close();
      await store.close();
    }
  });
});
