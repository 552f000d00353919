/**
 * The request bodies of the two web backends, through `inject` on real instances: the vendor portal
 * (a real vendor database in a temp dir, one account of each role signed in) and the gateway's admin
 * console (mounted on a real proxy-mode gateway, an operator signed in). Every route that takes a
 * body gets valid bodies mutated field by field, as text, and with the wrong content type, sent with
 * the right session and CSRF token most of the time (so the bodies reach the handlers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apk, ipa, selfSignedCert } from '@charter/binaries/testing';
import { addOperator, charterConsole } from '@charter/console';
import { openVendorDb, Users, Vendor } from '@charter/issuer';
import { startPortal } from '@charter/portal';
import type { FastifyInstance } from 'fastify';
import { mutateBytes } from '../bytes.ts';
import { type HttpInput, inject, mutateBody, mutateHeaders, mutatePath } from '../http.ts';
import { mutateJws } from '../jose.ts';
import type { Rng } from '../rng.ts';
import type { Harness, Target } from '../target.ts';
import { makeWorld } from '../world.ts';
import { startGatewayWorld } from './gateway.ts';

const PASSWORD = 'correct horse battery staple';

/** Routes that run one scrypt on purpose (sign-in, a new account): ten times the campaign's bound. */
const SCRYPT_ROUTE = /\/api\/(session|admin\/users)/;
function scryptBound(input: unknown, bound: number): number | undefined {
  const r = input as HttpInput;
  let url = r.url;
  try {
    url = decodeURIComponent(url);
  } catch {}
  return r.method === 'POST' && SCRYPT_ROUTE.test(url) ? bound * 10 : undefined;
}

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(app: FastifyInstance, url: string, origin: string, email: string): Promise<Session> {
  const r = await app.inject({
    method: 'POST',
    url,
    headers: { origin, 'content-type': 'application/json' },
    payload: JSON.stringify({ email, password: PASSWORD }),
  });
  const cookie = String(r.headers['set-cookie'] ?? '').split(';')[0] as string;
  const csrf = (JSON.parse(r.body) as { csrf?: string }).csrf;
  if (r.statusCode !== 200 || !csrf)
    throw new Error(`fuzz setup: sign-in ${email} failed: ${r.statusCode} ${r.body}`);
  return { cookie, csrf };
}

/** One route with a valid body and the session that may call it. */
interface RouteSeed {
  method: string;
  url: string;
  session?: number;
  body?: unknown;
  raw?: Uint8Array;
}

/** Mutate a route seed into a request: the body most of the time, sometimes the session, path or headers. */
function request(
  rng: Rng,
  seed: RouteSeed,
  sessions: Session[],
  origin: string,
  others: readonly unknown[],
): HttpInput {
  const headers: Record<string, string | string[]> = { origin };
  const s = seed.session === undefined ? undefined : sessions[seed.session];
  const r = rng.int(100);
  // The right session and CSRF token (most), another role's, none, or a wrong token.
  const who =
    r < 80
      ? s
      : r < 88
        ? rng.pick(sessions)
        : r < 94
          ? undefined
          : { cookie: s?.cookie ?? '', csrf: 'wrong' };
  if (who?.cookie) headers.cookie = who.cookie;
  if (who?.csrf) headers['x-csrf-token'] = who.csrf;
  let body: string | Uint8Array | undefined;
  if (seed.raw) {
    headers['content-type'] = 'application/octet-stream';
    body = rng.chance(0.1) ? seed.raw : mutateBytes(rng, seed.raw);
  } else if (seed.body !== undefined) {
    const m = rng.chance(0.08) ? { body: JSON.stringify(seed.body) } : mutateBody(rng, seed.body, others);
    headers['content-type'] = m.type ?? 'application/json';
    body = m.body;
  }
  let req: HttpInput = {
    method: seed.method,
    url: seed.url,
    headers,
    ...(body !== undefined ? { body } : {}),
  };
  const d = rng.int(100);
  if (d < 8) req = { ...req, headers: mutateHeaders(rng, req.headers) };
  else if (d < 14) req = { ...req, url: mutatePath(rng, req.url) };
  else if (d < 16) req = { ...req, method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) };
  return req;
}

