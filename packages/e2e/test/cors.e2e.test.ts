/**
 * CORS decided by the license, against the real `charter gateway start` process: the vendor approves
 * web apps with their origins, `vendor license issue` copies those origins into the license, and the
 * gateway answers preflights for exactly those (narrowed by `--cors-origin`), refuses and counts the
 * rest, never lets a preflight reach admission or the upstream, and replaces the upstream's own CORS
 * headers (which here say `*`) on every response.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import { decodeJsonSegment } from '@charter/core';
import { rawRequest } from '../../gateway/test/helpers.ts';
import { run, type Started, startGatewayProcess } from './processes.ts';

const A = 'http://localhost:5173';
const A2 = 'https://ward.acme.example';
const B = 'https://orders.beta.example';
const C = 'https://reports.gamma.example';

describe('CORS from the license (real gateway process)', () => {
  let dir: string;
  let V: string;
  let trust: string;
  let site: string;
  const apps: Record<string, { app_id: string; submission: string; charter: string }> = {};
  let upstream: Server;
  let upstreamUrl: string;
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const started: Started[] = [];

  function cli(...args: string[]) {
    const r = run(args);
    assert.equal(r.code, 0, `charter ${args.join(' ')} → ${r.code}: ${r.stderr}`);
    return r.json;
  }

  function license(appNames: string[]): string {
    const file = join(dir, `site-${Date.now()}-${Math.random()}.license`);
    cli(
      'vendor',
      'license',
      'issue',
      '--home',
      V,
      '--site',
      site,
      '--apps',
      appNames.map((n) => apps[n]?.app_id).join(','),
      '--ttl',
      '30d',
      '--out',
      file,
    );
    return file;
  }

  async function gateway(licenseFile: string, extra: string[] = [], home = join(dir, `G${started.length}`)) {
    const g = await startGatewayProcess([
      '--home',
      home,
      '--license',
      licenseFile,
      '--trust',
      trust,
      '--upstream',
      upstreamUrl,
      '--listen',
      '127.0.0.1:0',
      // Metrics live on the operations listener only (issue 10 item 13).
      '--metrics-listen',
      '127.0.0.1:0',
      ...extra,
    ]);
    started.push(g);
    metricsUrls.set(g.info.url as string, g.info.metrics_url as string);
    return { url: g.info.url as string, home, process: g };
  }

  function preflight(
    base: string,
    path: string,
    origin: string | string[],
    more: Record<string, string> = {},
  ) {
    return rawRequest(base, 'OPTIONS', path, {
      origin: origin as string,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,dpop',
      ...more,
    });
  }

  const metricsUrls = new Map<string, string>();
  async function metric(base: string, name: string, labels: string): Promise<number> {
    const text = await (await fetch(metricsUrls.get(base) as string)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'charter-cors-'));
    V = join(dir, 'V');
    trust = join(dir, 'trust.json');
    cli('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme');
    cli('vendor', 'export-trust', '--home', V, '--out', trust);
    const pub = cli('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps').publisher_id;
    const submit = (name: string, origins: string[]) => {
      const flags = origins.flatMap((o) => ['--web-origin', o]);
      const s = cli(
        'vendor',
        'app',
        'submit',
        '--home',
        V,
        '--publisher',
        pub,
        '--name',
        name,
        '--scopes',
        'orders:read',
        ...flags,
      );
      const file = join(dir, `${name}.charter`);
      cli('vendor', 'app', 'approve', '--home', V, s.submission_id, '--ttl', '30d', '--out', file);
      apps[name] = {
        app_id: s.app_id,
        submission: s.submission_id,
        charter: readFileSync(file, 'utf8').trim(),
      };
    };
    submit('ward', [A, A2]);
    submit('orders', [B]);
    submit('reports', [C]);
    site = cli('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A').site_id;
    // An upstream with its own, wide-open CORS: the gateway must not pass any of it on.
    upstream = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      req.resume();
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': '*',
        'access-control-expose-headers': 'X-Total-Count, *',
        'x-total-count': '3',
        vary: 'Accept-Encoding, origin',
      });
      res.end(JSON.stringify({ ok: true, app: req.headers['charter-app-id'] }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const g of started) if (g.process.exitCode === null) await g.stop();
    upstream.close();
  });

  test('vendor license issue copies the approved charters’ web origins into the license, per app', () => {
    const file = license(['ward', 'orders']);
    const claims = decodeJsonSegment(readFileSync(file, 'utf8').split('.')[1] ?? '') as {
      apps: { app_id: string; web_origins?: string[] }[];
    };
    const byId = new Map(claims.apps.map((a) => [a.app_id, a.web_origins]));
    assert.deepEqual(byId.get(apps.ward?.app_id ?? ''), [A, A2]);
    assert.deepEqual(byId.get(apps.orders?.app_id ?? ''), [B]);
    assert.equal(claims.apps.length, 2);
  });

  test('preflights from the admitted apps’ origins are answered; others are refused, counted, and reach nothing', async () => {
    const { url } = await gateway(license(['ward', 'orders']));
    for (const origin of [A, A2, B]) {
      for (const path of [
        '/charter/v1/register',
        '/charter/v1/challenge',
        '/charter/v1/token',
        '/orders/7?x=1',
        '/.well-known/charter',
      ]) {
        const r = await preflight(url, path, origin, {
          'access-control-request-headers': 'Content-Type, DPoP, Authorization',
        });
        assert.equal(r.status, 204, `${origin} ${path}: ${JSON.stringify(r.body)}`);
        assert.equal(r.headers['access-control-allow-origin'], origin);
        const methods = String(r.headers['access-control-allow-methods']).split(/,\s*/);
        for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) assert.ok(methods.includes(m), m);
        const allowed = String(r.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/);
        for (const h of ['dpop', 'authorization', 'content-type']) assert.ok(allowed.includes(h), h);
        assert.match(String(r.headers.vary), /Origin/);
        assert.equal(r.headers['access-control-allow-credentials'], undefined);
      }
    }
    // Not admitted by this license (a genuine charter elsewhere), and every other spelling of an
    // allowed origin, are refused: the comparison is exact, as browsers serialise origins.
    const foreign = [
      C,
      'null',
      'http://LOCALHOST:5173',
      'http://localhost:5173/',
      'http://localhost:5174',
      'https://localhost:5173',
      'http://127.0.0.1:5173',
      'https://orders.beta.example:443',
      'https://orders.beta.example.evil.example',
      'https://evil.example/https://orders.beta.example',
      'https://orders.beta.exampl%65',
      '*',
      '',
    ];
    for (const origin of foreign) {
      const r = await preflight(url, '/charter/v1/register', origin);
      assert.equal(r.status, 403, `${JSON.stringify(origin)} → ${r.status}`);
      assert.equal(r.body.error, 'platform_mismatch');
      assert.equal(r.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(r.headers['access-control-allow-methods'], undefined, origin);
    }
    // Two Origin headers, one of them allowed: refused, never "the first one wins".
    const twice = await preflight(url, '/orders', [A, C]);
    assert.equal(twice.status, 403);
    assert.equal(twice.headers['access-control-allow-origin'], undefined);
    // An allowed origin, but outside what Charter allows: the admin console and metrics are
    // same-origin only; an unknown header or method is refused.
    for (const path of [
      '/charter/admin/',
      '/charter/admin/api/session',
      '/charter/metrics',
      '/charter/readyz',
      '/%63harter/admin/',
      '/charter/v1/%2e%2e/admin/',
      '/charter/v1/../admin/',
      '/orders/%E0%A4%A',
    ]) {
      const r = await preflight(url, path, A);
      assert.equal(r.status, 400, path);
      assert.equal(r.headers['access-control-allow-origin'], undefined, path);
    }
    const header = await preflight(url, '/orders', A, { 'access-control-request-headers': 'dpop, x-evil' });
    assert.equal(header.status, 400);
    assert.equal(header.headers['access-control-allow-origin'], undefined);
    const method = await preflight(url, '/orders', A, { 'access-control-request-method': 'TRACE' });
    assert.equal(method.status, 400);
    const pna = await preflight(url, '/orders', B, { 'access-control-request-private-network': 'true' });
    assert.equal(pna.headers['access-control-allow-private-network'], 'true');
    const pnaForeign = await preflight(url, '/orders', C, {
      'access-control-request-private-network': 'true',
    });
    assert.equal(pnaForeign.headers['access-control-allow-private-network'], undefined);
    const lower = await preflight(url, '/orders', A, { 'access-control-request-method': 'patch' });
    assert.equal(lower.status, 400, 'Fetch compares methods case-sensitively');

    assert.equal(seen.length, 0, 'no preflight reached the upstream');
    assert.equal(await metric(url, 'charter_cors_preflights_total', 'outcome="allowed",code="none"'), 16);
    assert.equal(
      await metric(url, 'charter_cors_preflights_total', 'outcome="refused",code="platform_mismatch"'),
      foreign.length + 2,
    );
    assert.equal(
      await metric(url, 'charter_cors_preflights_total', 'outcome="refused",code="invalid_request"'),
      10, // the undecodable path is refused by the HTTP layer before (still 400, no CORS)
    );
    // Preflights are not admission decisions: nothing was admitted or refused.
    const text = await (await fetch(`${url}/charter/metrics`)).text();
    assert.doesNotMatch(text, /^charter_admissions_total\{/m);
    assert.doesNotMatch(text, /^charter_refusals_total\{/m);
    // A plain OPTIONS (no preflight headers) is an ordinary request: protected.
    const plain = await rawRequest(url, 'OPTIONS', '/orders', {});
    assert.equal(plain.status, 401);
  });

  test('responses carry the gateway’s CORS headers for allowed origins only, replacing the upstream’s', async () => {
    const { url } = await gateway(license(['ward', 'orders']));
    const withOrigin = (origin: string) =>
      createCharterClient({
        baseUrl: url,
        charter: apps.ward?.charter ?? '',
        platform: 'web',
        keyStore: new MemoryKeyStore(),
        fetch: (input, init) => {
          const request = new Request(input, init);
          const headers = new Headers(request.headers);
          headers.set('origin', origin);
          return fetch(new Request(request, { headers }));
        },
      });
    const client = withOrigin(A);
    const res = await client.fetch('/orders');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), A, 'not the upstream’s *');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    assert.equal(res.headers.get('access-control-allow-methods'), null);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    assert.deepEqual(exposed, ['DPoP-Nonce', 'WWW-Authenticate', 'X-Total-Count']);
    assert.equal(res.headers.get('vary'), 'Accept-Encoding, origin');
    assert.equal(seen.at(-1)?.headers.origin, A, 'the Origin still reaches the upstream');

    // The register and token answers (the gateway's own) carry them too, and a 401 exposes its challenge.
    const reg = await rawRequest(
      url,
      'POST',
      '/charter/v1/challenge',
      { origin: B, 'content-type': 'application/json' },
      '{}',
    );
    assert.equal(reg.status, 200);
    assert.equal(reg.headers['access-control-allow-origin'], B);
    assert.equal(reg.headers.vary, 'Origin');
    const denied = await rawRequest(url, 'GET', '/orders', { origin: A });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['access-control-allow-origin'], A);
    assert.match(String(denied.headers['access-control-expose-headers']), /WWW-Authenticate/);

    // A foreign origin (here with a genuine charter's registration of its own): no CORS header at all.
    seen.length = 0;
    const other = await rawRequest(url, 'GET', '/orders', { origin: C });
    assert.equal(other.status, 401);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers.vary, 'Origin');
    const stranger = withOrigin(C);
    await assert.rejects(stranger.fetch('/orders'), (e: { code?: string }) => e.code === 'platform_mismatch');
    const metricsPage = await rawRequest(url, 'GET', '/charter/metrics', { origin: A });
    assert.equal(
      metricsPage.headers['access-control-allow-origin'],
      undefined,
      'operations stay same-origin',
    );
  });

  test('a new license changes the set at once; --cors-origin only narrows it', async () => {
    const home = join(dir, 'G-reload');
    const { url } = await gateway(license(['ward', 'orders']), [], home);
    assert.equal((await preflight(url, '/orders', B)).status, 204);
    assert.equal((await preflight(url, '/orders', C)).status, 403);
    // The vendor renews without Beta Orders and with Gamma Reports.
    const next = license(['ward', 'reports']);
    cli('gateway', 'license', 'install', '--home', home, '--trust', trust, next);
    const deadline = Date.now() + 5000;
    while ((await preflight(url, '/orders', C)).status !== 204) {
      assert.ok(Date.now() < deadline, 'the new license was not picked up');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await preflight(url, '/orders', B)).status, 403, 'Beta Orders’ origin went with it');
    assert.equal(
      (await rawRequest(url, 'GET', '/orders', { origin: B })).headers['access-control-allow-origin'],
      undefined,
    );

    // Narrowing: the intersection with the license, never more.
    const lic = license(['ward', 'orders']);
    const narrow = await gateway(lic, ['--cors-origin', A, '--cors-origin', C]);
    assert.equal((await preflight(narrow.url, '/orders', A)).status, 204);
    assert.equal((await preflight(narrow.url, '/orders', A2)).status, 403, 'left out locally');
    assert.equal((await preflight(narrow.url, '/orders', B)).status, 403, 'left out locally');
    assert.equal(
      (await preflight(narrow.url, '/orders', C)).status,
      403,
      'a local list cannot add an origin',
    );
    const none = await gateway(lic, ['--cors-origin', 'none']);
    for (const o of [A, A2, B]) assert.equal((await preflight(none.url, '/orders', o)).status, 403);
    const bad = run([
      'gateway',
      'start',
      '--home',
      join(dir, 'Gbad'),
      '--license',
      lic,
      '--trust',
      trust,
      '--upstream',
      upstreamUrl,
      '--listen',
      '127.0.0.1:0',
      '--cors-origin',
      'https://Orders.beta.example/',
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--cors-origin/);
  });

  test('a revoked app’s origins leave the set with the license that revokes it', async () => {
    const home = join(dir, 'G-revoke');
    const { url } = await gateway(license(['ward', 'orders']), [], home);
    assert.equal((await preflight(url, '/orders', B)).status, 204);
    cli(
      'vendor',
      'revoke',
      '--home',
      V,
      '--charter',
      JSON.parse(Buffer.from(apps.orders?.charter.split('.')[1] ?? '', 'base64url').toString()).jti,
      '--reason',
      'leaked',
    );
    // The app stays admitted, but its only charter is revoked: no origin of it goes into the license.
    const next = license(['ward', 'orders']);
    const claims = decodeJsonSegment(readFileSync(next, 'utf8').split('.')[1] ?? '') as {
      apps: { app_id: string; web_origins?: string[] }[];
    };
    assert.equal(claims.apps.find((a) => a.app_id === apps.orders?.app_id)?.web_origins, undefined);
    cli('gateway', 'license', 'install', '--home', home, '--trust', trust, next);
    const deadline = Date.now() + 5000;
    while ((await preflight(url, '/orders', B)).status !== 403) {
      assert.ok(Date.now() < deadline, 'the new license was not picked up');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await preflight(url, '/orders', A)).status, 204);
  });
});
