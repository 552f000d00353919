/**
 * The admin console's backend: a Fastify plugin (fp idiom) that mounts, under `/charter/admin`, the
 * built SPA and a JSON API over the running {@link Gateway}. Security lives here for every route, with
 * the same parameters as the vendor portal (@charter/accounts): HttpOnly SameSite=Strict session
 * cookie, CSRF by Origin check plus a per-session token header, lockout, security headers, and
 * `{ error, error_description }` with a 4xx status for every bad input. Every action, and every
 * refused attempt by a signed-in operator, is appended to the gateway's hash-chained audit log.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  allowedOrigins as allowedOriginsOf,
  cookieValue,
  type LiveSession,
  originRefusal,
  SESSION_TTL,
  sameText,
  securityHeaders,
  sessionCookie,
  sessionCookieName,
} from '@charter/accounts';
import { ARTIFACT_TYP, artifactTypOf, CharterError, epochSeconds, statusOf } from '@charter/core';
import {
  addLocalRevocation,
  androidRevocationStatus,
  exportReport,
  type Gateway,
  type GatewayStore,
  REPORT_CHAIN_STATE,
  readLocalRevocations,
} from '@charter/gateway';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AuditView, verifyWholeChain } from './audit-view.ts';
import { auditAdmin, consoleAccounts, hasOperators, type Operator } from './operators.ts';
import { TrafficSeries, type TrafficWindow } from './traffic.ts';

/** Where the console is mounted. */
export const CONSOLE_PREFIX = '/charter/admin';

/** Largest license upload (a license is a few KiB of compact JWS). */
export const MAX_LICENSE_BYTES = 256 * 1024;

/** Options of {@link charterConsole}. */
export interface ConsoleOptions {
  /** The engine, or a promise of it (inside `startGateway`, which creates the engine after listening). */
  gateway: Gateway | Promise<Gateway>;
  /** The gateway's store (accounts, sessions, audit); defaults to the engine's. */
  store?: GatewayStore;
  /** The built SPA (packages/web/dist/console); without it only the API is served. */
  staticDir?: string;
  /**
   * The origins state-changing requests may come from. Default: the gateway's public URL, plus the
   * other loopback spellings of it when it is a loopback address.
   */
  allowedOrigins?: Iterable<string> | (() => Iterable<string>);
  /** Answer 404 while no operator exists (the default), so an unconfigured console is not there at all. */
  requireOperator?: boolean;
  /**
   * The traffic chart's source when this process is one of several gateway workers (the supervisor
   * sums every worker's series); default: this engine's own decisions.
   */
  traffic?: (now: number, minutes: number) => Promise<TrafficWindow>;
}

type OperatorSession = LiveSession<Omit<Operator, never> & { id: string; email: string }>;

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: OperatorSession | undefined;
  }
}

/** Methods that change nothing (RFC 9110 §9.2.1); every other method on a console route needs CSRF proof. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Route config of the sign-in route: its requests need the Origin check only (there is no session,
 * hence no token, yet). Every other route needs both, decided on the route the router matched.
 */
const SIGN_IN = { consoleCsrf: 'origin-only' } as const;

/** The matched route's pattern (with the /charter/admin prefix), or undefined when nothing matched. */
function routeOf(req: FastifyRequest): string | undefined {
  return req.is404 ? undefined : req.routeOptions.url;
}
const ID = /^[A-Za-z0-9._:~-]{1,128}$/;

/** Refuse with a catalogued code and a reason for the operator. */
function refuse(
  code: 'unauthorized' | 'forbidden' | 'invalid_request' | 'not_found' | 'unavailable',
  reason: string,
): never {
  throw new CharterError(code, `ERR_${code.toUpperCase()}`, reason);
}

/**
 * Check a JSON body: an object with exactly the listed string fields (optional ones marked `?`),
 * each at most its length; no coercion, no extra properties.
 */
