/**
 * The admin console's backend: a Fastify plugin (fp idiom) that mounts, under `/charter/admin`, the
 * built SPA and a JSON API over the running {@link Gateway}. Security is the web-accounts layer shared
 * with the vendor portal (@charter/accounts/fastify) for every route: HttpOnly SameSite=Strict session
 * cookie, CSRF by Origin check plus a per-session token header, lockout, security headers, strict
 * schemas and `{ error, error_description }` with a 4xx status for every bad input. Every action, and
 * every refused attempt by a signed-in operator, is appended to the gateway's hash-chained audit log.
 * The routes live per area in routes/.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { refuse, type WebAccountsOptions, webAccounts } from '@charter/accounts/fastify';
import { CharterError } from '@charter/core';
import type { Gateway, GatewayStore } from '@charter/gateway';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { consoleContext } from './context.ts';
import { auditAdmin, hasOperators, type Operator } from './operators.ts';
import { auditRoutes } from './routes/audit.ts';
import { instanceRoutes } from './routes/instances.ts';
import { licenseRoutes } from './routes/license.ts';
import { overviewRoutes } from './routes/overview.ts';
import { reportRoutes } from './routes/report.ts';
import type { TrafficWindow } from './traffic.ts';

export { MAX_LICENSE_BYTES } from './routes/license.ts';

/** Where the console is mounted. */
export const CONSOLE_PREFIX = '/charter/admin';

/** The console's session cookie (base name; `__Host-` is prefixed over TLS). */
const COOKIE = 'charter_admin';

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

/** The console: see the module comment. Mount it on a gateway's Fastify instance (`app.register`). */
async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const ctx = consoleContext(options);
  const requireOperator = options.requireOperator ?? true;
  let operatorSeen = false;
  const staticDir = options.staticDir ? resolve(options.staticDir) : undefined;
  if (staticDir && !existsSync(resolve(staticDir, 'index.html')))
    throw new CharterError(
      'not_found',
      'ERR_NO_SPA',
      `the console is not built: ${staticDir}/index.html is missing`,
    );

  const accounts: WebAccountsOptions<Operator> = {
    accounts: () => ctx.parts().accounts,
    cookie: COOKIE,
    cookiePath: CONSOLE_PREFIX,
    secure: ctx.secure,
    allowedOrigins: ctx.origins,
    sessionInfo: (s) => ({
      user: { id: s.user.id, email: s.user.email },
      csrf: s.csrf,
      site_id: ctx.engine().license.siteId,
    }),
    async gate() {
      if (!requireOperator || operatorSeen) return;
      // Not there at all until `charter gateway user add` made the first operator.
      if (!(await hasOperators(ctx.parts().store)))
        refuse('not_found', 'the admin console has no operator yet: run `charter gateway user add`');
      operatorSeen = true;
    },
    async onForbidden(req, s, err) {
      const views = ctx.views();
      if (views)
        await auditAdmin(views.store, s.user.email, 'auth.forbidden', {
          detail: `${req.method} ${req.url.split('?')[0]}: ${err.message}`.slice(0, 300),
        });
    },
  };
  await app.register(webAccounts, accounts);

  // `/charter/admin` without the slash, as the CLI prints it: the SPA wants the folder form. A route
  // of its own (not a hook): in a host with a catch-all route, or behind the gateway's proxy, the bare
  // prefix is otherwise routed outside the console and refused there.
  app.get('/', { prefixTrailingSlash: 'no-slash' }, async (_req, reply) =>
    reply.redirect(`${CONSOLE_PREFIX}/`, 302),
  );

  overviewRoutes(app, ctx);
  instanceRoutes(app, ctx);
  auditRoutes(app, ctx);
  licenseRoutes(app, ctx);
  reportRoutes(app, ctx);

  if (staticDir) {
    await app.register(fastifyStatic, {
      root: staticDir,
      prefix: '/',
      index: ['index.html'],
      wildcard: true,
    });
  } else {
    app.get('/', { prefixTrailingSlash: 'slash' }, async (_req, reply) =>
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
