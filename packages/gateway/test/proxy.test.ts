/** Proxy mode end to end: real HTTP on loopback, a real SQLite file, a client written from the SPEC. */
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningGateway, startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { verifyAuditChain } from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeProof,
  makeVendor,
  rawRequest,
  SpecClient,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';

describe('proxy mode', () => {
  let vendor: TestVendor;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let home: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let gw: RunningGateway;
  let charter: { token: string; jti: string };
  let client: SpecClient;

  before(async () => {
    vendor = await makeVendor();
    upstream = await startUpstream();
    home = tempDir();
    store = new SqliteStore(join(home.dir, 'gateway.db'));
    const license = await makeLicense(vendor, 1, {
      apps: [
        { app_id: 'app_beta', rate: { per_instance_per_min: 1000 } },
        { app_id: 'app_narrow', scopes: ['orders:read'] },
      ],
    });
    gw = await startGateway({
      trust: vendor.trust,
      store,
      license,
      upstream: upstream.url,
      routes: [
        { method: 'GET', path: '/orders/*', scope: 'orders:read' },
        { method: 'POST', path: '/orders/*', scope: 'orders:write' },
        { method: '*', path: '/admin/*', scope: 'admin' },
      ],
      licensePollMs: 100,
      metricsListen: { host: '127.0.0.1', port: 0 },
    });
    charter = await makeCharter(vendor, 'app_beta');
    client = new SpecClient(gw.url, await makeInstanceKey('ES256'));
  });

  // Tests that need an admitted instance get one of their own making (registered and holding a
  // token), so each runs alone too (--test-name-pattern) and none leans on an earlier test's client.
  let shared: SpecClient | undefined;
  const admitted = async (): Promise<SpecClient> => {
    if (!shared) {
      const c = new SpecClient(gw.url, await makeInstanceKey('ES256'));
      assert.equal((await c.register(charter.token)).status, 200);
      assert.equal((await c.token()).status, 200);
      shared = c;
    }
    return shared;
  };

  after(async () => {
    await gw.close();
    await store.close();
    await upstream.close();
    home.remove();
  });

  test('well-known describes the site', async () => {
    const r = await fetch(`${gw.url}/.well-known/charter`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(body.site_id, 'site_a');
    assert.equal(body.license_serial, 1);
    assert.equal(body.mode, 'enforce');
    assert.equal(body.integrity, 'unsealed');
    assert.deepEqual(body.algs, ['ES256', 'EdDSA']);
    assert.equal((body.endpoints as Record<string, string>).register, `${gw.url}/charter/v1/register`);
  });

  test('challenge, register, token and a proxied call with Charter headers', async () => {
    const reg = await client.register(charter.token);
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.app_id, 'app_beta');
    assert.deepEqual(reg.body.scopes, ['orders:read', 'orders:write']);
    assert.match(reg.body.instance_id as string, /^ins_/);
    const tok = await client.token();
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.body.token_type, 'DPoP');
    assert.equal(tok.body.expires_in, 300);
    assert.equal(tok.body.scope, 'orders:read orders:write');
    const r = await client.call('POST', '/orders/1?x=1', {
      headers: { 'charter-app-id': 'evil', 'Charter-Scope': 'admin', 'content-type': 'text/plain' },
      body: 'hello upstream',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get('x-upstream'), 'yes');
    const seen = upstream.seen.at(-1);
    assert.ok(seen);
    assert.equal(seen.url, '/orders/1?x=1');
    assert.equal(seen.body, 'hello upstream');
    assert.equal(seen.headers['charter-app-id'], 'app_beta');
    assert.equal(seen.headers['charter-publisher-id'], 'pub_beta');
    assert.equal(seen.headers['charter-instance-id'], client.instanceId);
    assert.equal(seen.headers['charter-scope'], 'orders:read orders:write');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.dpop, undefined);
  });

  test('a replayed proof is refused', async () => {
    const client = await admitted();
    const proof = await client.proofFor('GET', '/orders/2');
    assert.equal((await client.call('GET', '/orders/2', { proof })).status, 200);
    const again = await client.call('GET', '/orders/2', { proof });
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_dpop_proof');
    assert.equal(
      again.headers.get('www-authenticate'),
      'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"',
    );
  });

  test('a proof for another URL or method is refused', async () => {
    const client = await admitted();
    const wrongUrl = await client.proofFor('GET', '/orders/3');
    assert.equal(
      (await client.call('GET', '/orders/4', { proof: wrongUrl })).body.error,
      'invalid_dpop_proof',
    );
    const wrongMethod = await client.proofFor('POST', '/orders/5');
    assert.equal(
      (await client.call('GET', '/orders/5', { proof: wrongMethod })).body.error,
      'invalid_dpop_proof',
    );
  });

  test('a stolen token used with another key is refused', async () => {
    const client = await admitted();
    const thief = await makeInstanceKey('EdDSA');
    const proof = await client.proofFor('GET', '/orders/6', client.accessToken, thief);
    const r = await client.call('GET', '/orders/6', { proof });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_dpop_proof');
  });

  test('forged and edited tokens are refused', async () => {
    const client = await admitted();
    const [h, p, s] = client.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const edited = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    const r1 = await client.call('GET', '/admin/x', { token: edited });
    assert.equal(r1.status, 401);
    assert.equal(r1.body.error, 'invalid_token');
    const r2 = await client.call('GET', '/orders/1', { token: 'abc.def.ghi' });
    assert.equal(r2.body.error, 'invalid_token');
    const r3 = await fetch(`${gw.url}/orders/1`, {
      headers: { authorization: `Bearer ${client.accessToken}` },
    });
    assert.equal(r3.status, 401);
    assert.equal(((await r3.json()) as Record<string, unknown>).error, 'invalid_token');
    const r4 = await fetch(`${gw.url}/orders/1`);
    assert.equal(r4.status, 401);
    assert.equal(r4.headers.get('www-authenticate'), 'DPoP error="invalid_token", algs="ES256 EdDSA"');
  });

  test('a charter from a foreign vendor is refused', async () => {
    const foreign = await makeVendor('acme');
    const fake = await makeCharter(foreign, 'app_beta');
    const c = new SpecClient(gw.url, await makeInstanceKey());
    const r = await c.register(fake.token);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'invalid_charter');
  });

  test('an app the license does not admit is refused', async () => {
    const other = await makeCharter(vendor, 'app_other');
    const r = await new SpecClient(gw.url, await makeInstanceKey()).register(other.token);
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'app_not_admitted');
  });

  test('web registrations need an approved Origin', async () => {
    const c = new SpecClient(gw.url, await makeInstanceKey());
    assert.equal(
      (await c.register(charter.token, 'web', { origin: 'https://evil.example' })).body.error,
      'platform_mismatch',
    );
    assert.equal((await c.register(charter.token, 'web')).body.error, 'platform_mismatch');
    assert.equal((await c.register(charter.token, 'web', { origin: 'https://beta.example' })).status, 200);
  });

  test('a platform the charter does not name, and android without attestation, are refused', async () => {
    const c = new SpecClient(gw.url, await makeInstanceKey());
    assert.equal((await c.register(charter.token, 'ios')).body.error, 'platform_mismatch');
    const android = await makeCharter(vendor, 'app_beta', {
      platforms: { android: { package_name: 'com.beta.orders', signing_cert_sha256: ['a'.repeat(64)] } },
    });
    assert.equal((await c.register(android.token, 'android')).body.error, 'attestation_required');
    const optional = await makeCharter(vendor, 'app_beta', {
      platforms: { android: { package_name: 'com.beta.orders', signing_cert_sha256: ['a'.repeat(64)] } },
      attestation: { android: 'optional' },
    });
    const r = await c.register(optional.token, 'android');
    assert.equal(r.status, 200);
    const instance = await store.getInstance(r.body.instance_id as string);
    assert.equal(instance?.attested, false);
  });

  test('registration needs a fresh, unspent challenge nonce', async () => {
    const key = await makeInstanceKey();
    const c = new SpecClient(gw.url, key);
    const htu = `${gw.url}/charter/v1/register`;
    const noNonce = await c.register(charter.token, 'server', {
      proof: await makeProof(key, { htm: 'POST', htu }),
    });
    assert.equal(noNonce.status, 401);
    assert.equal(noNonce.body.error, 'use_dpop_nonce');
    const fresh = noNonce.headers.get('dpop-nonce');
    assert.ok(fresh);
    const ok = await c.register(charter.token, 'server', {
      proof: await makeProof(key, { htm: 'POST', htu, nonce: fresh }),
    });
    assert.equal(ok.status, 200);
    const spent = await c.register(charter.token, 'server', {
      proof: await makeProof(key, { htm: 'POST', htu, nonce: fresh }),
    });
    assert.equal(spent.body.error, 'use_dpop_nonce');
    const forged = await c.register(charter.token, 'server', {
      proof: await makeProof(key, { htm: 'POST', htu, nonce: 'A'.repeat(43) }),
    });
    assert.equal(forged.body.error, 'use_dpop_nonce');
  });

  test('a token request must be signed by the instance key', async () => {
    const client = await admitted();
    const other = await makeInstanceKey();
    const c = new SpecClient(gw.url, other);
    c.instanceId = client.instanceId;
    const r = await c.token();
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_dpop_proof');
  });

  test('routes require their scope; narrowed licenses narrow scopes', async () => {
    const client = await admitted();
    assert.equal((await client.call('GET', '/admin/users')).body.error, 'insufficient_scope');
    assert.equal((await client.call('GET', '/admin/users')).status, 403);
    assert.equal((await client.call('GET', '/%61dmin/users')).body.error, 'insufficient_scope');
    assert.equal((await client.call('GET', '/public')).status, 200);
    const narrow = new SpecClient(gw.url, await makeInstanceKey());
    const reg = await narrow.register((await makeCharter(vendor, 'app_narrow')).token);
    assert.deepEqual(reg.body.scopes, ['orders:read']);
    await narrow.token();
    assert.equal((await narrow.call('GET', '/orders/1')).status, 200);
    assert.equal((await narrow.call('POST', '/orders/1')).body.error, 'insufficient_scope');
  });

  test('non-canonical paths are refused', async () => {
    // fetch would normalise these paths itself; node:http sends them as written.
    for (const path of [
      '/orders/%2e%2e/admin',
      '/orders/../admin',
      '/orders/./x',
      '/orders/%2fadmin',
      '/orders//x',
      '/orders/%zz',
      '/orders/a%5cb',
    ]) {
      const r = await rawRequest(gw.url, 'GET', path, {
        authorization: `DPoP ${client.accessToken}`,
        dpop: await client.proofFor('GET', path),
      });
      assert.equal(r.status, 400, path);
      assert.equal(r.body.error, 'invalid_request', path);
    }
  });

  test('the /charter/ prefix is reserved and operations endpoints answer', async () => {
    const client = await admitted();
    // The traffic the metrics below must show, made here: one admission, one scope refusal.
    assert.equal((await client.call('GET', '/orders/9')).status, 200);
    assert.equal((await client.call('GET', '/admin/x')).body.error, 'insufficient_scope');
    assert.equal((await fetch(`${gw.url}/charter/healthz`)).status, 200);
    assert.equal((await fetch(`${gw.url}/charter/readyz`)).status, 200);
    const m = await fetch(`${gw.metricsUrl}/charter/metrics`);
    const text = await m.text();
    assert.match(text, /charter_admissions_total\{app_id="app_beta",outcome="admitted"\}/);
    assert.match(text, /charter_refusals_total\{app_id="app_beta",code="insufficient_scope"\}/);
    assert.match(text, /charter_license_serial 1/);
    const r = await fetch(`${gw.url}/charter/other`);
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as Record<string, unknown>).error, 'invalid_request');
    const g = await fetch(`${gw.url}/charter/v1/register`);
    assert.equal(((await g.json()) as Record<string, unknown>).error, 'invalid_request');
  });

  test('bad bodies and headers get catalogued 4xx answers', async () => {
    const post = (path: string, init: RequestInit) => fetch(`${gw.url}${path}`, { method: 'POST', ...init });
    const cases: [string, RequestInit][] = [
      ['/charter/v1/register', { headers: { 'content-type': 'application/json' }, body: '{not json' }],
      ['/charter/v1/register', { headers: { 'content-type': 'text/plain' }, body: '{}' }],
      ['/charter/v1/register', { headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70_000) }],
      ['/charter/v1/register', { headers: { 'content-type': 'application/json' }, body: '[]' }],
      ['/charter/v1/register', {}],
      [
        '/charter/v1/token',
        { headers: { 'content-type': 'application/json' }, body: '{"instance_id":{"a":1}}' },
      ],
      [
        '/charter/v1/token',
        {
          headers: { 'content-type': 'application/json; charset=utf-8', dpop: 'x.y.z' },
          body: '{"instance_id":"ins_x"}',
        },
      ],
    ];
    for (const [path, init] of cases) {
      const r = await post(path, init);
      assert.ok(r.status >= 400 && r.status < 500, `${path} ${r.status}`);
      const body = (await r.json()) as Record<string, unknown>;
      assert.ok(
        ['invalid_request', 'invalid_dpop_proof'].includes(body.error as string),
        JSON.stringify(body),
      );
      assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
    }
    // Node's parser refuses headers over 16 KiB; the gateway must answer that with a 4xx, not a reset
    // (a reset used to pass here unnoticed).
    const huge = await fetch(`${gw.url}/orders/1`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.ok(huge.status >= 400 && huge.status < 500, `huge headers: ${huge.status}`);
    const dup = await fetch(`${gw.url}/orders/1`, {
      headers: [
        ['authorization', 'DPoP a'],
        ['authorization', 'DPoP b'],
      ],
    });
    assert.equal(dup.status, 401);
  });

  test('huge and garbled requests get a JSON invalid_request, not a crash', async () => {
    const { port } = new URL(gw.url);
    const send = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
        let out = '';
        socket.on('data', (c) => {
          out += c.toString();
        });
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
      });
    for (const text of [
      `GET /orders/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`,
      'GET /orders/1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      '\x00\x01\x02 garbage\r\n\r\n',
      'GET /orders/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
    ]) {
      const answer = await send(text);
      assert.match(answer, /^HTTP\/1\.1 400 /, answer.slice(0, 80));
      assert.match(answer, /"error":"invalid_request"/);
      // Headers as on every other refusal (this answer once lacked no-store).
      assert.match(answer, /\r\ncharter-refusal: invalid_request\r\n/i);
      assert.match(answer, /\r\ncache-control: no-store\r\n/i);
    }
    assert.equal((await fetch(`${gw.url}/.well-known/charter`)).status, 200);
  });

  test('the audit log chains registrations and refusals', async () => {
    const client = await admitted();
    // The refusals the chain must hold, made here (the registration came with the client).
    for (let i = 0; i < 5; i++) assert.equal((await client.call('GET', '/admin/x')).status, 403);
    const entries = await store.auditEntries();
    assert.ok(entries.length > 5);
    assert.deepEqual(verifyAuditChain(entries).ok, true);
    const kinds = new Set(entries.map((e) => (JSON.parse(e.entry) as { kind: string }).kind));
    assert.ok(kinds.has('register') && kinds.has('refusal'));
    const victim = entries.findIndex((e) => e.entry.includes('"refusal"'));
    const tampered = entries.map((e, i) =>
      i === victim ? { ...e, entry: e.entry.replace('"refusal"', '"register"') } : e,
    );
    assert.equal(verifyAuditChain(tampered).ok, false);
  });

  test('a newer license applies revocations at once, to issued tokens too; older ones are refused', async () => {
    const client = await admitted();
    assert.equal((await client.call('GET', '/orders/7')).status, 200);
    const revoking = await makeLicense(vendor, 2, {
      apps: [{ app_id: 'app_beta' }, { app_id: 'app_narrow' }],
      revoked: { charters: [charter.jti] },
    });
    await gw.gateway.installLicense(revoking);
    const r = await client.call('GET', '/orders/7');
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'charter_revoked');
    assert.equal((await client.token()).body.error, 'charter_revoked');
    const old = await makeLicense(vendor, 1);
    await assert.rejects(gw.gateway.installLicense(old), {
      code: 'license_invalid',
      detail: 'ERR_LICENSE_ROLLBACK',
    });
  });
});

