/** What the gateway is doing: the license and its apps, traffic by minute, refusals by code. */
import { epochSeconds } from '@charter/core';
import { androidRevocationStatus, readLocalRevocations } from '@charter/gateway';
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';

/** `?minutes=` of the traffic chart: a whole number from 1 to 360. */
const TRAFFIC_QUERY = {
  type: 'object',
  properties: {
    minutes: { type: 'string', pattern: '^(36[0]|3[0-5][0-9]|[12][0-9][0-9]|[1-9][0-9]|[1-9])$' },
  },
} as const;

/** Register the overview, traffic and refusal routes. */
export function overviewRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/api/overview', async (req) => {
    ctx.operator(req);
    const g = ctx.engine();
    const l = g.license;
    const local = await readLocalRevocations(ctx.parts().store);
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

  app.get<{ Querystring: { minutes?: string } }>(
    '/api/traffic',
    { schema: { querystring: TRAFFIC_QUERY } },
    async (req) => {
      ctx.operator(req);
      const minutes = req.query.minutes === undefined ? 60 : Number(req.query.minutes);
      return ctx.trafficWindow(epochSeconds(), minutes);
    },
  );

  app.get('/api/refusals', async (req) => {
    ctx.operator(req);
    const { audit: view } = ctx.parts();
    await view.sync();
    return {
      by_code: [...view.byCode.entries()]
        .map(([code, c]) => ({ code, ...c }))
        .sort((a, b) => b.refused + b.monitored - (a.refused + a.monitored)),
      latest: view.latest,
    };
  });
}
