/**
 * Issue 10 item 6: headers that fold to the gateway's own. A client sends `Charter_Scope:
 * orders:admin` (and other spellings: underscores, dots, case, the other Charter names,
 * `X_Forwarded_For`) over raw HTTP, so the names really go on the wire as written. Upstream, a
 * WSGI/CGI server turns every header name into `HTTP_` + upper case with `-` as `_`: there, the only
 * `HTTP_CHARTER_*` values must be the gateway's, and `HTTP_X_FORWARDED_FOR` the gateway's too.
 * Proxy mode (a real `charter gateway start`) and library mode (Express middleware, Fastify plugin).
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
  site = await makeSite([]);
});
after(() => site.remove());

/** Spoofed headers, names exactly as sent. */
const SPOOFED: Record<string, string> = {
  Charter_Scope: 'orders:admin',
  charter_app_id: 'app_admin',
  CHARTER_INSTANCE_ID: 'ins_spoofed',
  'Charter_Publisher-Id': 'pub_spoofed',
  'Charter.Monitor': 'spoofed',
  'charter-scope': 'orders:admin',
  Charter_Anything: 'spoofed',
  X_Forwarded_For: '10.6.6.6',
};

/** The CGI/WSGI environment of a request's raw header list (RFC 3875 §4.1.18), every value kept. */
function cgiEnvironment(rawHeaders: string[]): Map<string, string[]> {
  const env = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = `HTTP_${(rawHeaders[i] as string).toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    env.set(key, [...(env.get(key) ?? []), rawHeaders[i + 1] as string]);
  }
  return env;
}

function assertClean(rawHeaders: string[], expected: { scope?: string; forwardedFor?: string | null }): void {
  const env = cgiEnvironment(rawHeaders);
  for (const [key, values] of env) {
    if (!key.startsWith('HTTP_CHARTER_')) continue;
    assert.ok(
      values.every((v) => !/spoofed|orders:admin|app_admin/.test(v)),
      `${key}=${values.join(',')} reached the app: ${JSON.stringify(rawHeaders)}`,
    );
  }
  if (expected.scope !== undefined) assert.deepEqual(env.get('HTTP_CHARTER_SCOPE'), [expected.scope]);
  else assert.equal(env.get('HTTP_CHARTER_SCOPE'), undefined);
  if (expected.forwardedFor === null) return; // library mode sets no X-Forwarded-For of its own
  if (expected.forwardedFor !== undefined)
    assert.deepEqual(env.get('HTTP_X_FORWARDED_FOR'), [expected.forwardedFor]);
  else assert.equal(env.get('HTTP_X_FORWARDED_FOR'), undefined);
}

test('proxy mode: no header that folds to a Charter header (or X-Forwarded-For) goes upstream', async () => {
  const seen: string[][] = [];
  const upstream = await expressHost((app: Express) => {
    app.use((req, _res, next) => {
      seen.push([...req.rawHeaders]);
      next();
    });
  });
  const gw = await gatewayProcess(site, upstream.url);
  try {
    const c = await registeredClient(gw.info.url, site.readOnly);
    const r = await rawCall(c, 'GET', '/orders/1', SPOOFED);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(seen.length, 1);
    assertClean(seen[0] as string[], { scope: 'orders:read', forwardedFor: '127.0.0.1' });
    // The same names as hop-by-hop headers are not forwarded either, and the request still goes.
    const r2 = await rawCall(c, 'GET', '/orders/2', { Transfer_Encoding: 'x', Keep_Alive: 'x' });
    assert.equal(r2.status, 200);
    const env = cgiEnvironment(seen[1] as string[]);
    assert.equal(env.get('HTTP_TRANSFER_ENCODING'), undefined);
    assert.equal(env.get('HTTP_KEEP_ALIVE'), undefined);
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

test('library mode, Express middleware: the host never sees a client-sent Charter header', async () => {
  let middleware: ReturnType<typeof charterMiddleware> | undefined;
  const host = await expressHost((app: Express) => {
    app.use((req, res, next) => (middleware as ReturnType<typeof charterMiddleware>)(req, res, next));
  });
  const engine = await libraryEngine(site, host.url, []);
  middleware = charterMiddleware(engine.gateway);
  try {
    const c = await registeredClient(host.url, site.readOnly);
    const r = await rawCall(c, 'GET', '/orders/1', SPOOFED);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const hit = host.hits[host.hits.length - 1];
    assert.ok(hit, 'the host handler ran');
    assert.equal((hit.charter as { scopes: string[] }).scopes.join(' '), 'orders:read');
    for (const name of Object.keys(hit.headers))
      assert.ok(!/^charter[^a-z0-9]/i.test(name), `req.headers has ${name}`);
    const raw = (r.body.headers ?? {}) as Record<string, string>;
    assert.equal(raw['charter-scope'], undefined);
  } finally {
    await host.close();
    await engine.close();
  }
});

test('library mode, Fastify plugin: request.headers and rawHeaders are clean', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base, []);
  const host = Fastify();
  await host.register(charterFastify, { gateway: engine.gateway });
  host.get('/orders/:id', async (request) => ({
    headers: request.headers,
    raw: request.raw.rawHeaders,
    scopes: request.charter?.scopes,
  }));
  await host.listen({ host: '127.0.0.1', port });
  try {
    const c = await registeredClient(base, site.readOnly);
    const r = await rawCall(c, 'GET', '/orders/1', SPOOFED);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.scopes, ['orders:read']);
    for (const name of Object.keys(r.body.headers as object))
      assert.ok(!/^charter[^a-z0-9]/i.test(name), `request.headers has ${name}`);
    assertClean(r.body.raw as string[], { forwardedFor: null });
  } finally {
    await host.close();
    await engine.close();
  }
});
