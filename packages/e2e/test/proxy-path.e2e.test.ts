/**
 * Proxy mode answers ordinary API calls on node's own request and response objects (proxy-path.ts)
 * and everything else through its Fastify app (server.ts). A client must not be able to tell which:
 * the same request sent as `/orders/1` (the lean path) and as `/%6Frders/1` (a percent sign in the
 * path sends it through Fastify; both are the same resource) gets the same status, body, challenge
 * and CORS headers, admitted or refused, and an upstream that is down or cuts its answer is handled
 * alike. A real `charter gateway start` process, a real upstream, raw HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ath, makeCharter, makeLicense, makeProof, rawRequest } from '../../gateway/test/helpers.ts';
import { freePort, gatewayProcess, makeSite, rawCall, registeredClient, type Site } from './hosts.ts';
import type { Started } from './processes.ts';

const ORIGIN = 'https://beta.example';
const FAST = '/orders/1';
const VIA_FASTIFY = '/%6Frders/1';

let site: Site;
let upstream: { url: string; seen: { method: string; url: string; body: string }[]; server: Server };
let gw: Started;
let writer: string;

/** An upstream with CORS headers of its own (the gateway replaces them) that echoes what it got. */
async function startUpstream(): Promise<typeof upstream> {
  const seen: { method: string; url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (req.url?.includes('cut')) {
        // Headers and part of the body, then the connection dies: the answer cannot be completed.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const text = JSON.stringify({ method: req.method, url: req.url, bytes: body.length });
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'x-upstream': 'yes',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

before(async () => {
  site = await makeSite([
    { method: 'GET', path: '/orders/*', scope: 'orders:read' },
    { method: 'POST', path: '/orders/*', scope: 'orders:write' },
  ]);
  // The license grants the app's web origin, so every answer on these paths carries the gateway's CORS.
  writeFileSync(
    site.licenseFile,
    await makeLicense(site.vendor, 1, { apps: [{ app_id: 'app_beta', web_origins: [ORIGIN] }] }),
  );
  writer = (await makeCharter(site.vendor, 'app_beta', { scopes: ['orders:read', 'orders:write'] })).token;
  upstream = await startUpstream();
  gw = await gatewayProcess(site, upstream.url);
});
after(async () => {
  await gw?.stop();
  await new Promise<void>((r) => upstream.server.close(() => r()));
  site.remove();
});

/** What a client can see of an answer, minus what differs between any two answers (date, ids). */
function visible(r: { status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> }) {
  const keep = Object.entries(r.headers)
    .filter(([k]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k))
    .sort(([a], [b]) => a.localeCompare(b));
  const { url: _url, ...body } = r.body;
  return { status: r.status, headers: Object.fromEntries(keep), body };
}

test('refusals: the same status, body, challenge and CORS headers on both paths', async () => {
  const c = await registeredClient(gw.info.url, site.readOnly);
  const cases: { name: string; send: (path: string) => ReturnType<typeof rawRequest> }[] = [
    { name: 'no credentials', send: (p) => rawRequest(gw.info.url, 'GET', p, { origin: ORIGIN }) },
    {
      name: 'a proof that is not a JWS',
      send: (p) =>
        rawRequest(gw.info.url, 'GET', p, {
          origin: ORIGIN,
          authorization: `DPoP ${c.accessToken}`,
          dpop: 'not.a.proof',
        }),
    },
    {
      name: 'a Bearer token where DPoP is required',
      send: (p) =>
        rawRequest(gw.info.url, 'GET', p, { origin: ORIGIN, authorization: `Bearer ${c.accessToken}` }),
    },
    { name: 'a scope the charter lacks', send: (p) => rawCall(c, 'POST', p, { origin: ORIGIN }) },
    {
      name: 'a foreign origin',
      send: (p) => rawRequest(gw.info.url, 'GET', p, { origin: 'https://clone.example' }),
    },
  ];
  for (const k of cases) {
    const fast = await k.send(FAST);
    const slow = await k.send(VIA_FASTIFY);
    assert.ok(
      fast.status >= 400 && fast.status < 500,
      `${k.name}: ${fast.status} ${JSON.stringify(fast.body)}`,
    );
    assert.equal(typeof fast.body.error, 'string', `${k.name}: a catalogued error`);
    assert.deepEqual(visible(fast), visible(slow), k.name);
  }
  assert.equal(upstream.seen.length, 0, 'no refused request reached the upstream');
});

test('admitted: the upstream answer with the gateway CORS in place of its own, GET, HEAD and POST with a body', async () => {
  const reader = await registeredClient(gw.info.url, site.readOnly);
  const w = await registeredClient(gw.info.url, writer);
  for (const path of [FAST, VIA_FASTIFY]) {
    const before = upstream.seen.length;
    const get = await rawCall(reader, 'GET', path, { origin: ORIGIN });
    assert.equal(get.status, 200, `${path}: ${JSON.stringify(get.body)}`);
    assert.equal(get.headers['x-upstream'], 'yes');
    assert.equal(get.headers['access-control-allow-origin'], ORIGIN, `${path}: the upstream's * is replaced`);
    assert.notEqual(get.headers['access-control-allow-credentials'], 'true');
    const head = await rawCall(reader, 'HEAD', path, { origin: ORIGIN });
    assert.equal(head.status, 200);
    const body = JSON.stringify({ item: 'saline', qty: 40, pad: 'x'.repeat(70_000) });
    const post = await send(w, 'POST', path, body);
    assert.equal(post.status, 200, `${path}: ${JSON.stringify(post.body)}`);
    assert.equal(post.body.bytes, body.length, `${path}: the whole body reached the upstream`);
    assert.equal(upstream.seen.length, before + 3);
  }
  // The two GETs looked the same to the client.
  const a = await rawCall(reader, 'GET', FAST, { origin: ORIGIN });
  const b = await rawCall(reader, 'GET', VIA_FASTIFY, { origin: ORIGIN });
  assert.deepEqual(visible(a), visible(b));
});

test('an upstream that cuts its answer: the client sees a cut answer, the gateway serves the next', async () => {
  const c = await registeredClient(gw.info.url, site.readOnly);
  for (const path of ['/orders/cut', '/%6Frders/cut']) {
    const got = await send(c, 'GET', path);
    assert.equal(got.status, 200, `${path}: the upstream's status line had been sent`);
    assert.equal(got.complete, false, `${path}: a cut answer must not look complete`);
    const next = await rawCall(c, 'GET', FAST);
    assert.equal(next.status, 200, `after ${path}`);
  }
});

test('an upstream that is down: 503 unavailable, the same on both paths', async () => {
  const port = await freePort();
  const down = await gatewayProcess(site, `http://127.0.0.1:${port}`);
  try {
    const c = await registeredClient(down.info.url, site.readOnly);
    const fast = await rawCall(c, 'GET', FAST, { origin: ORIGIN });
    const slow = await rawCall(c, 'GET', VIA_FASTIFY, { origin: ORIGIN });
    assert.equal(fast.status, 503, JSON.stringify(fast.body));
    assert.equal(fast.body.error, 'unavailable');
    assert.deepEqual(visible(fast), visible(slow));
  } finally {
    await down.stop();
  }
});

/**
 * A protected call with a fresh proof and, for a POST, a JSON body (rawCall sends none): its status,
 * its body as JSON (empty when not JSON), and whether it arrived whole (false when the answer was cut).
 */
async function send(
  c: Awaited<ReturnType<typeof registeredClient>>,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<{ status: number; body: Record<string, unknown>; complete: boolean }> {
  const proof = await makeProof(c.key, { htm: method, htu: `${c.base}${path}`, ath: ath(c.accessToken) });
  const u = new URL(c.base);
  const headers: Record<string, string | number> = { authorization: `DPoP ${c.accessToken}`, dpop: proof };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        complete = true;
      });
      res.on('error', () => {});
      res.on('close', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, complete });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
