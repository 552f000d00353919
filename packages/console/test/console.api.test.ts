/**
 * The admin console's API over plain HTTP, mounted on a real proxy-mode gateway: the operator gate,
 * sign-in and cookie, CSRF (Origin and token), lockout, traffic fed by the engine, local revocation
 * (instance_revoked on the next call), license upload (serial raised; refusals as 4xx), audit
 * verification, report export, and fast-check on every JSON body (never a 500).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SESSION_TTL } from '@charter/accounts';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import { addOperator, charterConsole, SESSIONS_STATE, startConsoleServer } from '@charter/console';
import { type RevocationsClaims, signRevocations } from '@charter/core';
import { verifyAuditChain } from '@charter/gateway';
import { type RunningGateway, startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import fc from 'fast-check';
import {
  makeCharter,
  makeLicense,
  makeVendor,
  startUpstream,
  type TestVendor,
  tempDir,
} from '../../gateway/test/helpers.ts';

const PASSWORD = 'correct horse battery staple';
const ADMIN = '/charter/admin';

let vendor: TestVendor;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let home: ReturnType<typeof tempDir>;
let store: SqliteStore;
let gw: RunningGateway;
let charter: string;

/** A tiny cookie-keeping HTTP client speaking as a browser on the gateway's own origin. */
class Browser {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}
  async req(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
    const h: Record<string, string> = { origin: this.base, ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf;
    let payload: string | undefined;
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    for (const [k, v] of Object.entries(h)) if (v === '') delete h[k];
    const res = await fetch(this.base + path, { method, headers: h, body: payload, redirect: 'manual' });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0] as string;
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json, headers: res.headers };
  }
  /** Sign in and keep the session; fails the test unless the sign-in succeeded. */
  async signIn(email: string, password = PASSWORD) {
    const r = await this.trySignIn(email, password);
    if (r.status !== 200 || typeof r.json.csrf !== 'string') {
      throw new Error(`sign-in as ${email} failed: ${r.status} ${JSON.stringify(r.json)}`);
    }
    return r;
  }
  /** Attempt a sign-in that may be refused; returns the response as it came. */
  async trySignIn(email: string, password = PASSWORD) {
    const r = await this.req('POST', `${ADMIN}/api/session`, { email, password });
    if (r.status === 200) this.csrf = r.json.csrf as string;
    return r;
  }
}

async function startWithConsole(s: SqliteStore, license: string): Promise<RunningGateway> {
  return startGateway({
    trust: vendor.trust,
    store: s,
    license,
    upstream: upstream.url,
    attestationVerifier: null,
    licensePollMs: 100,
    plugins: [async (app, gateway) => void (await app.register(charterConsole, { gateway, store: s }))],
  });
}

before(async () => {
  vendor = await makeVendor();
  upstream = await startUpstream();
  home = tempDir();
  store = new SqliteStore(`${home.dir}/gateway.db`);
  charter = (await makeCharter(vendor, 'app_beta')).token;
  gw = await startWithConsole(store, await makeLicense(vendor, 1));
});

after(async () => {
  await gw?.close();
  await store?.close();
  await upstream?.close();
  home?.remove();
});

