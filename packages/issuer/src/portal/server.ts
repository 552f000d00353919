/**
 * The vendor portal's HTTP server: the built SPA as static files and a JSON API under /api, both over
 * the same {@link Vendor} engine as the CLI. Security lives here, in one place, for every route:
 * session cookies, CSRF (synchronizer token + Origin check), roles, security headers and the mapping
 * of every error to `{ error, error_description }` — never a stack trace.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  allowedOrigins as allowedOriginsOf,
  CONTENT_SECURITY_POLICY,
  cookieValue,
  originRefusal,
  sameText,
  securityHeaders,
  sessionCookie,
  sessionCookieName,
} from '@charter/accounts';
import { CharterError, statusOf } from '@charter/core';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { openVendorDb, type VendorDb } from '../db.ts';
import { actorName, type PortalSession, type Role, SESSION_TTL, Users } from '../users.ts';
import { Vendor } from '../vendor.ts';
import { registerApi } from './api.ts';
import { SIGN_IN_ROUTE } from './csrf.ts';
import { refuse } from './refuse.ts';

/** How to start the portal. */
export interface PortalOptions {
  /** The vendor database: a path to vendor.db, an open handle, or a Vendor (its db is used). */
  db: string | VendorDb | Vendor;
  /** `HOST:PORT` (port 0 picks a free one) or an object. */
  listen: string | { host: string; port: number };
  /** The built SPA (packages/web/dist/portal). */
  staticDir: string;
  /** The URL people use when the portal sits behind a TLS proxy: its origin is the only one accepted. */
  publicUrl?: string;
  /** Serve HTTPS directly. */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** Fastify logger (off by default: the decision record is the audit log). */
  logger?: boolean;
  /**
   * Behind a reverse proxy: trust its X-Forwarded-For (Fastify's `trustProxy`), so the per-address
   * sign-in limit counts clients, not the proxy. Off by default: a direct client could forge the header.
   */
  trustProxy?: boolean | string;
}

/** A running portal. */
export interface Portal {
  /** The URL people use (the public URL when one was given). */
  url: string;
  /** Where this process actually listens. */
  localUrl: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The session and role gate state attached to each request. */
export interface PortalRequestState {
  session?: PortalSession;
}

declare module 'fastify' {
  interface FastifyRequest {
    portal: PortalRequestState;
  }
}

/** Methods that change nothing (RFC 9110 §9.2.1); every other method on a portal route needs CSRF proof. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The matched route's pattern, or undefined when nothing matched (a 404). */
function routeOf(req: FastifyRequest): string | undefined {
  return req.is404 ? undefined : req.routeOptions.url;
}

/** The portal's Content-Security-Policy (shared with the gateway console, in @charter/accounts). */
export { CONTENT_SECURITY_POLICY };

function parseListen(listen: PortalOptions['listen']): { host: string; port: number } {
  if (typeof listen !== 'string') return listen;
  const m = /^(\[[0-9a-f:]+\]|[^:]+):(\d{1,5})$/i.exec(listen.trim());
  if (!m || Number(m[2]) > 65535)
    throw new CharterError(
      'invalid_request',
      'ERR_LISTEN',
      `--listen ${JSON.stringify(listen)} is not HOST:PORT`,
    );
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Start the portal; resolves once it listens. */
export async function startPortal(options: PortalOptions): Promise<Portal> {
  const db =
    options.db instanceof Vendor
      ? options.db.db
      : typeof options.db === 'string'
        ? openVendorDb(options.db)
        : options.db;
  const ownsDb = typeof options.db === 'string';
  const users = new Users(db);
  new Vendor(db, { name: 'portal' }).vendorId(); // refuse to start on a home without a vendor
  const staticDir = resolve(options.staticDir);
  if (!existsSync(resolve(staticDir, 'index.html')))
    throw new CharterError(
      'not_found',
      'ERR_NO_SPA',
      `the portal is not built: ${staticDir}/index.html is missing`,
    );
  const { host, port } = parseListen(options.listen);
  const secure = options.https !== undefined || (options.publicUrl ?? '').startsWith('https:');
  // `__Host-` pins the cookie to this exact origin (no Domain, Path=/, Secure): only possible over TLS.
  const cookieName = sessionCookieName('charter_session', secure);
  let allowedOrigins = new Set<string>();

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    ...(options.https ? { https: options.https } : {}),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
    trustProxy: options.trustProxy ?? false,
    // Fastify's own refusals before routing (a URL it cannot decode, e.g. `/api/x%zz`) in the
    // catalogue's words like every other answer: its default body is `{"error":"Bad Request"}`.
    frameworkErrors: (_error: unknown, _req: FastifyRequest, reply: FastifyReply) =>
      void reply
        .status(400)
        .send({ error: 'invalid_request', error_description: 'invalid request: the URL cannot be read' }),
  } as never) as unknown as FastifyInstance;

