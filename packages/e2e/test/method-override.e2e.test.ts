/**
 * Issue 10 item 4, a variation: the method is part of the path's reading too. An Express upstream
 * with the usual method-override set-up (the `method-override` package's defaults: a POST carrying
 * `X-HTTP-Method-Override`, or `?_method=` for HTML forms, runs as the method named) routes
 * `POST /orders/1` + `X-HTTP-Method-Override: DELETE` to its `DELETE /orders/:id` handler. With
 * `DELETE /orders/*` → orders:delete, an app with only `orders:read orders:write` must not reach it:
 * the request needs the scopes of its own method and of every method an override names. Against a
 * real `charter gateway start` and with the Express middleware in library mode.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RouteRule } from '@charter/gateway';
import { charterMiddleware } from '@charter/gateway/express';
import type { Express, NextFunction, Request, Response } from 'express';
import { makeCharter } from '../../gateway/test/helpers.ts';
import {
  expressHost,
  gatewayProcess,
  libraryEngine,
  makeSite,
  rawCall,
  registeredClient,
  type Site,
} from './hosts.ts';

const ROUTES: RouteRule[] = [
  { method: 'POST', path: '/orders/*', scope: 'orders:write' },
  { method: 'DELETE', path: '/orders/*', scope: 'orders:delete' },
  { method: 'GET', path: '/admin', scope: 'orders:admin' },
];

/**
 * What the `method-override` package does with `methodOverride('X-HTTP-Method-Override')` and
 * `methodOverride('_method')` (its documented uses): only a POST is overridden, by a header or by a
 * query key, to any method Node knows. Other frameworks read `X-HTTP-Method` and `X-Method-Override`.
 */
function methodOverride(req: Request, _res: Response, next: NextFunction): void {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const q = new URL(req.url, 'http://x').searchParams.get('_method');
  const h =
    req.headers['x-http-method-override'] ?? req.headers['x-http-method'] ?? req.headers['x-method-override'];
  const m = String(q ?? (Array.isArray(h) ? h[0] : h) ?? '').toUpperCase();
  if (/^[A-Z]+$/.test(m)) req.method = m;
  next();
}

let site: Site;
let writer: string;
before(async () => {
  site = await makeSite(ROUTES);
  writer = (await makeCharter(site.vendor, 'app_beta', { scopes: ['orders:read', 'orders:write'] })).token;
});
after(() => site.remove());

const OVERRIDES: [string, Record<string, string>][] = [
  ['/orders/1', { 'X-HTTP-Method-Override': 'DELETE' }],
  ['/orders/1', { 'x-http-method-override': 'delete' }],
  ['/orders/1', { 'X-HTTP-Method': 'DELETE' }],
  ['/orders/1', { 'X-Method-Override': 'Delete' }],
  ['/orders/1?_method=DELETE', {}],
  ['/orders/1?_method=delete&x=1', {}],
  ['/admin?_method=GET', {}],
  ['/admin', { 'X-HTTP-Method-Override': 'GET' }],
];

async function attack(base: string, hits: { handler: string }[]): Promise<void> {
  const c = await registeredClient(base, writer);
  // Control: the app's own scope reaches the POST handler.
  const ok = await rawCall(c, 'POST', '/orders/1');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(hits.at(-1)?.handler, 'orders-write');
  for (const [path, headers] of OVERRIDES) {
    const before = hits.length;
    const r = await rawCall(c, 'POST', path, headers);
    assert.equal(
      r.status,
      403,
      `POST ${path} ${JSON.stringify(headers)} → ${r.status} ${JSON.stringify(r.body)}`,
    );
    assert.equal(r.body.error, 'insufficient_scope');
    assert.equal(hits.length, before, `POST ${path} ${JSON.stringify(headers)} ran ${hits.at(-1)?.handler}`);
  }
}

/** The guarded DELETE handler, recording into the host's hits. */
function withDelete(host: { app: Express; hits: { handler: string }[] }): void {
  host.app.delete('/orders/:id', (_req, res) => {
    host.hits.push({ handler: 'orders-delete' });
    res.json({ handler: 'orders-delete' });
  });
}

test('proxy mode: an override header or _method does not reach a handler the app has no scope for', async () => {
  const upstream = await expressHost((app) => app.use(methodOverride));
  withDelete(upstream);
  const gw = await gatewayProcess(site, upstream.url);
  try {
    await attack(gw.info.url, upstream.hits);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

test('library mode: the Express middleware before method-override', async () => {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const host = await expressHost((app: Express) => {
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
    app.use(methodOverride);
  });
  withDelete(host);
  const engine = await libraryEngine(site, host.url, ROUTES);
  middleware = charterMiddleware(engine.gateway);
  try {
    await attack(host.url, host.hits);
  } finally {
    await host.close();
    await engine.close();
  }
});
