/**
 * The web-accounts layer of the vendor portal and the gateway's admin console, as one Fastify plugin
 * (fp idiom: it decorates the context it is registered in, so its hooks cover exactly the app's own
 * routes and never a host's other ones). For every route: the session from the cookie, CSRF (Origin
 * check plus a per-session synchronizer token), security headers, strict JSON-schema validation, the
 * one error rule ({@link exposeError}) and a JSON 404. It also serves the session routes
 * (`GET|POST|DELETE <prefix>/api/session`), so sign-in is limited the same way in both apps.
 */
import { CharterError } from '@charter/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  cookieValue,
  type LiveSession,
  originRefusal,
  SESSION_TTL,
  sameText,
  securityHeaders,
  sessionCookie,
  sessionCookieName,
} from '../index.ts';
import { exposeError } from './expose.ts';
import { objectBody, str, strictValidator } from './schema.ts';

/** Where the app's accounts live: what the plugin needs of {@link Accounts} (or a wrapper of it). */
export interface SessionSource<U> {
  signIn(input: {
    email: string;
    password: string;
    ip: string;
  }): Promise<LiveSession<U> & { sessionId: string }>;
  session(sessionId: string | undefined): Promise<LiveSession<U> | undefined>;
  signOut(sessionId: string | undefined): Promise<void>;
}

/** Options of {@link webAccounts}. */
export interface WebAccountsOptions<U> {
  /** The accounts (asked per request: the console's store may be known only once the gateway runs). */
  accounts: () => SessionSource<U>;
  /** The session cookie's base name (`__Host-` is prefixed over TLS). */
  cookie: string;
  /** The cookie's Path when it is not a `__Host-` cookie (default `/`). */
  cookiePath?: string;
  /** Whether the app is served over TLS (Secure cookies, HSTS); asked per request. */
  secure: () => boolean;
  /** The origins state-changing requests may come from; empty: the request's own Host. */
  allowedOrigins: () => ReadonlySet<string>;
  /** What sign-in and `GET /api/session` answer for a session. */
  sessionInfo: (session: LiveSession<U>) => unknown;
  /** First step of every request (e.g. the console is not there until it has an operator). */
  gate?: (req: FastifyRequest) => Promise<void> | void;
  /** A refusal (`forbidden`) of a signed-in account: the app's audit record keeps who tried what. */
  onForbidden?: (req: FastifyRequest, session: LiveSession<U>, err: CharterError) => Promise<void> | void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in session of a web-accounts app, if any (read it through {@link sessionOf}). */
    accountSession: LiveSession<unknown> | undefined;
  }
}

/**
 * Route config of a route whose state-changing requests need the Origin check only (sign-in: no
 * session, hence no token, exists yet). Every other route needs both layers; the hook decides on the
 * route the router matched, never on the URL as sent.
 */
export const ORIGIN_ONLY = { webAccountsCsrf: 'origin-only' } as const;

/** Methods that change nothing (RFC 9110 §9.2.1); every other method needs CSRF proof. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Largest sign-in body: an email and a password, with room to spare. */
export const SIGN_IN_BODY_LIMIT = 64 * 1024;

/** The matched route's pattern (with any prefix), or undefined when nothing matched (a 404). */
function routeOf(req: FastifyRequest): string | undefined {
  return req.is404 ? undefined : req.routeOptions.url;
}

const refuse = (code: 'unauthorized' | 'forbidden', reason: string): never => {
  throw new CharterError(code, `ERR_${code.toUpperCase()}`, reason);
};

/** The request's session, typed as the app's. */
export function sessionOf<U>(req: FastifyRequest): LiveSession<U> | undefined {
  return req.accountSession as LiveSession<U> | undefined;
}

/** The request's session, or `unauthorized`. */
export function signedIn<U>(req: FastifyRequest): LiveSession<U> {
  return sessionOf<U>(req) ?? refuse('unauthorized', 'sign in first');
}

