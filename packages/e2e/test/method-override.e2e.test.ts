/**
 * Issue 10 item 4, a variation: the method is part of the path's reading too. An Express upstream
 * with the usual method-override set-up (the `method-override` package's defaults: a POST carrying
 * `X-HTTP-Method-Override`, or `?_method=` for HTML forms, runs as the method named) routes
 * `POST /orders/1` + `X-HTTP-Method-Override: DELETE` to its `DELETE /orders/:id` handler. With
 * `DELETE /orders/*` → orders:delete, an app with only `orders:read orders:write` must not reach it:
 * the request needs the scopes of its own method and of every method an override names. Against a
 * real `charter gateway start` and with the Express middleware in library mode.
 *
 * And from the body: Rails, Laravel and Symfony take a form's `_method` field as the method (and
 * Laravel a JSON body's), `method-override` does with a body getter. The gateway streams the body
 * unread, so a form POST needs the scopes of every method's rules for its path; a body the host has
 * parsed (library mode behind a body parser) is read for exactly the `_method` it holds, JSON too. A
 * JSON POST with an unread body is its own method (the commonest write of an API client).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RouteRule } from '@charter/gateway';
import { charterMiddleware } from '@charter/gateway/express';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
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
  { method: 'POST', path: '/notes/*', scope: 'orders:write' },
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
  // The body getter of method-override's README (a form's field, after a body parser).
  const b = (req.body as Record<string, unknown> | undefined)?._method;
  const m = String(q ?? (Array.isArray(h) ? h[0] : h) ?? (typeof b === 'string' ? b : '')).toUpperCase();
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

const FORM = 'application/x-www-form-urlencoded';
/** A body `_method`, in each form a server reads it (headers, body). */
const BODY_OVERRIDES: [string, Record<string, string>, string][] = [
  ['/orders/1', { 'content-type': FORM }, '_method=DELETE'],
  ['/orders/1', { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' }, 'a=1&_method=delete'],
  ['/orders/1', { 'content-type': ` ${FORM} ;charset=utf-8` }, '_%6Dethod=DELETE'],
  // No Content-Length: sent chunked.
  ['/orders/1', { 'content-type': FORM, 'transfer-encoding': 'chunked' }, '_method=DELETE'],
  [
    '/orders/1',
    { 'content-type': 'multipart/form-data; boundary=b' },
    '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n',
  ],
];

/** A JSON `_method`, read once the host has parsed the body (library mode behind its parser). */
const JSON_OVERRIDES: [string, Record<string, string>, string][] = [
  ['/orders/1', { 'content-type': 'application/json' }, '{"_method":"DELETE"}'],
  ['/orders/1', { 'content-type': 'application/vnd.api+json' }, '{"\\u005fmethod":"delete"}'],
];

/** A POST whose body no server reads a method from, or whose path has no other method's rule: its own scope. */
const BODY_ADMITTED: [string, Record<string, string>, string, string][] = [
  ['/orders/1', { 'content-type': 'text/plain' }, '_method=DELETE', 'orders-write'],
  ['/orders/1', { 'content-type': 'application/octet-stream' }, '_method=DELETE', 'orders-write'],
  ['/orders/1', { 'content-type': 'application/json' }, '{"item":"saline"}', 'orders-write'],
  ['/notes/1', { 'content-type': FORM }, 'text=hello', 'notes-write'],
  ['/notes/1', { 'content-type': 'application/json' }, '{"text":"hello"}', 'notes-write'],
];

async function attack(base: string, hits: { handler: string }[], parsedBody = false): Promise<void> {
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
  // A form's `_method`, and once the host has parsed the body a JSON `_method` too.
  for (const [path, headers, body] of [...BODY_OVERRIDES, ...(parsedBody ? JSON_OVERRIDES : [])]) {
    const before = hits.length;
    const r = await rawCall(c, 'POST', path, withLength(headers, body), body);
    const what = `POST ${path} ${JSON.stringify(headers)} ${body}`;
    assert.equal(r.status, 403, `${what} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'insufficient_scope', what);
    assert.equal(hits.length, before, `${what} ran ${hits.at(-1)?.handler}`);
  }
  const admitted = parsedBody
    ? [
        ...BODY_ADMITTED,
        // The host parsed it: a form without `_method` runs as the POST it is.
        ['/orders/1', { 'content-type': FORM }, 'item=saline', 'orders-write'] as const,
      ]
    : BODY_ADMITTED;
  for (const [path, headers, body, handler] of admitted) {
    const r = await rawCall(c, 'POST', path, withLength(headers, body), body);
    const what = `POST ${path} ${JSON.stringify(headers)} ${body}`;
    assert.equal(r.status, 200, `${what} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(hits.at(-1)?.handler, handler, what);
  }
}

/** The headers with the body's Content-Length, unless the body goes chunked. */
function withLength(headers: Record<string, string>, body: string): Record<string, string> {
  return 'transfer-encoding' in headers
    ? headers
    : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
}

/** The body parsers method-override's body getter reads after (JSON of any `+json` type too). */
function bodyParsers(app: Express): void {
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json({ type: ['application/json', 'application/*+json'] }));
}

/** A POST handler on the path no DELETE rule covers. */
function withNotes(host: { app: Express; hits: { handler: string }[] }): void {
  host.app.post('/notes/:id', (_req, res) => {
    host.hits.push({ handler: 'notes-write' });
    res.json({ handler: 'notes-write' });
  });
}

/** The guarded DELETE handler, recording into the host's hits. */
function withDelete(host: { app: Express; hits: { handler: string }[] }): void {
  host.app.delete('/orders/:id', (_req, res) => {
    host.hits.push({ handler: 'orders-delete' });
    res.json({ handler: 'orders-delete' });
  });
}

test('proxy mode: an override header or _method does not reach a handler the app has no scope for', async () => {
  const upstream = await expressHost((app) => {
    bodyParsers(app);
    app.use(methodOverride);
  });
  withDelete(upstream);
  withNotes(upstream);
  const gw = await gatewayProcess(site, upstream.url);
  try {
    await attack(gw.info.url, upstream.hits);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

/**
 * The Express middleware in a host with method-override: before the host's body parsers (the body
 * unread, as in proxy mode) or after them (`parsedBody`: the parsed `_method` is read).
 */
async function libraryAttack(parsedBody: boolean): Promise<void> {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const charter = (req: Request, res: Response, next: NextFunction) =>
    (middleware as ReturnType<typeof charterMiddleware>)(req, res, next);
  const host = await expressHost((app: Express) => {
    if (parsedBody) bodyParsers(app);
    app.use(charter);
    if (!parsedBody) bodyParsers(app);
    app.use(methodOverride);
  });
  withDelete(host);
  withNotes(host);
  const engine = await libraryEngine(site, host.url, ROUTES);
  middleware = charterMiddleware(engine.gateway);
  try {
    await attack(host.url, host.hits, parsedBody);
  } finally {
    await host.close();
    await engine.close();
  }
}

test('library mode: the Express middleware before method-override', () => libraryAttack(false));

test('library mode: the Express middleware after the body parsers reads the parsed `_method`', () =>
  libraryAttack(true));