function fields<K extends string>(body: unknown, spec: Record<K, number>): Record<K, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    refuse('invalid_request', 'the body must be a JSON object');
  const out: Record<string, string> = {};
  const names = new Map(Object.keys(spec).map((k) => [k.replace(/\?$/, ''), k]));
  for (const key of Object.keys(body)) {
    if (!names.has(key)) refuse('invalid_request', `unexpected property ${JSON.stringify(key.slice(0, 40))}`);
  }
  for (const [name, specKey] of names) {
    const value = (body as Record<string, unknown>)[name];
    const optional = specKey.endsWith('?');
    if (value === undefined) {
      if (!optional) refuse('invalid_request', `${name} is required`);
      continue;
    }
    if (typeof value !== 'string') refuse('invalid_request', `${name} must be a string`);
    if (value.length > spec[specKey as K]) refuse('invalid_request', `${name} is too long`);
    if (!optional && value.length === 0) refuse('invalid_request', `${name} is empty`);
    out[name] = value;
  }
  return out as Record<K, string>;
}

/** The console: see the module comment. Mount it on a gateway's Fastify instance (`app.register`). */
async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  let gateway: Gateway | undefined;
  const traffic = new TrafficSeries();
  const attach = (g: Gateway): void => {
    gateway = g;
    if (!options.traffic) g.onDecision((e) => traffic.record(e));
  };
  if (options.gateway instanceof Promise) void options.gateway.then(attach);
  else attach(options.gateway);
  const engine = (): Gateway => gateway ?? refuse('unavailable', 'the gateway is starting');
  const storeOf = (): GatewayStore => options.store ?? engine().store;
  let views:
    | { store: GatewayStore; audit: AuditView; accounts: ReturnType<typeof consoleAccounts> }
    | undefined;
  const parts = () => {
    const store = storeOf();
    if (views?.store !== store)
      views = { store, audit: new AuditView(store), accounts: consoleAccounts(store) };
    return views;
  };
  const requireOperator = options.requireOperator ?? true;
  let operatorSeen = false;
  const secureOf = (): boolean => (gateway?.base.href ?? '').startsWith('https:');
  const cookieBase = 'charter_admin';
  let origins: Set<string> | undefined;
  const originsOf = (): Set<string> => {
    if (origins) return origins;
    const given = options.allowedOrigins;
    // A function is asked each time: a stand-alone server knows its port only after listening.
    if (typeof given === 'function') return new Set(given());
    if (given) {
      origins = new Set(given);
      return origins;
    }
    const base = new URL(engine().base.href);
    const port = Number(base.port || (base.protocol === 'https:' ? 443 : 80));
    const host = base.hostname.replace(/^\[|\]$/g, '');
    origins = allowedOriginsOf({ host, port, secure: base.protocol === 'https:' });
    origins.add(base.origin);
    return origins;
  };
  const staticDir = options.staticDir ? resolve(options.staticDir) : undefined;
  if (staticDir && !existsSync(resolve(staticDir, 'index.html')))
    throw new CharterError(
      'not_found',
      'ERR_NO_SPA',
      `the console is not built: ${staticDir}/index.html is missing`,
    );

  app.decorateRequest('consoleSession', undefined);

  app.addHook('onRequest', async (req, reply) => {
    req.consoleSession = undefined;
    const { store, accounts } = parts();
    if (requireOperator && !operatorSeen) {
      // Not there at all until `charter gateway user add` made the first operator.
      if (!(await hasOperators(store)))
        refuse('not_found', 'the admin console has no operator yet: run `charter gateway user add`');
      operatorSeen = true;
    }
    const path = req.url.split('?')[0] ?? '';
    // `/charter/admin` without the slash: the SPA wants the folder form.
    if (path === CONSOLE_PREFIX && req.method === 'GET') return reply.redirect(`${CONSOLE_PREFIX}/`, 302);
    const secure = secureOf();
    const cookieName = sessionCookieName(cookieBase, secure);
    const s = await accounts.session(cookieValue(req.headers.cookie, cookieName));
    if (s) req.consoleSession = { user: s.user, csrf: s.csrf, expiresAt: s.expiresAt };
    // Decided on the route the router matched, never on the URL as sent: `/charter/admin/%61pi/…`
    // is routed to `/charter/admin/api/…` and gets the same checks. Every route, not only /api/.
    if (SAFE.has(req.method) || routeOf(req) === undefined) return;
    // CSRF, layer 1: the request must come from the console's own origin.
    const bad = originRefusal({
      origin: req.headers.origin,
      secFetchSite: req.headers['sec-fetch-site'],
      host: req.headers.host,
      secure,
      allowed: originsOf(),
    });
    if (bad) refuse('forbidden', bad);
    // CSRF, layer 2: the session's synchronizer token in a header only the SPA can set.
    const config = req.routeOptions.config as { consoleCsrf?: string } | undefined;
    if (config?.consoleCsrf === SIGN_IN.consoleCsrf) return;
    if (!req.consoleSession) refuse('unauthorized', 'sign in first');
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameText(token, req.consoleSession.csrf))
      refuse('forbidden', 'missing or wrong CSRF token: reload the page');
  });

  app.addHook('onSend', async (req, reply) => {
    // `no-store` on API answers by the matched route (an encoded path must not make them cacheable).
    const route = routeOf(req);
    reply.headers(
      securityHeaders({
        secure: secureOf(),
        api: route === undefined || route.startsWith(`${CONSOLE_PREFIX}/api/`),
      }),
    );
  });

  app.setErrorHandler(async (err: unknown, req, reply) => {
    if (err instanceof CharterError) {
      const s = req.consoleSession;
      if (err.code === 'forbidden' && s && views)
        await auditAdmin(views.store, s.user.email, 'auth.forbidden', {
          detail: `${req.method} ${req.url.split('?')[0]}: ${err.message}`.slice(0, 300),
        }).catch(() => {});
      return reply.status(err.status).send({ error: err.code, error_description: err.message });
    }
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    const status =
      typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 0;
    if (status) {
      // Fastify's own 4xx (bad JSON, size, media type): a clear message, no internals.
      const why =
        e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'the request body is too large'
          : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported content type'
            : `invalid request: ${String(e.message).slice(0, 200)}`;
      return reply.status(status).send({ error: 'invalid_request', error_description: why });
    }
    req.log.error({ reason: e.message }, 'admin console failure');
    return reply
      .status(statusOf('unavailable'))
      .send({ error: 'unavailable', error_description: 'internal error' });
  });

  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', error_description: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  const operator = (req: FastifyRequest): OperatorSession =>
    req.consoleSession ?? refuse('unauthorized', 'sign in first');
  const setCookie = (reply: FastifyReply, value: string, maxAge: number): void => {
    const secure = secureOf();
    reply.header(
      'Set-Cookie',
      sessionCookie(sessionCookieName(cookieBase, secure), value, maxAge, { secure, path: CONSOLE_PREFIX }),
    );
  };
  const audit = (s: OperatorSession, action: string, extra: Parameters<typeof auditAdmin>[3] = {}) =>
    auditAdmin(parts().store, s.user.email, action, extra);
  const sessionInfo = (s: { user: { email: string; id: string }; csrf: string }) => {
    const g = engine();
    return { user: { id: s.user.id, email: s.user.email }, csrf: s.csrf, site_id: g.license.siteId };
  };
  const jsonOnly = { bodyLimit: 64 * 1024 };

  // ---- session ----
  app.get('/api/session', async (req) => sessionInfo(operator(req)));

  app.post('/api/session', { ...jsonOnly, config: SIGN_IN }, async (req, reply) => {
    const body = fields(req.body, { email: 254, password: 1024 });
    const s = await parts().accounts.signIn({ email: body.email, password: body.password, ip: req.ip });
    setCookie(reply, s.sessionId, SESSION_TTL.absoluteS);
    return sessionInfo(s);
  });

  app.delete('/api/session', async (req, reply) => {
    await parts().accounts.signOut(
      cookieValue(req.headers.cookie, sessionCookieName(cookieBase, secureOf())),
    );
    setCookie(reply, '', 0);
    return reply.status(204).send();
  });

  // ---- what the gateway is doing ----
  app.get('/api/overview', async (req) => {
    operator(req);
    const g = engine();
    const l = g.license;
    const local = await readLocalRevocations(parts().store);
    return {
      now: epochSeconds(),
      site: l.claims.site,
      license_id: l.claims.jti,
      serial: l.serial,
      iat: l.claims.iat,
      nbf: l.nbf,
      exp: l.exp,
      grace_s: l.graceS,
      mode: g.mode,
      license_mode: l.mode,
      integrity: g.integrity,
      bound: l.claims.installation !== undefined,
      public_url: g.base.href,
      apps: [...l.apps.values()].map((a) => ({
        app_id: a.app_id,
        scopes: a.scopes ?? [],
        rate: a.rate ?? null,
        web_origins: a.web_origins ?? [],
      })),
      // The web origins browsers may call from now: the license's, narrowed by --cors-origin.
      cors_origins: [...g.corsOrigins()],
      revoked: {
        charters: [...l.revoked.charters],
        apps: [...l.revoked.apps],
        instances: [...l.revoked.instances],
      },
      local_revocations: local,
      // How current the Android revocation data is: the bundled snapshot ages with the build.
      android_revocation: androidRevocationStatus(l.claims, epochSeconds()),
      // A license may admit no app (a site wound down, or whose only app was revoked): the gateway
      // then refuses every app with app_not_admitted, and the overview says so.
      admits_none: [...l.apps.keys()].every((id) => l.revoked.apps.has(id)),
      revocation_update: (() => {
        const u = g.revocationUpdates.update;
        return u
          ? {
              serial: u.serial,
              exp: u.claims.exp,
              installed_at: u.installedAt,
              in_force: u.serial > l.serial,
            }
          : null;
      })(),
      report_export: true,
    };
  });

  app.get<{ Querystring: { minutes?: string } }>('/api/traffic', async (req) => {
    operator(req);
    const raw = req.query.minutes;
    const minutes = raw === undefined ? 60 : Number(raw);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 360)
      refuse('invalid_request', 'minutes is a whole number from 1 to 360');
    if (options.traffic) return options.traffic(epochSeconds(), minutes);
    return traffic.window(epochSeconds(), minutes);
  });

  app.get('/api/refusals', async (req) => {
    operator(req);
    const { audit: view } = parts();
    await view.sync();
    return {
      by_code: [...view.byCode.entries()]
        .map(([code, c]) => ({ code, ...c }))
        .sort((a, b) => b.refused + b.monitored - (a.refused + a.monitored)),
      latest: view.latest,
    };
  });

  app.get<{ Querystring: { q?: string } }>('/api/instances', async (req) => {
    operator(req);
    const q = (typeof req.query.q === 'string' ? req.query.q : '').trim().toLowerCase().slice(0, 128);
    const { audit: view, store } = parts();
    await view.sync();
    const l = engine().license;
    const local = new Map((await readLocalRevocations(store)).map((r) => [r.instance_id, r]));
    const rows = [...view.instances.values()]
      .filter(
        (i) =>
          q === '' ||
          i.instance_id.toLowerCase().includes(q) ||
          (i.app_id ?? '').toLowerCase().includes(q) ||
          (i.platform ?? '').toLowerCase().includes(q),
      )
      .sort((a, b) => b.registered_at - a.registered_at)
      .slice(0, 200)
      .map((i) => ({
        ...i,
        revoked_by_license: l.revoked.instances.has(i.instance_id),
        revoked_locally: local.get(i.instance_id) ?? null,
      }));
    return { total: view.instances.size, instances: rows };
  });

  app.post<{ Params: { id: string } }>('/api/instances/:id/revoke', jsonOnly, async (req) => {
    const s = operator(req);
    const id = req.params.id;
    if (!ID.test(id)) refuse('invalid_request', 'that is not an instance id');
    const body = fields(req.body, { reason: 500 });
    const g = engine();
    const { store, audit: view } = parts();
    await view.sync();
    if (!view.instances.has(id) && !(await store.getInstance(id)))
      refuse('not_found', `there is no instance ${id}`);
    const r = await addLocalRevocation(store, {
      instance_id: id,
      at: epochSeconds(),
      by: s.user.email,
      reason: body.reason,
    });
    // In force here at once; other replicas pick it up with their next license poll (about a second).
    await g.localRevocations.refresh(store);
    await audit(s, 'instance.revoke', { instance_id: id, detail: body.reason.slice(0, 300) });
    return { instance_id: id, revoked: true, already: !r.added };
  });

  app.get('/api/activity', async (req) => {
    operator(req);
    const { audit: view } = parts();
    await view.sync();
    return { chain: view.chain, admin: view.admin };
  });

  app.post('/api/audit/verify', jsonOnly, async (req) => {
    const s = operator(req);
    const r = await verifyWholeChain(parts().store);
    await audit(s, 'audit.verify', { detail: r.ok ? `ok, ${r.entries} entries` : `broken at ${r.brokenAt}` });
    return r.ok
      ? { ok: true, entries: r.entries, head: r.head }
      : { ok: false, entries: r.entries, broken_at: r.brokenAt, reason: r.reason };
  });

  // ---- changes ----
  app.post('/api/license', { bodyLimit: MAX_LICENSE_BYTES + 1024 }, async (req, reply) => {
    const s = operator(req);
    const body = fields(req.body, { license: MAX_LICENSE_BYTES, 'filename?': 255 });
    const token = body.license.trim();
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
      refuse('invalid_request', 'that file is not a license (a .license file holds one compact JWS)');
    const g = engine();
    const before = g.license.serial;
    try {
      if (artifactTypOf(token) === ARTIFACT_TYP.revocations) {
        const { update, outcome } = await g.installRevocations(token);
        await audit(s, 'revocations.install', {
          license_serial: update.serial,
          detail: outcome === 'installed' ? `revocation update ${update.serial}` : 'already installed',
        });
        return {
          kind: 'revocations',
          serial: update.serial,
          license_serial: g.license.serial,
          site_id: update.siteId,
          exp: update.claims.exp,
          revoked: {
            charters: update.revoked.charters.size,
            apps: update.revoked.apps.size,
            instances: update.revoked.instances.size,
          },
          installed: outcome === 'installed',
        };
      }
      const license = await g.installLicense(token);
      const installed = license.serial > before;
      await audit(s, 'license.install', {
        license_serial: license.serial,
        detail: installed ? `serial ${before} → ${license.serial}` : 'already installed',
      });
      return {
        serial: license.serial,
        previous_serial: before,
        site_id: license.siteId,
        exp: license.exp,
        mode: license.mode,
        installed,
      };
    } catch (e) {
      if (!(e instanceof CharterError)) throw e;
      await audit(s, 'license.refused', { code: e.code, detail: `${e.detail}: ${e.message}`.slice(0, 300) });
      // A refused upload is bad input, not an unavailable gateway: 422 with the install path's reason.
      const status = e.code === 'license_invalid' ? 422 : e.status;
      return reply.status(status).send({ error: e.code, error_description: e.message });
    }
  });

  app.post('/api/report', jsonOnly, async (req) => {
    const s = operator(req);
    const g = engine();
    // Counts still in the engine's memory belong in this report.
    await g.flushUsage();
    const report = await exportReport(
      parts().store,
      { integrity: g.integrity, now: epochSeconds() },
      async () => {},
    );
    await audit(s, 'report.export', { detail: `report ${report.seq}` });
    return {
      seq: report.seq,
      filename: `${g.license.siteId}-report-${report.seq}.jwt`,
      token: report.token,
      period: report.claims.period,
    };
  });

  // The last report again: a download lost between server and browser must not become a gap in the
  // vendor's chain (the chain head keeps the last report for exactly this).
  app.get('/api/report/latest', async (req) => {
    operator(req);
    const text = await parts().store.getState(REPORT_CHAIN_STATE);
    if (text === undefined) return { seq: 0 };
    const head = JSON.parse(text) as { seq: number; token: string };
    return {
      seq: head.seq,
      token: head.token,
      filename: `${engine().license.siteId}-report-${head.seq}.jwt`,
    };
  });

  if (staticDir) {
    await app.register(fastifyStatic, {
      root: staticDir,
      prefix: '/',
      index: ['index.html'],
      wildcard: true,
    });
  } else {
    app.get('/', async (_req, reply) =>
      reply.type('text/plain').send('The admin console API is here; its web app is not built.'),
    );
  }
}

/**
 * The admin console as an fp plugin: registers its own encapsulated context under `/charter/admin`,
 * so its hooks (sessions, CSRF, headers) never touch the gateway's other routes.
 */
export const charterConsole = fp<ConsoleOptions>(
  async (app, options) => {
    await app.register(consoleRoutes, { ...options, prefix: CONSOLE_PREFIX });
  },
  { name: '@charter/console', fastify: '5.x' },
);