describe('console API', () => {
  test('without an operator the console is not there (404), and the gateway still works', async () => {
    const b = new Browser(gw.url);
    const r = await b.req('GET', `${ADMIN}/api/overview`);
    assert.equal(r.status, 404);
    assert.equal(r.json.error, 'not_found');
    assert.match(String(r.json.error_description), /gateway user add/);
    const wk = await fetch(`${gw.url}/.well-known/charter`);
    assert.equal(wk.status, 200);
    await addOperator(store, { email: 'ops@hospital.example', password: PASSWORD, actor: 'test (cli)' });
    await addOperator(store, { email: 'locked@hospital.example', password: PASSWORD, actor: 'test (cli)' });
    await assert.rejects(
      addOperator(store, { email: 'OPS@hospital.example', password: PASSWORD, actor: 'x' }),
      /already an operator/,
    );
    await assert.rejects(
      addOperator(store, { email: 'short@h.example', password: 'short', actor: 'x' }),
      /12/,
    );
  });

  test('sign-in: HttpOnly SameSite=Strict cookie, only its hash stored, security headers; sign-out ends it', async () => {
    const b = new Browser(gw.url);
    assert.equal((await b.req('GET', `${ADMIN}/api/session`)).status, 401);
    const r = await b.signIn('ops@hospital.example');
    assert.equal(r.status, 200);
    const set = r.headers.get('set-cookie') ?? '';
    assert.match(
      set,
      /^charter_admin=[A-Za-z0-9_-]{43}; Path=\/charter\/admin; HttpOnly; SameSite=Strict; Max-Age=/,
    );
    assert.ok(set.includes(`Max-Age=${SESSION_TTL.absoluteS}`));
    const sessionId = b.cookie.split('=')[1] as string;
    const stored = (await store.getState(SESSIONS_STATE)) ?? '';
    assert.ok(!stored.includes(sessionId), 'the session id itself is never stored');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const s = await b.req('GET', `${ADMIN}/api/session`);
    assert.equal(s.status, 200);
    assert.equal((s.json.user as { email: string }).email, 'ops@hospital.example');
    assert.equal((await b.req('DELETE', `${ADMIN}/api/session`)).status, 204);
    b.cookie = `charter_admin=${sessionId}`;
    assert.equal((await b.req('GET', `${ADMIN}/api/overview`)).status, 401);
  });

  test('CSRF: state-changing requests need the own Origin and the session token', async () => {
    const b = new Browser(gw.url);
    await b.signIn('ops@hospital.example');
    const body = { reason: 'x' };
    const path = `${ADMIN}/api/instances/ins_nothing/revoke`;
    const evil = await b.req('POST', path, body, { origin: 'http://127.0.0.1:1' });
    assert.deepEqual([evil.status, evil.json.error], [403, 'forbidden']);
    assert.match(String(evil.json.error_description), /cross-origin/);
    const noOrigin = await b.req('POST', path, body, { origin: '' });
    assert.deepEqual([noOrigin.status, noOrigin.json.error], [403, 'forbidden']);
    const token = b.csrf;
    b.csrf = '';
    const noToken = await b.req('POST', path, body);
    assert.deepEqual([noToken.status, noToken.json.error], [403, 'forbidden']);
    b.csrf = 'A'.repeat(43);
    assert.equal((await b.req('POST', path, body)).status, 403);
    b.csrf = token;
    // With both, the request reaches the route (and the instance does not exist).
    assert.equal((await b.req('POST', path, body)).status, 404);
    // Login CSRF: a cross-origin sign-in is refused too.
    const other = new Browser(gw.url);
    const login = await other.req(
      'POST',
      `${ADMIN}/api/session`,
      { email: 'ops@hospital.example', password: PASSWORD },
      { origin: 'https://evil.example' },
    );
    assert.equal(login.status, 403);
    // Refused attempts by a signed-in operator are in the audit chain.
    const entries = await store.auditEntries(0, 100_000);
    assert.ok(entries.some((e) => /"action":"auth.forbidden"/.test(e.entry)));
  });

  test('lockout: 5 failures lock the account, even against the right password; audited', async () => {
    const b = new Browser(gw.url);
    for (let i = 0; i < 5; i++) {
      const r = await b.trySignIn('locked@hospital.example', `wrong password ${i}`);
      assert.deepEqual([r.status, r.json.error], [401, 'unauthorized']);
    }
    const r = await b.trySignIn('locked@hospital.example');
    assert.deepEqual([r.status, r.json.error], [429, 'rate_limited']);
    const entries = (await store.auditEntries(0, 100_000)).map((e) => JSON.parse(e.entry));
    assert.ok(entries.some((e) => e.kind === 'admin' && e.action === 'auth.lockout'));
    assert.ok(entries.some((e) => e.kind === 'admin' && e.action === 'auth.fail'));
  });

  test('traffic, refusals, local revocation, license upload, audit verification, report export', async () => {
    const b = new Browser(gw.url);
    await b.signIn('ops@hospital.example');
    const client = createCharterClient({
      baseUrl: gw.url,
      charter,
      platform: 'server',
      keyStore: new MemoryKeyStore(),
    });
    for (let i = 0; i < 3; i++) assert.equal((await client.fetch(`/orders/${i}`)).status, 200);
    // A forged request: refused, in the audit chain.
    assert.equal((await fetch(`${gw.url}/orders/1`)).status, 401);

    const t = await b.req('GET', `${ADMIN}/api/traffic?minutes=5`);
    assert.equal(t.status, 200);
    const apps = t.json.apps as { app_id: string; admitted: number[] }[];
    const beta = apps.find((a) => a.app_id === 'app_beta');
    assert.ok(beta, 'app_beta appears in the traffic');
    assert.ok(beta.admitted.reduce((s, v) => s + v, 0) >= 3);
    assert.equal((await b.req('GET', `${ADMIN}/api/traffic?minutes=abc`)).status, 400);

    const refusals = await b.req('GET', `${ADMIN}/api/refusals`);
    const codes = (refusals.json.by_code as { code: string }[]).map((c) => c.code);
    assert.ok(codes.includes('invalid_token'), `refusal codes: ${codes.join(',')}`);

    const instanceId = client.instance?.instance_id as string;
    const found = await b.req('GET', `${ADMIN}/api/instances?q=${instanceId.slice(0, 10)}`);
    assert.ok((found.json.instances as { instance_id: string }[]).some((i) => i.instance_id === instanceId));

    const rv = await b.req('POST', `${ADMIN}/api/instances/${instanceId}/revoke`, { reason: 'lost device' });
    assert.equal(rv.status, 200);
    const refused = await client.fetch('/orders/9').then(
      (r) => r.status,
      (e: { code?: string }) => e.code,
    );
    assert.ok(refused === 'instance_revoked' || refused === 403, String(refused));

    // License upload: a higher serial is installed and in force at once.
    const up = await b.req('POST', `${ADMIN}/api/license`, { license: await makeLicense(vendor, 2) });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.deepEqual([up.json.serial, up.json.previous_serial, up.json.installed], [2, 1, true]);
    assert.equal(gw.gateway.license.serial, 2);
    // The local revocation survives the new license (it only ever tightens).
    const still = await client.fetch('/orders/10').then(
      (r) => r.status,
      (e: { code?: string }) => e.code,
    );
    assert.ok(still === 'instance_revoked' || still === 403);
    // Refusals of the install path come back as 4xx with the reason.
    const older = await b.req('POST', `${ADMIN}/api/license`, { license: await makeLicense(vendor, 1) });
    assert.deepEqual([older.status, older.json.error], [422, 'license_invalid']);
    const forged = await b.req('POST', `${ADMIN}/api/license`, {
      license: await makeLicense(await makeVendor('evil'), 9),
    });
    assert.deepEqual([forged.status, forged.json.error], [422, 'license_invalid']);
    const junk = await b.req('POST', `${ADMIN}/api/license`, { license: 'not a license' });
    assert.deepEqual([junk.status, junk.json.error], [400, 'invalid_request']);

    const overview = await b.req('GET', `${ADMIN}/api/overview`);
    assert.equal(overview.json.serial, 2);
    assert.equal((overview.json.local_revocations as unknown[]).length, 1);
    // How old the bundled Android revocation snapshot is, and what the license adds (issue 11).
    const ageDays = Math.floor((Date.now() - Date.parse('2019-08-14T00:00:00Z')) / 86_400_000);
    assert.deepEqual(overview.json.android_revocation, {
      snapshot_date: '2019-08-14',
      snapshot_age_days: ageDays,
      snapshot_serials: 4,
      license_serials: 0,
    });

    const verify = await b.req('POST', `${ADMIN}/api/audit/verify`, {});
    assert.equal(verify.json.ok, true);
    assert.ok(verifyAuditChain(await store.auditEntries(0, 100_000)).ok);

    const report = await b.req('POST', `${ADMIN}/api/report`, {});
    assert.equal(report.status, 200, JSON.stringify(report.json));
    assert.equal(report.json.seq, 1);
    assert.match(String(report.json.token), /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const again = await b.req('GET', `${ADMIN}/api/report/latest`);
    assert.deepEqual([again.json.seq, again.json.token], [1, report.json.token]);

    const activity = await b.req('GET', `${ADMIN}/api/activity`);
    const actions = (activity.json.admin as { action: string; actor: string }[]).map(
      (a) => `${a.actor} ${a.action}`,
    );
    for (const a of [
      'instance.revoke',
      'license.install',
      'license.refused',
      'audit.verify',
      'report.export',
    ])
      assert.ok(actions.includes(`ops@hospital.example ${a}`), `${a} audited with the operator: ${actions}`);
  });

  test('on its own address (--admin-listen): the same console, accepting only its own origin', async () => {
    const own = await startConsoleServer({ gateway: gw.gateway, host: '127.0.0.1', port: 0 });
    try {
      const origin = new URL(own.url).origin;
      assert.equal(own.url, `${origin}/charter/admin/`);
      const root = await fetch(origin, { redirect: 'manual' });
      assert.deepEqual([root.status, root.headers.get('location')], [302, '/charter/admin/']);
      const b = new Browser(origin);
      assert.equal((await b.signIn('ops@hospital.example')).status, 200);
      assert.equal((await b.req('GET', `${ADMIN}/api/overview`)).json.serial, 2);
      // The gateway's main origin is another origin for this listener.
      const cross = await b.req('POST', `${ADMIN}/api/audit/verify`, {}, { origin: gw.url });
      assert.equal(cross.status, 403);
      assert.equal((await b.req('POST', `${ADMIN}/api/audit/verify`, {})).json.ok, true);
    } finally {
      await own.close();
    }
  });

  test('fast-check: arbitrary JSON bodies on every POST route get 2xx or a 4xx error object, never a 500', async () => {
    const b = new Browser(gw.url);
    await b.signIn('ops@hospital.example');
    const routes = [
      `${ADMIN}/api/license`,
      `${ADMIN}/api/instances/ins_x/revoke`,
      `${ADMIN}/api/audit/verify`,
      `${ADMIN}/api/session`,
    ];
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        license: fc.string({ maxLength: 400 }),
        filename: fc.option(fc.string(), { nil: undefined }),
      }),
      fc.record({
        license: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{1,80}\.[A-Za-z0-9_-]{1,40}$/),
      }),
      fc.record({ reason: fc.oneof(fc.string({ maxLength: 600 }), fc.integer(), fc.constant(null)) }),
      fc.string({ maxLength: 50 }).map((s) => `{${s}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async (route, value) => {
        const raw = typeof value === 'string' && value.startsWith('{') ? value : JSON.stringify(value);
        const r = await b.req('POST', route, raw);
        assert.ok(r.status < 500, `${route} ${raw.slice(0, 80)} → ${r.status}`);
        if (r.status >= 400) {
          assert.equal(typeof r.json.error, 'string');
          assert.equal(typeof r.json.error_description, 'string');
        }
        // Sign-in attempts with junk must not lock this test's operator out: it never sends its email.
      }),
      { numRuns: 150 },
    );
    assert.equal(gw.gateway.license.serial, 2, 'no junk was installed');
  });

  test('the upload takes a revocation update: in force at once, shown in the overview; older, foreign or looser ones refused', async () => {
    const b = new Browser(gw.url);
    await b.signIn('ops@hospital.example');
    const client = createCharterClient({
      baseUrl: gw.url,
      charter,
      platform: 'server',
      keyStore: new MemoryKeyStore(),
    });
    assert.equal((await client.fetch('/orders/1')).status, 200);
    const t = Math.floor(Date.now() / 1000);
    const update = (over: Partial<RevocationsClaims>, v: TestVendor = vendor) =>
      signRevocations(
        {
          iss: v.id,
          sub: 'site_a',
          jti: `rvu_${Math.random().toString(36).slice(2)}`,
          serial: 3,
          license_serial: 2,
          iat: t - 10,
          nbf: t - 10,
          exp: t + 86400,
          revoked: { apps: ['app_beta'] },
          keys: [v.delegation],
          ...over,
        },
        v.signer,
      );
    const up = await b.req('POST', `${ADMIN}/api/license`, { license: await update({ jti: 'rvu_first' }) });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.deepEqual([up.json.kind, up.json.serial, up.json.installed], ['revocations', 3, true]);
    const refused = await client.fetch('/orders/2').then(
      (r) => r.status,
      (e: { code?: string }) => e.code,
    );
    assert.ok(refused === 'charter_revoked' || refused === 403, String(refused));
    const o = await b.req('GET', `${ADMIN}/api/overview`);
    assert.equal(o.json.admits_none, true);
    assert.deepEqual((o.json.revocation_update as { serial: number; in_force: boolean }).in_force, true);
    assert.deepEqual((o.json.revoked as { apps: string[] }).apps, ['app_beta']);
    for (const [bad, why] of [
      [await update({ serial: 3 }), 'ERR_REVOCATIONS_SERIAL_REUSED'],
      [await update({ serial: 2, license_serial: 1 }), 'ERR_REVOCATIONS_ROLLBACK'],
      [await update({ serial: 4, revoked: {} }), 'ERR_REVOCATIONS_LOOSEN'],
      [await update({ serial: 4, sub: 'site_b' }), 'ERR_REVOCATIONS_SITE'],
      [await update({ serial: 4 }, await makeVendor('acme')), 'ERR_KEY_DELEGATION'],
      [await update({ serial: 4, exp: t + 40 * 86400 }), 'ERR_CLAIMS'],
    ] as const) {
      const r = await b.req('POST', `${ADMIN}/api/license`, { license: bad });
      assert.deepEqual([r.status, r.json.error], [422, 'license_invalid'], why);
      const entries = await store.auditEntries(0, 100_000);
      assert.ok(entries.at(-1)?.entry.includes(why), `${why} audited: ${entries.at(-1)?.entry}`);
    }
    // Junk with the update's typ only ever gets a 4xx.
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 2 }), async (payload) => {
        const h = Buffer.from(
          JSON.stringify({ alg: 'EdDSA', typ: 'charter-revocations+jwt', kid: 'x' }),
        ).toString('base64url');
        const token = `${h}.${Buffer.from(JSON.stringify(payload) ?? 'null').toString('base64url')}.c2ln`;
        const r = await b.req('POST', `${ADMIN}/api/license`, { license: token });
        assert.ok(r.status >= 400 && r.status < 500, String(r.status));
      }),
      { numRuns: 40 },
    );
    const activity = await b.req('GET', `${ADMIN}/api/activity`);
    assert.ok((activity.json.admin as { action: string }[]).some((a) => a.action === 'revocations.install'));
    assert.equal(gw.gateway.revocationUpdates.update?.serial, 3);
  });
});
