/**
 * Issue 10 item 9: CSRF is decided on the route the router matched, not on the raw URL. A signed-in
 * session's cookie is sent without `Origin` and without the CSRF token to every state-changing route
 * of the gateway's admin console (a real `charter gateway start`) and of the vendor portal (a real
 * `charter vendor serve`), under every spelling a router may send to that route: `%61pi`, other
 * encoded letters, `%2F`, double slashes, case, trailing slash, `;`, dot segments. Each is refused
 * (403, or 404 where nothing is routed) and nothing changes; the same request with `Origin` and token
 * still works.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCaptured } from '@charter/cli';
import { makeLicense } from '../../gateway/test/helpers.ts';
import {
  type ExpressHost,
  expressHost,
  makeSite,
  rawCall,
  rawRequest,
  registeredClient,
  type Site,
} from './hosts.ts';
import { type Started, startGatewayProcess, startPortalProcess } from './processes.ts';

const PASSWORD = 'correct horse battery staple';

// biome-ignore lint/suspicious/noExplicitAny: each command answers with its own JSON object.
async function cli(...args: string[]): Promise<any> {
  const r = await runCaptured([...args, '--json'], {
    ...process.env,
    CHARTER_PASSPHRASE: 'e2e passphrase',
    CHARTER_ACTOR: 'e2e',
    CHARTER_PASSWORD: PASSWORD,
  });
  assert.equal(r.code, 0, `charter ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.json;
}

/**
 * Spellings of `path` (which starts with `/api/`) under `prefix` that a router may send to the
 * route of `prefix + path`, or that it may read some other way.
 */
function variants(prefix: string, path: string): string[] {
  const rest = path.slice('/api'.length); // `/x/y`
  const out = [
    `${prefix}/%61pi${rest}`,
    `${prefix}/a%70i${rest}`,
    `${prefix}/%61%70%69${rest}`,
    `${prefix}/api/%${rest.charCodeAt(1).toString(16)}${rest.slice(2)}`,
    `${prefix}/%2561pi${rest}`,
    `${prefix}//api${rest}`,
    `${prefix}/api/${rest}`,
    `${prefix}/api%2F${rest.slice(1)}`,
    `${prefix}/API${rest}`,
    `${prefix}/Api${rest.toUpperCase()}`,
    `${prefix}/api${rest}/`,
    `${prefix}/api${rest};x=1`,
    `${prefix}/api;x=1${rest}`,
    `${prefix}/./api${rest}`,
    `${prefix}/x/../api${rest}`,
    `${prefix}/%2e/api${rest}`,
    `${prefix}/api${rest}?x=1`,
  ];
  if (prefix !== '') {
    out.push(`/%63harter${prefix.slice('/charter'.length)}${path}`);
    out.push(`/charter/%61dmin${path}`);
    out.push(`/charter/admin${path}`.replace('/admin/api/', '/admin/%61pi/'));
  }
  return out;
}

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(base: string, path: string, email: string): Promise<Session> {
  const body = JSON.stringify({ email, password: PASSWORD });
  const r = await rawRequest(
    base,
    'POST',
    path,
    { origin: base, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  );
  assert.equal(r.status, 200, `sign-in ${email}: ${JSON.stringify(r.body)}`);
  const set = r.headers['set-cookie']?.[0] ?? '';
  return { cookie: set.split(';')[0] as string, csrf: r.body.csrf as string };
}

/** A state-changing request with the session's cookie; `csrf` adds Origin and the token. */
function send(
  base: string,
  method: string,
  path: string,
  session: Session | undefined,
  body: unknown,
  csrf = false,
): ReturnType<typeof rawRequest> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-length': String(text ? Buffer.byteLength(text) : 0) };
  if (text) headers['content-type'] = 'application/json';
  if (session) headers.cookie = session.cookie;
  if (csrf && session) {
    headers.origin = base;
    headers['x-csrf-token'] = session.csrf;
  }
  return rawRequest(base, method, path, headers, text);
}

/** Every variant of every route is refused as CSRF (403 forbidden) or not routed (404). */
async function attackAll(
  base: string,
  prefix: string,
  routes: { method: string; path: string; session?: Session; body?: unknown }[],
): Promise<void> {
  for (const route of routes) {
    for (const path of [`${prefix}${route.path}`, ...variants(prefix, route.path)]) {
      const r = await send(base, route.method, path, route.session, route.body);
      const why = `${route.method} ${path} → ${r.status} ${JSON.stringify(r.body)}`;
      // 401: the gateway's proxy took it for an API call without an access token (never forwarded).
      assert.ok([400, 401, 403, 404].includes(r.status), why);
      if (r.status === 401) assert.equal(r.body.error, 'invalid_token', why);
      if (r.status === 403) {
        assert.equal(r.body.error, 'forbidden', why);
        assert.match(String(r.body.error_description), /Origin|CSRF|cross-origin/, why);
      }
      // The route as written and its `%61pi` spelling are routed: refused as CSRF, not missed.
      if (path === `${prefix}${route.path}` || path === `${prefix}/%61pi${route.path.slice(4)}`)
        assert.equal(r.status, 403, why);
      // A 400 is only the gateway's own refusal of an unusable path, never a route's body check.
      if (r.status === 400) assert.doesNotMatch(String(r.body.error_description), /body|required|must/, why);
    }
  }
}

let site: Site;
before(async () => {
  site = await makeSite([]);
});
after(() => site.remove());

