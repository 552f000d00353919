/**
 * Issue 10 item 5: only the exact Charter endpoints skip admission. A host route
 * `/:tenant/v1/:resource` must not run without credentials for `/charter/v1/orders` (or any
 * spelling near the endpoints), in the Fastify plugin, the Express middleware, the framework-neutral
 * `gateway.handle`, and the proxy — and with credentials it runs as any protected route.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { charterMiddleware } from '@charter/gateway/express';
import { charterFastify } from '@charter/gateway/fastify';
import type { Express } from 'express';
import Fastify from 'fastify';
import {
  expressHost,
  freePort,
  gatewayProcess,
  libraryEngine,
  makeSite,
  rawCall,
  rawRequest,
  registeredClient,
  type Site,
} from './hosts.ts';

let site: Site;
before(async () => {
  site = await makeSite([]);
});
after(() => site.remove());

/** Near the Charter endpoints, but none of them: each must need credentials. */
const NEAR: [string, string][] = [
  ['GET', '/charter/v1/orders'],
  ['POST', '/charter/v1/orders'],
  ['DELETE', '/charter/v1/orders'],
  ['GET', '/charter/v1/token'],
  ['PUT', '/charter/v1/register'],
  ['POST', '/charter/v1/token/'],
  ['POST', '/charter/v1/token/x'],
  ['POST', '/charter/v1/%74oken'],
  ['POST', '/Charter/v1/token'],
  ['POST', '/CHARTER/V1/TOKEN'],
  ['POST', '/charter/v1/token;x'],
  ['POST', '/.well-known/charter'],
];

/**
 * Anonymous requests near the endpoints never run a host handler; the real endpoints still answer;
 * with credentials the host's `/:tenant/v1/:resource` runs with the app attached.
 */
async function check(
  base: string,
  hits: { handler: string; charter?: unknown }[],
  opts: { reservedPrefix?: boolean } = {},
): Promise<void> {
  for (const [method, path] of NEAR) {
    const before = hits.length;
    const r = await rawRequest(
      base,
      method,
      path,
      { 'content-type': 'application/json', 'content-length': '2' },
      '{}',
    );
    assert.ok(
      r.status === 401 || r.status === 400,
      `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`,
    );
    assert.equal(hits.length, before, `${method} ${path} ran a host handler without credentials`);
  }
  const wk = await rawRequest(base, 'GET', '/.well-known/charter');
  assert.equal(wk.status, 200);
  assert.equal(wk.body.site_id, 'site_a');
  const ch = await rawRequest(base, 'POST', '/charter/v1/challenge');
  assert.equal(ch.status, 200);
  assert.equal(typeof ch.body.nonce, 'string');
  const c = await registeredClient(base, site.readOnly);
  const r = await rawCall(c, 'GET', '/charter/v1/orders');
  if (opts.reservedPrefix) {
    // The proxy reserves /charter/ for itself (operations, console): refused, never forwarded.
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(hits.length, 0);
  } else {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.handler, 'tenant-resource');
    const last = hits[hits.length - 1];
    assert.equal((last?.charter as { app_id?: string } | undefined)?.app_id, 'app_beta');
  }
}

test('Fastify plugin: a host route /:tenant/v1/:resource needs credentials for /charter/v1/orders', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base, []);
  const hits: { handler: string; charter?: unknown }[] = [];
  const host = Fastify();
  await host.register(charterFastify, { gateway: engine.gateway });
  host.all('/:tenant/v1/:resource', async (request) => {
    hits.push({ handler: 'tenant-resource', charter: request.charter });
    return { handler: 'tenant-resource' };
  });
  host.all('/:tenant/v1/:resource/*', async (request) => {
    hits.push({ handler: 'tenant-resource-rest', charter: request.charter });
    return { handler: 'tenant-resource-rest' };
  });
  host.all('/:tenant/:version/:resource', async (request) => {
    hits.push({ handler: 'any-version', charter: request.charter });
    return { handler: 'any-version' };
  });
  host.post('/.well-known/:what', async (request) => {
    hits.push({ handler: 'well-known', charter: request.charter });
    return { handler: 'well-known' };
  });
  await host.listen({ host: '127.0.0.1', port });
  try {
    await check(base, hits);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('Fastify plugin in a case-insensitive, slash-tolerant host', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base, []);
  const hits: { handler: string; charter?: unknown }[] = [];
  const host = Fastify({ routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } });
  await host.register(charterFastify, { gateway: engine.gateway });
  host.all('/:tenant/v1/:resource', async (request) => {
    hits.push({ handler: 'tenant-resource', charter: request.charter });
    return { handler: 'tenant-resource' };
  });
  await host.listen({ host: '127.0.0.1', port });
  try {
    await check(base, hits);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('Express middleware: the same host route needs credentials, and runs with them', async () => {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const host = await expressHost((app: Express) => {
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
    app.post('/.well-known/:what', (_req, res) => {
      host.hits.push({ handler: 'well-known', method: 'POST', url: '', headers: {}, charter: undefined });
      res.json({ handler: 'well-known' });
    });
  });
  const engine = await libraryEngine(site, host.url, []);
  middleware = charterMiddleware(engine.gateway);
  try {
    await check(host.url, host.hits);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('framework-neutral gateway.handle: only exact endpoints are answered without admission', async () => {
  const engine = await libraryEngine(site, 'http://127.0.0.1:1', []);
  try {
    for (const [method, path] of NEAR) {
      const r = await engine.gateway.handle({ method, url: path, headers: {} });
      assert.equal(r.kind, 'reply', `${method} ${path}`);
      if (r.kind === 'reply')
        assert.ok(r.status === 401 || r.status === 400, `${method} ${path} → ${r.status}`);
    }
    const wk = await engine.gateway.handle({ method: 'GET', url: '/.well-known/charter', headers: {} });
    assert.equal(wk.kind === 'reply' && wk.status, 200);
  } finally {
    await engine.close();
  }
});

test('proxy mode: /charter/v1/orders is never forwarded, with or without credentials', async () => {
  const upstream = await expressHost();
  const gw = await gatewayProcess(site, upstream.url);
  try {
    await check(gw.info.url, upstream.hits, { reservedPrefix: true });
  } finally {
    await gw.stop();
    await upstream.close();
  }
});
