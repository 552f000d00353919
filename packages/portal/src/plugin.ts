/**
 * The vendor portal's backend as a Fastify plugin (fp idiom, the twin of @charter/console): the JSON
 * API under /api and the built SPA as static files, over the issuer's records. Security is the shared
 * web-accounts layer (@charter/accounts/fastify) for every route: session cookie, CSRF (Origin check
 * plus synchronizer token), security headers, strict schemas, one error rule. Roles are checked per
 * route (see {@link PortalContext.require}).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type WebAccountsOptions, webAccounts } from '@charter/accounts/fastify';
import { CharterError } from '@charter/core';
import {
  actorName,
  type PortalUser,
  Users,
  Vendor,
  type VendorDb,
  type VouchedLookup,
} from '@charter/issuer';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { portalContext } from './context.ts';
import { adminRoutes } from './routes/admin.ts';
import { acceptUploads } from './routes/binaries.ts';
import { publisherRoutes } from './routes/publisher.ts';
import { reviewRoutes } from './routes/review.ts';

/** The portal's session cookie (base name; `__Host-` is prefixed over TLS). */
export const PORTAL_COOKIE = 'charter_session';

/** Options of {@link charterPortal}. */
export interface PortalPluginOptions {
  /** The vendor database (the issuer's records). */
  db: VendorDb;
  /** The built SPA (packages/web/dist/portal). */
  staticDir: string;
  /** Whether people reach the portal over TLS (Secure `__Host-` cookie, HSTS). */
  secure: boolean;
  /** The origins state-changing requests may come from (asked per request: known once listening). */
  allowedOrigins: () => ReadonlySet<string>;
  /** The vendor attester's records (e.g. `openAttesterRecords`): uploaded reports then list instances it never vouched for. */
  attester?: VouchedLookup;
}

async function portalRoutes(app: FastifyInstance, options: PortalPluginOptions): Promise<void> {
  const { db } = options;
  new Vendor(db, { name: 'portal' }).vendorId(); // refuse to start on a home without a vendor
  const staticDir = resolve(options.staticDir);
  if (!existsSync(resolve(staticDir, 'index.html')))
    throw new CharterError(
      'not_found',
      'ERR_NO_SPA',
      `the portal is not built: ${staticDir}/index.html is missing`,
    );
  const ctx = portalContext(db, new Users(db), options.attester);

  const accounts: WebAccountsOptions<PortalUser> = {
    accounts: () => ctx.users,
    cookie: PORTAL_COOKIE,
    secure: () => options.secure,
    allowedOrigins: options.allowedOrigins,
    sessionInfo: (s) => ({ user: s.user, csrf: s.csrf, vendor: ctx.reader.vendorName() }),
    // Refused attempts by a signed-in account are part of the record too (who tried what).
    onForbidden: (req, s, err) =>
      ctx.users.audit(
        actorName(s.user),
        'auth.forbidden',
        `${req.method} ${req.url.split('?')[0]}`.slice(0, 300),
        {
          reason: err.message,
        },
      ),
  };
  await app.register(webAccounts, accounts);
  acceptUploads(app);
  publisherRoutes(app, ctx);
  reviewRoutes(app, ctx);
  adminRoutes(app, ctx);
  await app.register(fastifyStatic, { root: staticDir, prefix: '/', index: ['index.html'], wildcard: true });
}

/** The portal as an fp plugin: its hooks apply to the context it is registered in. */
export const charterPortal = fp<PortalPluginOptions>(portalRoutes, {
  name: '@charter/portal',
  fastify: '5.x',
});
