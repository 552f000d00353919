/**
 * The portal's API over plain HTTP: sign-in, lockout, sessions and cookie flags, CSRF (token and
 * Origin), roles on every route, publisher isolation, security headers, and that no input — JSON or
 * uploaded bytes — gets anything but a 4xx with `{ error, error_description }`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apk, selfSignedCert } from '@charter/binaries/testing';
import fc from 'fast-check';
import { Client, PASSWORD, portalFor, type Res, vendorWithAccounts } from './portal-helpers.ts';

type Setup = Awaited<ReturnType<typeof vendorWithAccounts>>;

function refused(r: Res, status: number, code: string): void {
  assert.equal(r.status, status, `${r.status} ${r.text}`);
  assert.equal(r.json.error, code, r.text);
  assert.equal(typeof r.json.error_description, 'string');
  assert.doesNotMatch(r.text, /\bat .*\.ts:\d+|stack/i);
}

const submission = {
  name: 'Beta Orders',
  scopes: ['orders:read', 'orders:write'],
  version: '2.1.0',
  androidPackage: 'com.beta.orders',
  androidCertSha256: ['ab'.repeat(32)],
  webOrigins: ['https://orders.beta.example'],
};

describe('portal API', () => {
  let v: Setup;
  let url: string;
  let close: () => Promise<void>;
  before(async () => {
    v = await vendorWithAccounts();
    const p = await portalFor(v);
    url = p.url;
    close = p.close;
  });
  after(() => close());

  test('security headers on pages and API answers', async () => {
    for (const path of ['/', '/api/session']) {
      const r = await fetch(url + path);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
    }
  });

  test('sign-in sets an HttpOnly SameSite=Strict cookie whose id is stored only hashed; sign-out ends it', async () => {
    const c = new Client(url);
    refused(await c.req('GET', '/api/session'), 401, 'unauthorized');
    const r = await c.signIn('PUB@beta.example');
    assert.equal(r.status, 200, r.text);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(
      cookie,
      /^charter_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    assert.doesNotMatch(cookie, /Secure/, 'plain http: no Secure flag');
    const id = c.cookie.split('=')[1] as string;
    const rows = v.db.prepare('SELECT id_hash FROM sessions').all() as { id_hash: string }[];
    assert.ok(rows.some((x) => x.id_hash === createHash('sha256').update(id).digest('hex')));
    assert.ok(!JSON.stringify(rows).includes(id));
    const me = await c.req('GET', '/api/session');
    assert.equal((me.json.user as { role: string }).role, 'publisher');
    assert.equal(me.json.csrf, c.csrf);
    assert.equal((await c.req('DELETE', '/api/session')).status, 204);
    refused(await c.req('GET', '/api/session'), 401, 'unauthorized');
    const events = v.vendor.listEvents().map((e) => `${e.actor} ${e.action}`);
    assert.ok(events.includes('pub@beta.example (publisher) auth.signin'));
    assert.ok(events.includes('pub@beta.example (publisher) auth.signout'));
  });

  test('wrong password and unknown email get the same 401', async () => {
    const a = await new Client(url).trySignIn('reviewer@acme.example', 'not the password!');
    const b = await new Client(url).trySignIn('nobody@acme.example', 'not the password!');
    refused(a, 401, 'unauthorized');
    refused(b, 401, 'unauthorized');
    assert.equal(a.json.error_description, b.json.error_description);
  });

  test('CSRF: a state-changing request needs the session token and the portal’s Origin', async () => {
    const c = new Client(url);
    await c.signIn('pub@beta.example');
    refused(await c.req('POST', '/api/publisher/submissions', submission, { csrf: false }), 403, 'forbidden');
    refused(
      await c.req('POST', '/api/publisher/submissions', submission, {
        headers: { 'x-csrf-token': 'x'.repeat(43) },
        csrf: false,
      }),
      403,
      'forbidden',
    );
    refused(
      await c.req('POST', '/api/publisher/submissions', submission, {
        headers: { origin: 'http://evil.example' },
      }),
      403,
      'forbidden',
    );
    refused(
      await c.req('POST', '/api/publisher/submissions', submission, { headers: { origin: 'null' } }),
      403,
      'forbidden',
    );
    const noOrigin = new Client(url, null);
    noOrigin.cookie = c.cookie;
    noOrigin.csrf = c.csrf;
    refused(await noOrigin.req('POST', '/api/publisher/submissions', submission), 403, 'forbidden');
    // Sign-in itself is refused from another origin (login CSRF).
    refused(await new Client(url, 'http://evil.example').trySignIn('pub@beta.example'), 403, 'forbidden');
    assert.equal(v.vendor.listSubmissions().length, 0, 'nothing was submitted');
    const ok = await c.req('POST', '/api/publisher/submissions', submission);
    assert.equal(ok.status, 200, ok.text);
  });

  test('roles are enforced on every route', async () => {
    const pub = new Client(url);
    await pub.signIn('pub@beta.example');
    const rev = new Client(url);
    await rev.signIn('reviewer@acme.example');
    const adm = new Client(url);
    await adm.signIn('admin@acme.example');
    const sub = v.vendor.listSubmissions()[0]?.id ?? 'sub_x';
    const routes: [string, string, unknown, string[]][] = [
      ['GET', '/api/publisher/apps', undefined, ['publisher']],
      ['POST', '/api/publisher/submissions', submission, ['publisher']],
      ['GET', `/api/publisher/submissions/${sub}/charter`, undefined, ['publisher']],
      ['GET', '/api/review/queue', undefined, ['reviewer']],
      ['GET', `/api/review/submissions/${sub}`, undefined, ['reviewer']],
      ['POST', `/api/review/submissions/${sub}/approve`, { ttl: '1d' }, ['reviewer']],
      ['POST', `/api/review/submissions/${sub}/reject`, { reason: 'no' }, ['reviewer']],
      ['GET', '/api/admin/overview', undefined, ['admin']],
      ['POST', '/api/admin/sites', { name: 'X' }, ['admin']],
      ['POST', '/api/admin/licenses', { siteId: 'site_x', appIds: ['app_x'], ttl: '1d' }, ['admin']],
      ['POST', '/api/admin/revocations', { kind: 'app', target: 'app_x', reason: 'r' }, ['admin']],
      ['POST', '/api/admin/reports', { reports: ['x'] }, ['admin']],
      ['GET', '/api/admin/events', undefined, ['admin']],
      ['GET', '/api/admin/licenses/lic_x/download', undefined, ['admin']],
      ['POST', '/api/admin/publishers', { name: 'X' }, ['admin']],
      ['POST', '/api/admin/users', { email: 'x@x.example', role: 'reviewer', password: PASSWORD }, ['admin']],
    ];
    for (const [method, path, body, allowed] of routes) {
      for (const [role, c] of [
        ['publisher', pub],
        ['reviewer', rev],
        ['admin', adm],
      ] as const) {
        if (allowed.includes(role)) continue;
        refused(await c.req(method, path, body), 403, 'forbidden');
      }
      refused(await new Client(url).req(method, path, body), 401, 'unauthorized');
    }
    const forbidden = v.vendor.listEvents().filter((e) => e.action === 'auth.forbidden');
    assert.ok(
      forbidden.some(
        (e) => e.actor === 'pub@beta.example (publisher)' && e.subject === 'GET /api/review/queue',
      ),
    );
  });

  test('the admin adds publishers and accounts; the new publisher signs in and submits', async () => {
    const adm = new Client(url);
    await adm.signIn('admin@acme.example');
    const pubRes = await adm.req('POST', '/api/admin/publishers', { name: 'Delta Health' });
    assert.equal(pubRes.status, 200);
    const publisherId = pubRes.json.publisher_id as string;
    const made = await adm.req('POST', '/api/admin/users', {
      email: 'dev@delta.example',
      role: 'publisher',
      publisherId,
      password: PASSWORD,
    });
    assert.equal(made.status, 200);
    assert.equal(made.json.role, 'publisher');
    const overview = await adm.req('GET', '/api/admin/overview');
    assert.ok((overview.json.publishers as { id: string }[]).some((p) => p.id === publisherId));
    const dev = new Client(url);
    await dev.signIn('dev@delta.example');
    const sub = await dev.req('POST', '/api/publisher/submissions', { ...submission, name: 'Delta Orders' });
    assert.equal(sub.status, 200);
    assert.equal(v.vendor.submission(sub.json.submission_id as string).publisher_id, publisherId);
    // Refusals are the engine's: a short password and a duplicate (conflict), a publisher account
    // without a publisher (bad input: invalid_request).
    refused(
      await adm.req('POST', '/api/admin/users', {
        email: 'a@b.example',
        role: 'reviewer',
        password: 'short',
      }),
      409,
      'conflict',
    );
    refused(
      await adm.req('POST', '/api/admin/users', {
        email: 'dev@delta.example',
        role: 'reviewer',
        password: PASSWORD,
      }),
      409,
      'conflict',
    );
    refused(
      await adm.req('POST', '/api/admin/users', {
        email: 'c@d.example',
        role: 'publisher',
        password: PASSWORD,
      }),
      400,
      'invalid_request',
    );
    refused(
      await adm.req('POST', '/api/admin/users', { email: 'c@d.example', role: 'root', password: PASSWORD }),
      400,
      'invalid_request',
    );
    const added = v.vendor
      .listEvents()
      .filter((e) => e.action === 'user.add' && e.actor === 'admin@acme.example (admin)');
    assert.equal(added.length, 1);
  });

  test('a publisher sees only its own submissions; a reviewer decides, recorded with email and role', async () => {
    const pub = new Client(url);
    await pub.signIn('pub@beta.example');
    const mine = await pub.req('POST', '/api/publisher/submissions', { ...submission, name: 'Isolated' });
    const id = mine.json.submission_id as string;
    const other = new Client(url);
    await other.signIn('pub@gamma.example');
    refused(await other.req('GET', `/api/publisher/submissions/${id}/charter`), 404, 'not_found');
    refused(
      await other.req('POST', `/api/publisher/submissions/${id}/binary`, undefined, {
        raw: Buffer.from('x'),
      }),
      404,
      'not_found',
    );
    const list = await other.req('GET', '/api/publisher/apps');
    assert.equal((list.json.submissions as unknown[]).length, 0);
    // Resubmitting another publisher's app is refused by the engine.
    const steal = await other.req('POST', '/api/publisher/submissions', {
      ...submission,
      appId: mine.json.app_id,
    });
    refused(steal, 409, 'conflict');

    refused(await pub.req('GET', `/api/publisher/submissions/${id}/charter`), 404, 'not_found');
    const rev = new Client(url);
    await rev.signIn('reviewer@acme.example');
    const detail = await rev.req('GET', `/api/review/submissions/${id}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.json.previous, null);
    const approved = await rev.req('POST', `/api/review/submissions/${id}/approve`, { ttl: '30d' });
    assert.equal(approved.status, 200, approved.text);
    refused(await rev.req('POST', `/api/review/submissions/${id}/approve`, { ttl: '30d' }), 409, 'conflict');
    const charter = await pub.req('GET', `/api/publisher/submissions/${id}/charter`);
    assert.equal(charter.status, 200);
    assert.match(
      charter.headers.get('content-disposition') ?? '',
      /attachment; filename="app_[a-z0-9]+\.charter"/,
    );
    assert.equal(charter.text.split('.').length, 3);
    const e = v.vendor.listEvents().find((x) => x.action === 'app.approve' && x.subject === id);
    assert.equal(e?.actor, 'reviewer@acme.example (reviewer)');

    // A new version: the reviewer sees what changed since the approved charter.
    const next = await pub.req('POST', '/api/publisher/submissions', {
      ...submission,
      name: 'Isolated',
      appId: mine.json.app_id,
      version: '2.2.0',
      scopes: ['orders:read', 'orders:admin'],
    });
    const d2 = await rev.req('GET', `/api/review/submissions/${next.json.submission_id}`);
    const changes = d2.json.changes as {
      field: string;
      change: string;
      before: string | null;
      after: string | null;
    }[];
    assert.deepEqual(
      changes.map((c) => `${c.change} ${c.field} ${c.before ?? ''}→${c.after ?? ''}`),
      ['changed version 2.1.0→2.2.0', 'added scope →orders:admin', 'removed scope orders:write→'],
    );
  });

  test('binary upload: APK facts recorded beside the submission with mismatches flagged; garbage refused', async () => {
    const pub = new Client(url);
    await pub.signIn('pub@beta.example');
    const s = await pub.req('POST', '/api/publisher/submissions', submission);
    const cert = selfSignedCert();
    const file = apk({ package: 'com.beta.orders', versionCode: 7, versionName: '2.1.0' }, cert.der);
    const up = await pub.req('POST', `/api/publisher/submissions/${s.json.submission_id}/binary`, undefined, {
      raw: file,
      headers: { 'x-filename': 'orders.apk' },
    });
    assert.equal(up.status, 200, up.text);
    const oddName = await pub.req(
      'POST',
      `/api/publisher/submissions/${s.json.submission_id}/binary`,
      undefined,
      {
        raw: file,
        headers: { 'x-filename': '%E0%A4%A<script>.apk' },
      },
    );
    assert.equal(oddName.status, 200, oddName.text);
    assert.equal(oddName.json.filename, 'upload.apk', 'a malformed escape falls back to a plain name');
    const tagName = await pub.req(
      'POST',
      `/api/publisher/submissions/${s.json.submission_id}/binary`,
      undefined,
      {
        raw: file,
        headers: { 'x-filename': encodeURIComponent('<img src=x>.apk') },
      },
    );
    assert.equal(tagName.json.filename, '_img src_x_.apk');
    const checks = up.json.checks as { field: string; match: boolean; found: string }[];
    assert.deepEqual(
      checks.map((c) => [c.field, c.match]),
      [
        ['android package', true],
        ['signing certificate SHA-256', false],
        ['version', true],
      ],
    );
    assert.equal(checks[1]?.found, cert.sha256);
    const bad = await pub.req(
      'POST',
      `/api/publisher/submissions/${s.json.submission_id}/binary`,
      undefined,
      {
        raw: Buffer.from('PK\u0003\u0004 not really a zip'),
      },
    );
    refused(bad, 400, 'invalid_request');
    refused(
      await pub.req('POST', `/api/publisher/submissions/${s.json.submission_id}/binary`, undefined, {
        raw: '',
      }),
      400,
      'invalid_request',
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (bytes) => {
        const r = await pub.req(
          'POST',
          `/api/publisher/submissions/${s.json.submission_id}/binary`,
          undefined,
          {
            raw: Buffer.from(bytes),
          },
        );
        refused(r, 400, 'invalid_request');
      }),
      { numRuns: 60 },
    );
  });

  test('malformed requests get a 4xx JSON error, never a 500', async () => {
    const pub = new Client(url);
    await pub.signIn('pub@beta.example');
    const adm = new Client(url);
    await adm.signIn('admin@acme.example');
    refused(
      await pub.req('POST', '/api/publisher/submissions', undefined, {
        raw: '{"name":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'invalid_request',
    );
    refused(
      await pub.req('POST', '/api/publisher/submissions', { ...submission, extra: 1 }),
      400,
      'invalid_request',
    );
    refused(
      await pub.req('POST', '/api/publisher/submissions', { ...submission, scopes: 'orders:read' }),
      400,
      'invalid_request',
    );
    refused(
      await pub.req('POST', '/api/publisher/submissions', { ...submission, scopes: ['bad scope!'] }),
      400,
      'invalid_request',
    );
    refused(
      await pub.req('POST', '/api/publisher/submissions', undefined, {
        raw: 'x',
        headers: { 'content-type': 'text/xml' },
      }),
      415,
      'invalid_request',
    );
    refused(
      await pub.req('POST', '/api/publisher/submissions', { ...submission, notes: 'x'.repeat(2_000_000) }),
      413,
      'invalid_request',
    );
    refused(await pub.req('GET', '/api/publisher/submissions/..%2f..%2fetc/charter'), 400, 'invalid_request');
    refused(await pub.req('GET', '/api/nothing-here'), 404, 'not_found');
    refused(
      await adm.req('POST', '/api/admin/licenses', { siteId: 'site_x', appIds: ['a'], ttl: 'forever' }),
      400,
      'invalid_request',
    );
    const rep = await adm.req('POST', '/api/admin/reports', { reports: ['not.a.report'] });
    assert.equal(rep.status, 200, rep.text);
    assert.equal(
      (rep.json.verdict as { ok: boolean }).ok,
      false,
      'an unreadable report is a finding, not an error',
    );
  });

  test('fast-check: arbitrary JSON bodies on every POST route get 2xx or a 4xx error object', async () => {
    const pub = new Client(url);
    await pub.signIn('pub@beta.example');
    const rev = new Client(url);
    await rev.signIn('reviewer@acme.example');
    const adm = new Client(url);
    await adm.signIn('admin@acme.example');
    const sub = v.vendor.listSubmissions('pending')[0]?.id as string;
    const targets: [Client, string][] = [
      [pub, '/api/publisher/submissions'],
      [rev, `/api/review/submissions/${sub}/reject`],
      [rev, `/api/review/submissions/${sub}/approve`],
      [adm, '/api/admin/sites'],
      [adm, '/api/admin/licenses'],
      [adm, '/api/admin/revocations'],
      [adm, '/api/admin/reports'],
    ];
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({
        name: fc.oneof(fc.string(), fc.integer()),
        scopes: fc.array(fc.string({ maxLength: 30 }), { maxLength: 4 }),
        ttl: fc.oneof(fc.constantFrom('1d', '0s', '99999y', '-1d', ''), fc.string({ maxLength: 8 })),
        reason: fc.string({ maxLength: 20 }),
        reports: fc.array(fc.string({ maxLength: 60 }), { maxLength: 3 }),
        kind: fc.constantFrom('app', 'charter', 'instance', 'other'),
        target: fc.string({ maxLength: 20 }),
        siteId: fc.string({ maxLength: 20 }),
        appIds: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), body, async ([c, path], b) => {
        const r = await c.req('POST', path, b);
        assert.ok(r.status < 500, `${path} ${JSON.stringify(b)} → ${r.status} ${r.text}`);
        if (r.status >= 400) {
          assert.equal(typeof r.json.error, 'string', r.text);
          assert.equal(typeof r.json.error_description, 'string', r.text);
        }
      }),
      { numRuns: 250 },
    );
  });
});

describe('lockout', () => {
  test('5 failures lock the account for 15 minutes, even against the right password; recorded', async () => {
    const v = await vendorWithAccounts();
    const p = await portalFor(v);
    try {
      for (let i = 0; i < 5; i++)
        refused(
          await new Client(p.url).trySignIn('reviewer@acme.example', `wrong ${i}`),
          401,
          'unauthorized',
        );
      refused(await new Client(p.url).trySignIn('reviewer@acme.example', 'wrong again'), 429, 'rate_limited');
      const locked = await new Client(p.url).trySignIn('reviewer@acme.example', PASSWORD);
      refused(locked, 429, 'rate_limited');
      assert.match(locked.json.error_description as string, /locked/);
      // Other accounts are unaffected.
      assert.equal((await new Client(p.url).signIn('admin@acme.example')).status, 200);
      const row = v.db
        .prepare("SELECT locked_until FROM users WHERE email = 'reviewer@acme.example'")
        .get() as {
        locked_until: number;
      };
      assert.ok(row.locked_until - Date.now() / 1000 > 14 * 60);
      assert.ok(v.vendor.listEvents().some((e) => e.action === 'auth.lockout'));
      // An unknown email locks the same way, so lockout says nothing about which accounts exist.
      for (let i = 0; i < 5; i++) await new Client(p.url).trySignIn('ghost@acme.example', 'nope nope nope');
      refused(await new Client(p.url).trySignIn('ghost@acme.example', 'nope nope nope'), 429, 'rate_limited');
    } finally {
      await p.close();
    }
  });

  test('20 failures from one address block that address for every account', async () => {
    const v = await vendorWithAccounts();
    const p = await portalFor(v);
    try {
      for (let i = 0; i < 20; i++)
        await new Client(p.url).trySignIn(`user${i}@acme.example`, 'wrong password!');
      refused(await new Client(p.url).trySignIn('admin@acme.example'), 429, 'rate_limited');
    } finally {
      await p.close();
    }
  });
});

describe('behind TLS', () => {
  test('with an https public URL the cookie is __Host- and Secure, and only that origin is accepted', async () => {
    const v = await vendorWithAccounts();
    const p = await portalFor(v, { publicUrl: 'https://portal.acme.example' });
    try {
      const c = new Client(p.localUrl, 'https://portal.acme.example');
      const r = await c.signIn('admin@acme.example');
      assert.equal(r.status, 200, r.text);
      assert.match(
        r.headers.get('set-cookie') ?? '',
        /^__Host-charter_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
      );
      assert.match(r.headers.get('strict-transport-security') ?? '', /max-age=/);
      refused(await new Client(p.localUrl, p.localUrl).trySignIn('admin@acme.example'), 403, 'forbidden');
    } finally {
      await p.close();
    }
  });
});
