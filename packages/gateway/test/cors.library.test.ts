/**
 * CORS in library mode: a real Fastify host with the plugin and a real Express host with the
 * middleware, each with CORS handling of its own that says `*`. The gateway answers preflights from
 * the license's web origins before the host sees them, and its headers replace the host's on every
 * response. Plus the preflight parser under fast-check: never a throw, never an origin outside the set.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { answerPreflight, corsResponseHeaders, mergeCorsHeaders, mergeCorsHeadersInto } from '../src/cors.ts';
import { charterMiddleware } from '../src/entries/express.ts';
import { charterFastify } from '../src/entries/fastify.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { createGateway, type Gateway } from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  rawRequest,
  SpecClient,
  type TestVendor,
  tempDir,
} from './helpers.ts';

const WEB = 'https://beta.example';
const OTHER = 'https://other.example';
const FOREIGN = 'https://clone.example';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('CORS in library mode', () => {
  let vendor: TestVendor;
  let home: ReturnType<typeof tempDir>;
  let charter: string;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    vendor = await makeVendor();
    home = tempDir();
    charter = (await makeCharter(vendor, 'app_beta')).token;
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    home.remove();
  });

  async function engine(name: string, publicUrl: string, corsOrigins?: string[]): Promise<Gateway> {
    const store = new SqliteStore(join(home.dir, `${name}.db`));
    const gateway = await createGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1, {
        apps: [
          { app_id: 'app_beta', web_origins: [WEB] },
          { app_id: 'app_other', web_origins: [OTHER] },
        ],
      }),
      publicUrl,
      ...(corsOrigins ? { corsOrigins } : {}),
    });
    closers.push(
      () => gateway.close(),
      () => store.close(),
    );
    return gateway;
  }

  const preflight = (base: string, path: string, origin: string) =>
    rawRequest(base, 'OPTIONS', path, {
      origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization, dpop',
    });

  async function exercise(base: string, hostOptionsCalls: () => number): Promise<void> {
    const ok = await preflight(base, '/orders/1', WEB);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], WEB);
    assert.match(String(ok.headers['access-control-allow-headers']), /dpop/);
    const reg = await preflight(base, '/charter/v1/register', OTHER);
    assert.equal(reg.status, 204);
    const refused = await preflight(base, '/orders/1', FOREIGN);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, 'platform_mismatch');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(hostOptionsCalls(), 0, 'the host never saw a preflight');

    // A registration and a call from the allowed origin, read cross-origin.
    const c = new SpecClient(base, await makeInstanceKey());
    const registered = await c.register(charter, 'web', { origin: WEB });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    assert.equal(registered.headers.get('access-control-allow-origin'), WEB);
    assert.match(registered.headers.get('access-control-expose-headers') ?? '', /DPoP-Nonce/);
    assert.equal((await c.token()).status, 200);
    const call = await c.call('GET', '/orders/1', { headers: { origin: WEB } });
    assert.equal(call.status, 200);
    assert.equal(call.headers.get('access-control-allow-origin'), WEB, 'the host’s * was replaced');
    assert.equal(call.headers.get('access-control-allow-credentials'), null);
    assert.equal(call.headers.get('vary'), 'Accept, Origin');
    assert.equal(
      call.headers.get('access-control-expose-headers'),
      'DPoP-Nonce, WWW-Authenticate, Charter-Refusal, X-Request-Id',
    );
    const foreign = await c.call('GET', '/orders/1', { headers: { origin: FOREIGN } });
    assert.equal(foreign.status, 200, 'CORS is the browser’s; admission stays the gateway’s');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'the host’s * was removed');
    const anon = await rawRequest(base, 'GET', '/orders/1', { origin: WEB });
    assert.equal(anon.status, 401);
    assert.equal(anon.headers['access-control-allow-origin'], WEB);
  }

  test('the Fastify plugin answers preflights before the host and replaces the host’s CORS headers', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const gateway = await engine('fastify', base);
    const host = Fastify();
    let optionsCalls = 0;
    // The host's own, wide-open CORS (as @fastify/cors with origin: '*' would do).
    host.addHook('onSend', async (_request, reply, payload) => {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-expose-headers', 'X-Request-Id');
      reply.header('vary', 'Accept');
      return payload;
    });
    await host.register(charterFastify, { gateway });
    // And one added after the plugin, which runs after the plugin's hooks: still replaced.
    host.addHook('onSend', async (_request, reply, payload) => {
      reply.header('access-control-allow-origin', '*');
      reply.header('access-control-allow-methods', '*');
      return payload;
    });
    host.get('/orders/:id', async () => ({ ok: true }));
    host.options('/orders/:id', async () => {
      optionsCalls++;
      return { host: true };
    });
    await host.listen({ host: '127.0.0.1', port });
    closers.push(() => host.close());
    await exercise(base, () => optionsCalls);
  });

  test('the Express middleware answers preflights before the host and replaces the host’s CORS headers', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const gateway = await engine('express', base);
    const app = express();
    let optionsCalls = 0;
    app.use(charterMiddleware(gateway));
    app.use((_req, res, next) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
      res.setHeader('Vary', 'Accept');
      next();
    });
    app.options('/orders/:id', (_req, res) => {
      optionsCalls++;
      res.json({ host: true });
    });
    app.get('/orders/:id', (_req, res) => {
      // Headers given to writeHead directly are folded in and replaced just the same.
      res.writeHead(200, { 'content-type': 'application/json', 'Access-Control-Allow-Origin': '*' });
      res.end('{"ok":true}');
    });
    const server = app.listen(port, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closers.push(() => new Promise((r) => server.close(r)));
    await exercise(base, () => optionsCalls);
  });

  test('a local list only narrows, and an origin the license does not list cannot be added', async () => {
    const gateway = await engine('narrow', 'http://127.0.0.1:1', [OTHER, FOREIGN]);
    assert.deepEqual([...gateway.corsOrigins()], [OTHER]);
    const none = await engine('none', 'http://127.0.0.1:1', []);
    assert.deepEqual([...none.corsOrigins()], []);
    await assert.rejects(engine('bad', 'http://127.0.0.1:1', ['https://Beta.example/']), {
      code: 'invalid_request',
    });
  });

  test('the preflight parser never throws and never allows an origin outside the set (fast-check)', () => {
    const origins = new Set([WEB, OTHER]);
    const header = fc.oneof(
      fc.string(),
      fc.constantFrom(WEB, OTHER, `${WEB}/`, WEB.toUpperCase(), 'null', ''),
      fc.array(fc.constantFrom(WEB, OTHER, FOREIGN), { minLength: 0, maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        header,
        header,
        header,
        fc.constantFrom('/orders', '/charter/v1/register', '/charter/admin/', 'x', '/%2e%2e/charter/admin'),
        (origin, method, asked, url) => {
          const req = {
            method: 'OPTIONS',
            url,
            headers: {
              origin,
              'access-control-request-method': method,
              'access-control-request-headers': asked,
            },
          };
          const { reply, outcome } = answerPreflight(req, origins);
          const allowed = reply.headers['access-control-allow-origin'];
          // Node gives one header line as a string; a one-element list is the same thing.
          const sent = Array.isArray(origin) && origin.length === 1 ? origin[0] : origin;
          if (outcome.allowed) {
            assert.equal(reply.status, 204);
            assert.ok(typeof sent === 'string' && origins.has(sent) && allowed === sent);
          } else {
            assert.equal(allowed, undefined);
            assert.ok([400, 403].includes(reply.status));
            assert.ok(['invalid_request', 'platform_mismatch'].includes(outcome.error?.code ?? ''));
          }
          const actual = corsResponseHeaders({ ...req, method: 'GET' }, origins);
          const merged = mergeCorsHeaders(
            { 'access-control-allow-origin': '*', vary: String(asked) },
            actual,
          );
          const acao = merged['access-control-allow-origin'];
          assert.ok(acao === undefined || (acao === sent && origins.has(acao as string)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

test('the proxy path’s in-place CORS merge gives what the merge gives, for any upstream headers (fast-check)', () => {
  const name = fc.constantFrom(
    'content-type',
    'vary',
    'access-control-allow-origin',
    'access-control-expose-headers',
    'access-control-allow-credentials',
    'x-upstream',
    'set-cookie',
  );
  const value = fc.oneof(
    fc.constantFrom('*', 'Origin', 'Accept, Origin', 'x-a, *', 'https://evil.example', 'true'),
    fc.string({ maxLength: 12 }),
  );
  const headers = fc.dictionary(name, fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 })));
  const cors = fc.constantFrom<Record<string, string>>(
    {},
    { vary: 'Origin' },
    {
      'access-control-allow-origin': 'https://app.example',
      'access-control-expose-headers': 'dpop-nonce',
      vary: 'Origin',
    },
  );
  fc.assert(
    fc.property(headers, cors, (h, c) => {
      assert.deepEqual(mergeCorsHeadersInto({ ...h }, c), mergeCorsHeaders({ ...h }, c));
    }),
    { numRuns: 2000 },
  );
});