test('admin console on a real gateway: no state change without Origin and CSRF token, however spelled', async () => {
  const G = join(site.dir, 'G-console');
  await cli('gateway', 'user', 'add', '--home', G, '--email', 'ops@hospital-a.example');
  const upstream: ExpressHost = await expressHost();
  const gw: Started = await startGatewayProcess([
    '--home',
    G,
    '--license',
    site.licenseFile,
    '--trust',
    site.trustFile,
    '--upstream',
    upstream.url,
    '--listen',
    '127.0.0.1:0',
  ]);
  try {
    const base = gw.info.url as string;
    const client = await registeredClient(base, site.readOnly);
    assert.equal((await rawCall(client, 'GET', '/orders/1')).status, 200);
    const ops = await signIn(base, '/charter/admin/api/session', 'ops@hospital-a.example');
    const newer = await makeLicense(site.vendor, 2);
    await attackAll(base, '/charter/admin', [
      { method: 'POST', path: '/api/session', body: { email: 'ops@hospital-a.example', password: PASSWORD } },
      { method: 'DELETE', path: '/api/session', session: ops },
      {
        method: 'POST',
        path: `/api/instances/${client.instanceId}/revoke`,
        session: ops,
        body: { reason: 'csrf' },
      },
      { method: 'POST', path: '/api/audit/verify', session: ops, body: {} },
      { method: 'POST', path: '/api/license', session: ops, body: { license: newer } },
      { method: 'POST', path: '/api/report', session: ops, body: {} },
    ]);
    // Nothing happened: the session is alive, the instance admitted, no report, the license unchanged.
    const overview = await send(base, 'GET', '/charter/admin/api/overview', ops, undefined);
    assert.equal(overview.status, 200, JSON.stringify(overview.body));
    assert.equal(overview.body.serial, 1);
    assert.deepEqual(overview.body.local_revocations, []);
    assert.equal((await send(base, 'GET', '/charter/admin/api/report/latest', ops, undefined)).body.seq, 0);
    assert.equal((await rawCall(client, 'GET', '/orders/2')).status, 200);
    // The console itself still works with Origin and token.
    const revoked = await send(
      base,
      'POST',
      `/charter/admin/api/instances/${client.instanceId}/revoke`,
      ops,
      { reason: 'test' },
      true,
    );
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal((await rawCall(client, 'GET', '/orders/3')).body.error, 'instance_revoked');
  } finally {
    await gw.stop();
    await upstream.close();
  }
});

test('vendor portal (vendor serve): no state change without Origin and CSRF token, however spelled', async () => {
  const V = join(site.dir, 'V');
  await cli('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme');
  const { publisher_id } = await cli('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps');
  await cli(
    'vendor',
    'user',
    'add',
    '--home',
    V,
    '--email',
    'pub@beta.example',
    '--role',
    'publisher',
    '--publisher',
    publisher_id,
  );
  await cli('vendor', 'user', 'add', '--home', V, '--email', 'rev@acme.example', '--role', 'reviewer');
  await cli('vendor', 'user', 'add', '--home', V, '--email', 'admin@acme.example', '--role', 'admin');
  const sub = await cli(
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Beta Orders',
    '--scopes',
    'orders:read',
    '--server',
  );
  const { site_id } = await cli('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A');
  const portal = await startPortalProcess(V);
  try {
    const base = portal.url;
    const admin = await signIn(base, '/api/session', 'admin@acme.example');
    const pub = await signIn(base, '/api/session', 'pub@beta.example');
    const rev = await signIn(base, '/api/session', 'rev@acme.example');
    const before = await send(base, 'GET', '/api/admin/overview', admin, undefined);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    const id = sub.submission_id as string;
    await attackAll(base, '', [
      { method: 'POST', path: '/api/session', body: { email: 'admin@acme.example', password: PASSWORD } },
      { method: 'DELETE', path: '/api/session', session: admin },
      {
        method: 'POST',
        path: '/api/publisher/submissions',
        session: pub,
        body: { name: 'Evil', scopes: ['orders:read'], platforms: { server: {} } },
      },
      { method: 'POST', path: `/api/publisher/submissions/${id}/binary`, session: pub, body: {} },
      { method: 'POST', path: `/api/review/submissions/${id}/binary`, session: rev, body: {} },
      { method: 'POST', path: `/api/review/submissions/${id}/approve`, session: rev, body: { ttl: '30d' } },
      { method: 'POST', path: `/api/review/submissions/${id}/reject`, session: rev, body: { reason: 'x' } },
      { method: 'POST', path: '/api/admin/publishers', session: admin, body: { name: 'Evil Pub' } },
      {
        method: 'POST',
        path: '/api/admin/users',
        session: admin,
        body: { email: 'evil@x.example', role: 'admin', password: PASSWORD },
      },
      { method: 'POST', path: '/api/admin/sites', session: admin, body: { name: 'Evil Site' } },
      {
        method: 'POST',
        path: '/api/admin/licenses',
        session: admin,
        body: { siteId: site_id, appIds: [sub.app_id], ttl: '30d' },
      },
      {
        method: 'POST',
        path: '/api/admin/revocations',
        session: admin,
        body: { kind: 'app', target: sub.app_id, reason: 'csrf' },
      },
      { method: 'POST', path: '/api/admin/reports', session: admin, body: { reports: [] } },
    ]);
    // Nothing changed: same overview, every session still signed in.
    const afterwards = await send(base, 'GET', '/api/admin/overview', admin, undefined);
    assert.equal(afterwards.status, 200, JSON.stringify(afterwards.body));
    assert.deepEqual(afterwards.body, before.body);
    for (const s of [pub, rev])
      assert.equal((await send(base, 'GET', '/api/session', s, undefined)).status, 200);
    // The portal itself still works with Origin and token.
    const made = await send(base, 'POST', '/api/admin/sites', admin, { name: 'Clinic B' }, true);
    assert.equal(made.status, 200, JSON.stringify(made.body));
  } finally {
    await portal.stop();
  }
});