export const portalBodies: Target = {
  name: 'portal-bodies',
  about:
    "the vendor portal's request bodies (sign-in, submissions, uploads, approvals, people, sites, licenses with activation, revocations, reports)",
  async setup(seed): Promise<Harness> {
    const w = await makeWorld(seed);
    const dir = mkdtempSync(join(tmpdir(), 'charter-fuzz-portal-'));
    const db = openVendorDb(join(dir, 'vendor.db'));
    const vendor = new Vendor(db, { name: 'fuzz (cli)' });
    await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a fuzz passphrase' });
    const { publisher_id } = vendor.addPublisher({ name: 'Beta Apps' });
    const users = new Users(db);
    for (const [email, role] of [
      ['pub@beta.example', 'publisher'],
      ['reviewer@acme.example', 'reviewer'],
      ['admin@acme.example', 'admin'],
    ] as const)
      await users.add({
        email,
        role,
        password: PASSWORD,
        actor: 'fuzz (cli)',
        ...(role === 'publisher' ? { publisherId: publisher_id } : {}),
      });
    const staticDir = mkdtempSync(join(dir, 'static-'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>stub</title>');
    const portal = await startPortal({ db, listen: '127.0.0.1:0', staticDir });
    const origin = portal.url.replace(/\/$/, '');
    const sessions = [
      await signIn(portal.app, '/api/session', origin, 'pub@beta.example'),
      await signIn(portal.app, '/api/session', origin, 'reviewer@acme.example'),
      await signIn(portal.app, '/api/session', origin, 'admin@acme.example'),
    ];
    const submission = {
      name: 'Beta Orders',
      scopes: ['orders:read', 'orders:write'],
      version: '1.2.0',
      notes: 'first',
      webOrigins: ['https://beta.example'],
      androidPackage: 'com.beta.orders',
      androidCertSha256: ['ab'.repeat(32)],
      iosTeamId: 'ABCDE12345',
      iosBundleId: 'com.beta.orders',
      server: true,
      attestation: 'required',
    };
    const sub = vendor.submitApp({ ...submission, publisherId: publisher_id } as never) as {
      submission_id: string;
    };
    const { site_id } = vendor.addSite({ name: 'Hospital A' });
    const cert = selfSignedCert();
    const id = sub.submission_id;
    const seeds: RouteSeed[] = [
      {
        method: 'POST',
        url: '/api/session',
        body: { email: 'nobody@x.example', password: 'wrong password here' },
      },
      { method: 'POST', url: '/api/publisher/submissions', session: 0, body: submission },
      {
        method: 'POST',
        url: `/api/publisher/submissions/${id}/binary`,
        session: 0,
        raw: apk({ package: 'com.beta.orders', versionCode: 1, versionName: '1.2.0' }, cert.der),
      },
      {
        method: 'POST',
        url: `/api/review/submissions/${id}/binary`,
        session: 1,
        raw: ipa({ bundleId: 'com.beta.orders', version: '1.2.0', teamId: 'ABCDE12345' }),
      },
      { method: 'POST', url: `/api/review/submissions/${id}/approve`, session: 1, body: { ttl: '180d' } },
      { method: 'POST', url: `/api/review/submissions/${id}/reject`, session: 1, body: { reason: 'no' } },
      { method: 'POST', url: '/api/admin/publishers', session: 2, body: { name: 'Gamma' } },
      {
        method: 'POST',
        url: '/api/admin/users',
        session: 2,
        body: { email: 'new@x.example', role: 'reviewer', password: PASSWORD },
      },
      { method: 'POST', url: '/api/admin/sites', session: 2, body: { name: 'Clinic' } },
      {
        method: 'POST',
        url: '/api/admin/licenses',
        session: 2,
        body: {
          siteId: site_id,
          appIds: ['app_beta'],
          ttl: '30d',
          mode: 'monitor',
          activation: w.activation,
        },
      },
      {
        method: 'POST',
        url: '/api/admin/revocations',
        session: 2,
        body: { kind: 'instance', target: 'ins_1', reason: 'lost' },
      },
      { method: 'POST', url: '/api/admin/revocations/updates', session: 2, body: { ttl: '7d' } },
      { method: 'POST', url: '/api/admin/reports', session: 2, body: { reports: w.reports } },
      { method: 'GET', url: `/api/publisher/submissions/${id}`, session: 0 },
      { method: 'GET', url: `/api/review/submissions/${id}`, session: 1 },
      { method: 'GET', url: '/api/admin/events', session: 2 },
      { method: 'DELETE', url: '/api/session', session: 0 },
    ];
    const bodies = seeds.map((s) => s.body).filter((b) => b !== undefined);
    return {
      seeds,
      generate(rng) {
        const s = rng.pick(seeds);
        // JWS fields (activation, reports) mutated as JWS part of the time.
        if (s.url === '/api/admin/licenses' && rng.chance(0.4))
          return request(
            rng,
            { ...s, body: { ...(s.body as object), activation: mutateJws(rng, w.activation, w.reports) } },
            sessions,
            origin,
            [],
          );
        if (s.url === '/api/admin/reports' && rng.chance(0.4))
          return request(
            rng,
            {
              ...s,
              body: { reports: w.reports.map((t) => (rng.chance(0.5) ? mutateJws(rng, t, w.reports) : t)) },
            },
            sessions,
            origin,
            [],
          );
        return request(rng, s, sessions, origin, bodies);
      },
      run: (input) => inject(portal.app, input as HttpInput),
      boundFor: scryptBound,
      async close() {
        await portal.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const consoleBodies: Target = {
  name: 'console-bodies',
  about:
    "the gateway admin console's request bodies (sign-in, instance revocation, license and revocation-update upload, audit verify, report export)",
  async setup(seed): Promise<Harness> {
    // The console is a plugin of the gateway's own listener: a world whose gateway carries it. Its
    // inputs stay on `inject`, as the portal's do (the console's routes are all Fastify's).
    const g = await startGatewayWorld(
      seed,
      async (app, gateway, store) => {
        await app.register(charterConsole, { gateway, store });
      },
      'inject',
    );
    const store = g.store;
    await addOperator(store, { email: 'op@site.example', password: PASSWORD, actor: 'fuzz (cli)' });
    const origin = g.gw.url;
    const app = g.gw.server;
    const sessions = [await signIn(app, '/charter/admin/api/session', origin, 'op@site.example')];
    const inst = (g.instances[0] as { id: string }).id;
    const P = '/charter/admin';
    const seeds: RouteSeed[] = [
      {
        method: 'POST',
        url: `${P}/api/session`,
        body: { email: 'nobody@site.example', password: 'wrong password here' },
      },
      {
        method: 'POST',
        url: `${P}/api/instances/${inst}/revoke`,
        session: 0,
        body: { reason: 'lost phone' },
      },
      { method: 'POST', url: `${P}/api/instances/ins_nope/revoke`, session: 0, body: { reason: 'x' } },
      {
        method: 'POST',
        url: `${P}/api/license`,
        session: 0,
        body: { license: g.w.license, filename: 'site.license' },
      },
      { method: 'POST', url: `${P}/api/license`, session: 0, body: { license: g.w.revocations } },
      { method: 'POST', url: `${P}/api/audit/verify`, session: 0, body: {} },
      { method: 'POST', url: `${P}/api/report`, session: 0, body: {} },
      { method: 'GET', url: `${P}/api/instances?q=app`, session: 0 },
      { method: 'GET', url: `${P}/api/traffic?minutes=60`, session: 0 },
      { method: 'GET', url: `${P}/api/overview`, session: 0 },
      { method: 'GET', url: `${P}/api/report/latest`, session: 0 },
    ];
    const artifacts = [g.w.license, g.w.revocations];
    const bodies = seeds.map((s) => s.body).filter((b) => b !== undefined);
    return {
      seeds,
      generate(rng) {
        const s = rng.pick(seeds);
        if (s.url.endsWith('/api/license') && rng.chance(0.5))
          // Never signed again here: an edited license that verified would be installed and change the site.
          return request(
            rng,
            { ...s, body: { license: mutateJws(rng, rng.pick(artifacts), artifacts) } },
            sessions,
            origin,
            [],
          );
        return request(rng, s, sessions, origin, bodies);
      },
      run: (input) => g.run({ req: input as HttpInput }),
      boundFor: scryptBound,
      close: () => g.close(),
    };
  },
};

export const WEB_TARGETS = [portalBodies, consoleBodies];
