/** License policy over real HTTP: start refusals, monitor vs enforce, local mode, rate limits, hot license pickup. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import { installLicense } from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  now,
  SpecClient,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';

describe('license policy', () => {
  let vendor: TestVendor;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const dirs: ReturnType<typeof tempDir>[] = [];
  const home = () => {
    const d = tempDir();
    dirs.push(d);
    return new SqliteStore(join(d.dir, 'gateway.db'));
  };

  before(async () => {
    vendor = await makeVendor();
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
    for (const d of dirs) d.remove();
  });

  test('start refuses an expired, foreign, garbled or rolled-back license', async () => {
    const store = home();
    const base = { trust: vendor.trust, store, upstream: upstream.url };
    const expired = await makeLicense(vendor, 1, { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 });
    await assert.rejects(startGateway({ ...base, license: expired }), { code: 'license_invalid' });
    const foreign = await makeLicense(await makeVendor('acme'), 1);
    await assert.rejects(startGateway({ ...base, license: foreign }), { code: 'license_invalid' });
    await assert.rejects(startGateway({ ...base, license: 'not.a.license' }), { code: 'license_invalid' });
    await assert.rejects(startGateway({ ...base }), { code: 'license_invalid', detail: 'ERR_LICENSE_NONE' });
    const gw = await startGateway({ ...base, license: await makeLicense(vendor, 5) });
    await gw.close();
    await assert.rejects(startGateway({ ...base, license: await makeLicense(vendor, 4) }), {
      code: 'license_invalid',
      detail: 'ERR_LICENSE_ROLLBACK',
    });
    await assert.rejects(startGateway({ ...base, license: await makeLicense(vendor, 5) }), {
      code: 'license_invalid',
      detail: 'ERR_LICENSE_SERIAL_REUSED',
    });
    const other = await makeLicense(vendor, 6, { sub: 'site_b', site: { id: 'site_b', name: 'B' } });
    await assert.rejects(startGateway({ ...base, license: other }), {
      code: 'license_invalid',
      detail: 'ERR_LICENSE_SITE',
    });
    await store.close();
  });

  test('local mode may only tighten', async () => {
    const store = home();
    const enforce = await makeLicense(vendor, 1);
    await assert.rejects(
      startGateway({
        trust: vendor.trust,
        store,
        upstream: upstream.url,
        license: enforce,
        localMode: 'monitor',
      }),
      {
        code: 'invalid_request',
        detail: 'ERR_MODE_LOOSENS',
      },
    );
    const monitor = await makeLicense(vendor, 2, { policy: { mode: 'monitor' } });
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      upstream: upstream.url,
      license: monitor,
      localMode: 'enforce',
    });
    assert.equal(gw.gateway.mode, 'enforce');
    const r = await fetch(`${gw.url}/orders`);
    assert.equal(r.status, 401);
    await gw.close();
    await store.close();
  });

  test('monitor mode admits what it would refuse, and says so upstream, in metrics and in the audit log', async () => {
    const store = home();
    const license = await makeLicense(vendor, 1, { policy: { mode: 'monitor' }, apps: [] });
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      upstream: upstream.url,
      license,
      routes: [{ method: '*', path: '/admin*', scope: 'admin' }],
      metricsListen: { host: '127.0.0.1', port: 0 },
    });
    const c = new SpecClient(gw.url, await makeInstanceKey());
    const reg = await c.register((await makeCharter(vendor, 'app_beta')).token);
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal((await c.token()).status, 200);
    const r = await c.call('GET', '/admin/x');
    assert.equal(r.status, 200);
    let seen = upstream.seen.at(-1);
    assert.equal(seen?.headers['charter-app-id'], 'app_beta');
    assert.equal(seen?.headers['charter-monitor'], 'app_not_admitted insufficient_scope');
    const anon = await fetch(`${gw.url}/anything`, { headers: { 'charter-app-id': 'forged' } });
    assert.equal(anon.status, 200);
    seen = upstream.seen.at(-1);
    assert.equal(seen?.headers['charter-app-id'], undefined);
    assert.equal(seen?.headers['charter-monitor'], 'invalid_token');
    // Registration still needs a real charter and a real proof: there is nothing to register otherwise.
    const forged = await new SpecClient(gw.url, await makeInstanceKey()).register('a.b.c');
    assert.equal(forged.body.error, 'invalid_charter');
    const metrics = await (await fetch(`${gw.metricsUrl}/charter/metrics`)).text();
    assert.match(metrics, /charter_admissions_total\{app_id="app_beta",outcome="monitored"\}/);
    assert.match(metrics, /charter_refusals_total\{app_id="app_beta",code="app_not_admitted"\}/);
    const kinds = (await store.auditEntries()).map(
      (e) => (JSON.parse(e.entry) as { kind: string; code?: string }).kind,
    );
    assert.ok(kinds.includes('monitor'));
    await gw.close();
    await store.close();
  });

  test('monitor mode still fails closed on an expired license', async () => {
    const store = home();
    let clock = now();
    const license = await makeLicense(vendor, 1, { policy: { mode: 'monitor' }, exp: now() + 100 });
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      upstream: upstream.url,
      license,
      clock: () => clock,
    });
    assert.equal((await fetch(`${gw.url}/x`)).status, 200);
    clock += 200;
    const r = await fetch(`${gw.url}/x`);
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as Record<string, unknown>).error, 'license_invalid');
    assert.equal((await fetch(`${gw.url}/charter/readyz`)).status, 503);
    await gw.close();
    await store.close();
  });

  test('rate limits per instance and per app answer 429 rate_limited', async () => {
    const store = home();
    const license = await makeLicense(vendor, 1, {
      apps: [{ app_id: 'app_beta', rate: { per_instance_per_min: 3, per_app_per_min: 5 } }],
    });
    // Limits count per minute window: the gateway's clock stays in the window the test starts in
    // (it follows real time and stops at the window's last second), so crossing a minute boundary
    // mid-test cannot reset the counts and let a fourth call through.
    const start = Math.floor(Date.now() / 1000);
    const lastSecond = (Math.floor(start / 60) + 1) * 60 - 1;
    const clock = () => Math.min(Math.floor(Date.now() / 1000), lastSecond);
    const gw = await startGateway({ trust: vendor.trust, store, upstream: upstream.url, license, clock });
    const charter = (await makeCharter(vendor, 'app_beta')).token;
    const a = new SpecClient(gw.url, await makeInstanceKey());
    await a.register(charter);
    await a.token();
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await a.call('GET', '/x')).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
    const limited = await a.call('GET', '/x');
    assert.equal(limited.body.error, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const b = new SpecClient(gw.url, await makeInstanceKey('EdDSA'));
    await b.register(charter);
    await b.token();
    const more: number[] = [];
    for (let i = 0; i < 3; i++) more.push((await b.call('GET', '/x')).status);
    assert.deepEqual(more, [200, 200, 429]);
    await gw.close();
    await store.close();
  });

  test('a license installed by another process is picked up, revoking an instance at once', async () => {
    const d = tempDir();
    dirs.push(d);
    const path = join(d.dir, 'gateway.db');
    const store = new SqliteStore(path);
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      upstream: upstream.url,
      license: await makeLicense(vendor, 1),
      licensePollMs: 50,
    });
    const c = new SpecClient(gw.url, await makeInstanceKey());
    await c.register((await makeCharter(vendor, 'app_beta')).token);
    await c.token();
    assert.equal((await c.call('GET', '/x')).status, 200);
    const other = new SqliteStore(path);
    await installLicense(
      await makeLicense(vendor, 2, { revoked: { instances: [c.instanceId] } }),
      vendor.trust,
      other,
    );
    await other.close();
    await new Promise((r) => setTimeout(r, 200));
    const r = await c.call('GET', '/x');
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'instance_revoked');
    assert.equal(
      ((await (await fetch(`${gw.url}/.well-known/charter`)).json()) as Record<string, unknown>)
        .license_serial,
      2,
    );
    await gw.close();
    await store.close();
  });

  test('an optional token nonce is honoured, and required when configured', async () => {
    const store = home();
    const gw = await startGateway({
      trust: vendor.trust,
      store,
      upstream: upstream.url,
      license: await makeLicense(vendor, 1),
      requireTokenNonce: true,
    });
    const c = new SpecClient(gw.url, await makeInstanceKey());
    const reg = await c.register((await makeCharter(vendor, 'app_beta')).token);
    const next = reg.headers.get('dpop-nonce');
    assert.ok(next);
    const first = await c.token();
    assert.equal(first.status, 401);
    assert.equal(first.body.error, 'use_dpop_nonce');
    const { makeProof } = await import('./helpers.ts');
    const ok = await c.token(
      await makeProof(c.key, {
        htm: 'POST',
        htu: `${gw.url}/charter/v1/token`,
        nonce: first.headers.get('dpop-nonce') as string,
      }),
    );
    assert.equal(ok.status, 200);
    await gw.close();
    await store.close();
  });
});