  app.decorateRequest('portal', null as never);

  app.addHook('onRequest', async (req) => {
    req.portal = {};
    const session = await users.session(cookieValue(req.headers.cookie, cookieName));
    if (session) req.portal.session = session;
    // Decided on the route the router matched, never on the URL as sent: `/%61pi/…` is routed to
    // `/api/…` and gets the same checks. Every route, not only /api/.
    if (SAFE.has(req.method) || routeOf(req) === undefined) return;
    // CSRF, layer 1: the request must come from the portal's own origin.
    const bad = originRefusal({
      origin: req.headers.origin,
      secFetchSite: req.headers['sec-fetch-site'],
      host: req.headers.host,
      secure,
      allowed: allowedOrigins,
    });
    if (bad) refuse('forbidden', bad);
    // CSRF, layer 2: a synchronizer token bound to the session, sent in a header the SPA sets.
    const config = req.routeOptions.config as { portalCsrf?: string } | undefined;
    if (config?.portalCsrf === SIGN_IN_ROUTE.portalCsrf) return;
    if (!session) refuse('unauthorized', 'sign in first');
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameText(token, session.csrf))
      refuse('forbidden', 'missing or wrong CSRF token: reload the page');
  });

  app.addHook('onSend', async (req, reply) => {
    // `no-store` on API answers by the matched route (an encoded path must not make them cacheable).
    const route = routeOf(req);
    reply.headers(securityHeaders({ secure, api: route === undefined || route.startsWith('/api/') }));
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof CharterError) {
      // Refused attempts by a signed-in account are part of the record too (who tried what).
      const s = req.portal?.session;
      if (err.code === 'forbidden' && s)
        users.audit(
          actorName(s.user),
          'auth.forbidden',
          `${req.method} ${req.url.split('?')[0]}`.slice(0, 300),
          {
            reason: err.message,
          },
        );
      void reply.status(err.status).send({ error: err.code, error_description: err.message });
      return;
    }
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    const status =
      typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 0;
    if (status) {
      // Fastify's own 4xx (bad JSON, schema, size, media type): a clear message, no internals.
      const why =
        e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'the request body is too large'
          : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported content type'
            : e.validation
              ? `invalid input: ${String(e.message).slice(0, 200)}`
              : `invalid request: ${String(e.message).slice(0, 200)}`;
      void reply.status(status).send({ error: 'invalid_request', error_description: why });
      return;
    }
    req.log.error(err);
    void reply
      .status(statusOf('unavailable'))
      .send({ error: 'unavailable', error_description: 'internal error' });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: 'not_found', error_description: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  const auth = {
    users,
    cookieName,
    secure,
    /** The session's user, refusing when signed out or of another role. */
    require(req: FastifyRequest, roles: readonly Role[]): PortalSession {
      const s = req.portal.session;
      if (!s) refuse('unauthorized', 'sign in first');
      if (!roles.includes(s.user.role)) refuse('forbidden', `this needs the ${roles.join(' or ')} role`);
      return s;
    },
    setCookie(reply: FastifyReply, value: string, maxAge: number): void {
      reply.header('Set-Cookie', sessionCookie(cookieName, value, maxAge, { secure }));
    },
    sessionMaxAge: SESSION_TTL.absoluteS,
  };

  registerApi(app, db, auth);
  await app.register(fastifyStatic, { root: staticDir, prefix: '/', index: ['index.html'], wildcard: true });

  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const proto = options.https ? 'https' : 'http';
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = options.publicUrl ? new URL(options.publicUrl).origin : `${proto}://${shown}:${actualPort}`;
  allowedOrigins = allowedOriginsOf({
    host,
    port: actualPort,
    secure: proto === 'https',
    publicUrl: options.publicUrl,
  });
  // With a wildcard address and no --public-url the set stays empty: the request's own Host is the origin.
  const local = ['0.0.0.0', '::'].includes(host)
    ? `${proto}://127.0.0.1:${actualPort}`
    : `${proto}://${shown}:${actualPort}`;
  return {
    url: options.publicUrl ? url : local,
    localUrl: local,
    app,
    async close() {
      await app.close();
      if (ownsDb) db.close();
    },
  };
}