describe('proxy mode: the upstream leg follows the client', () => {
  let vendor: TestVendor;
  let home: ReturnType<typeof tempDir>;
  let store: SqliteStore;
  let gw: RunningGateway;
  let client: SpecClient;
  const held: { url: string; closed: boolean }[] = [];
  const BIG = 6 * 1024 * 1024;
  const upstream = createServer((req, res) => {
    if (req.url?.startsWith('/slow')) {
      // Held open: the answer never comes, so only the gateway can end this request.
      const entry = { url: req.url, closed: false };
      held.push(entry);
      res.on('close', () => {
        entry.closed = true;
      });
      return;
    }
    // A large answer in many writes, so the client's pace reaches the upstream (backpressure).
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const more = (): void => {
      while (sent < BIG) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });

  before(async () => {
    vendor = await makeVendor();
    home = tempDir();
    store = new SqliteStore(join(home.dir, 'gateway.db'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    gw = await startGateway({
      trust: vendor.trust,
      store,
      license: await makeLicense(vendor, 1, { apps: [{ app_id: 'app_beta' }] }),
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      licensePollMs: 0,
    });
    client = new SpecClient(gw.url, await makeInstanceKey('ES256'));
    assert.equal((await client.register((await makeCharter(vendor, 'app_beta')).token)).status, 200);
    assert.equal((await client.token()).status, 200);
  });

  after(async () => {
    await gw.close();
    await store.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
    home.remove();
  });

  test('a client gone before the upstream answered ends the upstream request', async () => {
    const u = new URL(gw.url);
    const req = request({
      host: u.hostname,
      port: u.port,
      method: 'GET',
      path: '/slow/1',
      headers: {
        authorization: `DPoP ${client.accessToken}`,
        dpop: await client.proofFor('GET', '/slow/1'),
      },
    });
    req.on('error', () => {});
    req.end();
    const deadline = Date.now() + 5000;
    while (held.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(held.length, 1, 'the upstream received the admitted request');
    assert.equal(held[0]?.closed, false);
    req.destroy();
    while (!held[0]?.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(held[0]?.closed, true, 'the upstream request was ended when the client left');
  });

  test('a large answer read slowly arrives whole', async () => {
    const u = new URL(gw.url);
    const received = await new Promise<number>((resolve, reject) => {
      void client.proofFor('GET', '/big').then((proof) => {
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            method: 'GET',
            path: '/big',
            headers: { authorization: `DPoP ${client.accessToken}`, dpop: proof },
          },
          (res) => {
            assert.equal(res.statusCode, 200);
            assert.equal(res.headers['content-length'], String(BIG));
            let n = 0;
            res.on('data', (c: Buffer) => {
              n += c.length;
              // Pause now and then: the gateway must hold the upstream back, not buffer or drop.
              if (n % (1024 * 1024) < c.length) {
                res.pause();
                setTimeout(() => res.resume(), 20);
              }
            });
            res.on('end', () => resolve(n));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      }, reject);
    });
    assert.equal(received, BIG);
  });
});
