/**
 * Issue 10 item 4: scope rules read the path as the upstream's router does. With `POST /orders/*` →
 * orders:write and `GET /admin` → orders:admin, an app holding only orders:read tries every spelling
 * a common server routes to those handlers (case, trailing slash, `;` parameters, percent-encoded
 * letters) or may read otherwise (encoded slashes, dot segments, backslashes, double encoding) —
 * against a real Express app behind a real `charter gateway start`, with the Express middleware, and
 * with the Fastify plugin in a host that routes case-insensitively.
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
  registeredClient,
  type Site,
} from './hosts.ts';

let site: Site;
before(async () => {
  site = await makeSite();
});
after(() => site.remove());

/** Spellings Express (default routing) sends to the guarded handlers. */
const GUARDED: [string, string][] = [
  ['POST', '/orders/1'],
  ['POST', '/ORDERS/1'],
  ['POST', '/Orders/1'],
  ['POST', '/orders/1/'],
  ['POST', '/ORDERS/1/'],
  ['POST', '/%4frders/1'],
  ['POST', '/orders/1;x=1'],
  ['GET', '/admin'],
  ['GET', '/admin/'],
  ['GET', '/ADMIN'],
  ['GET', '/Admin/'],
  ['HEAD', '/ADMIN'],
  ['GET', '/%61dmin'],
  ['GET', '/%41DMIN/'],
];

/** Spellings other common servers route to the guarded handlers (`;`, Unicode folds, format suffixes). */
const OTHER_READINGS: [string, string][] = [
  ['GET', '/admin;jsessionid=1'],
  ['GET', '/ADMIN;a=b/'],
  ['POST', '/orders;v=2/1'],
  ['GET', '/adm%C4%B1n'], // dotless ı upper-cases to I
  ['GET', '/admin.json'], // Rails: format json
  ['GET', '/ADMIN.a.json'], // Spring suffix patterns, Rails
];

/** Spellings that are ambiguous between servers: refused outright. */
const AMBIGUOUS: [string, string][] = [
  ['GET', '/x/..%2fadmin'],
  ['GET', '/orders/%2e%2e/admin'],
  ['GET', '/orders/../admin'],
  ['GET', '/orders/./../admin'],
  ['GET', '//admin'],
  ['GET', '/orders//1'],
  ['GET', '/orders%2f1'],
  ['GET', '/orders%5c..%5cadmin'],
  ['GET', '/orders/%252e%252e/admin'],
  ['GET', '/admin%3bx'],
  ['GET', '/admin%3F'],
  ['GET', '/admin%23x'],
];

/** Every guarded spelling is refused insufficient_scope (or invalid_request) and no guarded handler ran. */
async function attack(base: string, charter: string, hits: { handler: string }[]): Promise<void> {
  const c = await registeredClient(base, charter);
  // Control: a route no rule guards is admitted and reaches Express.
  const ok = await rawCall(c, 'GET', '/orders/1');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.handler, 'orders-read');
  for (const [method, path] of [...GUARDED, ...OTHER_READINGS]) {
    const before = hits.length;
    const r = await rawCall(c, method, path);
    assert.equal(r.status, 403, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    if (method !== 'HEAD') assert.equal(r.body.error, 'insufficient_scope', `${method} ${path}`);
    assert.equal(hits.length, before, `${method} ${path} reached a handler`);
  }
  for (const [method, path] of AMBIGUOUS) {
    const before = hits.length;
    const r = await rawCall(c, method, path);
    assert.equal(r.status, 400, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'invalid_request', `${method} ${path}`);
    assert.equal(hits.length, before, `${method} ${path} reached a handler`);
  }
  // The guarded handlers themselves are still reachable with the scope.
  assert.ok(
    hits.every((h) => h.handler === 'orders-read'),
    JSON.stringify(hits.map((h) => h.handler)),
  );
}

test('proxy mode: a real gateway process in front of a real Express app', async () => {
  const upstream = await expressHost();
  const gw = await gatewayProcess(site, upstream.url);
  try {
    await attack(gw.info.url, site.readOnly, upstream.hits);
    // With the scopes, the same spellings do reach the handlers (the rules still match as before).
    const { makeCharter } = await import('../../gateway/test/helpers.ts');
    const full = await makeCharter(site.vendor, 'app_beta', {
      scopes: ['orders:read', 'orders:write', 'orders:admin'],
    });
    const c = await registeredClient(gw.info.url, full.token);
    for (const [method, path] of [
      ['POST', '/ORDERS/1'],
      ['GET', '/admin/'],
    ] as const) {
      const r = await rawCall(c, method, path);
      assert.equal(r.status, 200, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    }
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

test('library mode: the Express middleware in front of the same Express handlers', async () => {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const host = await expressHost((app: Express) => {
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
  });
  const engine = await libraryEngine(site, host.url);
  middleware = charterMiddleware(engine.gateway);
  try {
    await attack(host.url, site.readOnly, host.hits);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('library mode: the Fastify plugin in a host that routes case-insensitively', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base);
  const hits: { handler: string }[] = [];
  const host = Fastify({ routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } });
  await host.register(charterFastify, { gateway: engine.gateway });
  const record = (handler: string) => async () => {
    hits.push({ handler });
    return { handler };
  };
  host.post('/orders/:id', record('orders-write'));
  host.get('/orders/:id', record('orders-read'));
  host.get('/admin', record('admin'));
  await host.listen({ host: '127.0.0.1', port });
  try {
    await attack(base, site.readOnly, hits);
  } finally {
    await host.close();
    await engine.close();
  }
});