async function webAccountsPlugin(app: FastifyInstance, options: WebAccountsOptions<unknown>): Promise<void> {
  // The app's own prefix (fp: this is the registering context): `/api/` answers are never cached.
  const apiRoutes = `${app.prefix}/api/`;
  const cookieName = (): string => sessionCookieName(options.cookie, options.secure());
  const setCookie = (reply: FastifyReply, value: string, maxAge: number): void => {
    const secure = options.secure();
    reply.header(
      'Set-Cookie',
      sessionCookie(cookieName(), value, maxAge, {
        secure,
        ...(options.cookiePath ? { path: options.cookiePath } : {}),
      }),
    );
  };

  app.setValidatorCompiler(strictValidator);
  app.decorateRequest('accountSession', undefined);

  app.addHook('onRequest', async (req) => {
    req.accountSession = undefined;
    await options.gate?.(req);
    const s = await options.accounts().session(cookieValue(req.headers.cookie, cookieName()));
    if (s) req.accountSession = { user: s.user, csrf: s.csrf, expiresAt: s.expiresAt };
    // Decided on the route the router matched, never on the URL as sent: `/%61pi/…` is routed to
    // `/api/…` and gets the same checks. Every route, not only /api/.
    if (SAFE.has(req.method) || routeOf(req) === undefined) return;
    // CSRF, layer 1: the request must come from the app's own origin.
    const bad = originRefusal({
      origin: req.headers.origin,
      secFetchSite: req.headers['sec-fetch-site'],
      host: req.headers.host,
      secure: options.secure(),
      allowed: options.allowedOrigins(),
    });
    if (bad) refuse('forbidden', bad);
    // CSRF, layer 2: the session's synchronizer token, in a header only the app's own page can set.
    const config = req.routeOptions.config as { webAccountsCsrf?: string } | undefined;
    if (config?.webAccountsCsrf === ORIGIN_ONLY.webAccountsCsrf) return;
    if (!req.accountSession) refuse('unauthorized', 'sign in first');
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameText(token, (req.accountSession as LiveSession<unknown>).csrf))
      refuse('forbidden', 'missing or wrong CSRF token: reload the page');
  });

  app.addHook('onSend', async (req, reply) => {
    // `no-store` by the matched route (an encoded path must not make an API answer cacheable).
    const route = routeOf(req);
    reply.headers(
      securityHeaders({ secure: options.secure(), api: route === undefined || route.startsWith(apiRoutes) }),
    );
  });

  app.setErrorHandler(async (err: unknown, req, reply) => {
    const s = req.accountSession;
    if (err instanceof CharterError && err.code === 'forbidden' && s && options.onForbidden) {
      try {
        await options.onForbidden(req, s, err);
      } catch (e) {
        // The refusal stands whether or not it could be recorded.
        req.log.error({ reason: e instanceof Error ? e.message : String(e) }, 'refusal not recorded');
      }
    }
    const out = exposeError(err);
    if (out.log) req.log.error(out.log, 'web app failure');
    return reply.status(out.status).send(out.body);
  });

  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', error_description: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );

  // ---- the session routes ----
  app.get('/api/session', async (req) => options.sessionInfo(signedIn(req)));

  app.post<{ Body: { email: string; password: string } }>(
    '/api/session',
    {
      bodyLimit: SIGN_IN_BODY_LIMIT,
      config: ORIGIN_ONLY,
      schema: { body: objectBody({ email: str(254, 1), password: str(1024, 1) }, ['email', 'password']) },
    },
    async (req, reply) => {
      const s = await options
        .accounts()
        .signIn({ email: req.body.email, password: req.body.password, ip: req.ip });
      setCookie(reply, s.sessionId, SESSION_TTL.absoluteS);
      return options.sessionInfo(s);
    },
  );

  app.delete('/api/session', async (req, reply) => {
    await options.accounts().signOut(cookieValue(req.headers.cookie, cookieName()));
    setCookie(reply, '', 0);
    return reply.status(204).send();
  });
}

/** The web-accounts layer as an fp plugin: register it first in the app's context, then the app's routes. */
export const webAccounts = fp<
  // biome-ignore lint/suspicious/noExplicitAny: each app has its own account type; sessionOf<U> types it back.
  WebAccountsOptions<any>
>(webAccountsPlugin, { name: '@charter/accounts/fastify', fastify: '5.x' });
