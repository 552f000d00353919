/** The admin's routes: people, sites, licenses, revocations and their updates, usage reports, the record. */
import { ID_PARAMS, objectBody, str, strList } from '@charter/accounts/fastify';
import { decodeJsonSegment, type ReportClaims } from '@charter/core';
import { actorName, type Role } from '@charter/issuer';
import type { FastifyInstance } from 'fastify';
import { type PortalContext, ttl } from '../context.ts';

/** Register the admin routes. */
export function adminRoutes(app: FastifyInstance, ctx: PortalContext): void {
  app.get('/api/admin/overview', async (req) => {
    ctx.require(req, ['admin']);
    return {
      sites: ctx.reader.listSites(),
      apps: ctx.reader.listApps(),
      licenses: ctx.reader.listLicenses(),
      revocations: ctx.reader.listRevocations(),
      revocation_status: ctx.reader.revocationStatus(),
      users: ctx.users.list(),
      publishers: ctx.reader.listPublishers(),
    };
  });

  // People: after the first admin (made on the command line) everyone else is added here.
  app.post<{ Body: { name: string } }>(
    '/api/admin/publishers',
    {
      schema: {
        body: objectBody({ name: str(200, 1) }, ['name']),
      },
    },
    async (req) => ctx.vendorFor(ctx.require(req, ['admin'])).addPublisher({ name: req.body.name }),
  );

  app.post<{ Body: { email: string; role: Role; password: string; publisherId?: string } }>(
    '/api/admin/users',
    {
      schema: {
        body: objectBody(
          {
            email: str(254, 3),
            role: { type: 'string', enum: ['publisher', 'reviewer', 'admin'] },
            password: str(1024, 1),
            publisherId: str(128, 1),
          },
          ['email', 'role', 'password'],
        ),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['admin']);
      return ctx.users.add({ ...req.body, actor: actorName(s.user) });
    },
  );

  app.post<{ Body: { name: string } }>(
    '/api/admin/sites',
    {
      schema: {
        body: objectBody({ name: str(200, 1) }, ['name']),
      },
    },
    async (req) => ctx.vendorFor(ctx.require(req, ['admin'])).addSite({ name: req.body.name }),
  );

  app.post<{
    Body: {
      siteId: string;
      appIds: string[];
      ttl: string;
      mode?: 'enforce' | 'monitor';
      activation?: string;
    };
  }>(
    '/api/admin/licenses',
    {
      schema: {
        body: objectBody(
          {
            siteId: str(128, 1),
            appIds: { ...strList(500, 128), minItems: 1 },
            ttl: str(20, 1),
            mode: { type: 'string', enum: ['enforce', 'monitor'] },
            activation: str(65536, 1),
          },
          ['siteId', 'appIds', 'ttl'],
        ),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['admin']);
      const r = await ctx.vendorFor(s).issueLicense({
        siteId: req.body.siteId,
        appIds: req.body.appIds,
        ttlS: ttl(req.body.ttl, 5 * 366 * 86400),
        mode: req.body.mode ?? 'enforce',
        ...(req.body.activation ? { activation: req.body.activation.trim() } : {}),
      });
      return { license_id: r.license_id, serial: r.serial, exp: r.exp };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/admin/licenses/:id/download',
    { schema: { params: ID_PARAMS } },
    async (req, reply) => {
      ctx.require(req, ['admin']);
      const l = ctx.reader.licenseToken(req.params.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${l.site_id}-${l.serial}.license"`)
        .send(l.license);
    },
  );

  app.post<{ Body: { kind: 'charter' | 'app' | 'instance'; target: string; reason: string } }>(
    '/api/admin/revocations',
    {
      schema: {
        body: objectBody(
          {
            kind: { type: 'string', enum: ['charter', 'app', 'instance'] },
            target: str(128, 1),
            reason: str(2000, 1),
          },
          ['kind', 'target', 'reason'],
        ),
      },
    },
    async (req) => ctx.vendorFor(ctx.require(req, ['admin'])).revoke(req.body),
  );

  // One click: a revocation update (charter-revocations+jwt) for every site that is behind.
  app.post<{ Body: { ttl?: string } }>(
    '/api/admin/revocations/updates',
    {
      schema: {
        body: objectBody({ ttl: str(20, 1) }),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['admin']);
      const ttlS = req.body.ttl === undefined ? undefined : ttl(req.body.ttl, 30 * 86400);
      const issued = await ctx.vendorFor(s).issueRevocationsToBehind(ttlS);
      return {
        updates: issued.map((u) => ({
          revocations_id: u.revocations_id,
          site_id: u.site_id,
          serial: u.serial,
          license_serial: u.license_serial,
          exp: u.exp,
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/admin/revocations/updates/:id/download',
    { schema: { params: ID_PARAMS } },
    async (req, reply) => {
      ctx.require(req, ['admin']);
      const u = ctx.reader.revocationsToken(req.params.id);
      return reply
        .header('Content-Type', 'application/jwt')
        .header('Content-Disposition', `attachment; filename="${u.site_id}-${u.serial}.revocations"`)
        .send(u.token);
    },
  );

  app.post<{ Body: { reports: string[] } }>(
    '/api/admin/reports',
    {
      bodyLimit: 20 * 1024 * 1024,
      schema: {
        body: objectBody({ reports: { type: 'array', minItems: 1, maxItems: 1000, items: str(65536, 1) } }, [
          'reports',
        ]),
      },
    },
    async (req) => {
      const s = ctx.require(req, ['admin']);
      const verdict = await ctx.vendorFor(s).verifyReports(req.body.reports, ctx.attester);
      return { verdict, usage: usageBySite(req.body.reports, verdict.reports) };
    },
  );

  app.get('/api/admin/events', async (req) => {
    ctx.require(req, ['admin']);
    return { events: ctx.reader.listEvents().slice(-500).reverse() };
  });
}

/**
 * Admitted and denied requests per site and per app, from the reports the engine found `ok` (only
 * verified reports count; their payload is read back for the per-site split the verdict does not give).
 */
function usageBySite(
  tokens: string[],
  findings: { file: number; status: string }[],
): {
  sites: Record<string, { admitted: number; denied: number }>;
  apps: Record<string, { admitted: number; denied: number; instances: number }>;
} {
  const sites: Record<string, { admitted: number; denied: number }> = {};
  const apps: Record<string, { admitted: number; denied: number; instances: number }> = {};
  for (const f of findings) {
    if (f.status !== 'ok') continue;
    const payload = tokens[f.file]?.trim().split('.')[1];
    if (!payload) continue;
    const claims = decodeJsonSegment(payload) as unknown as ReportClaims;
    for (const [app, u] of Object.entries(claims.apps ?? {})) {
      const denied = Object.values(u.denied ?? {}).reduce((a, b) => a + b, 0);
      const site = sites[claims.site] ?? { admitted: 0, denied: 0 };
      sites[claims.site] = site;
      site.admitted += u.admitted;
      site.denied += denied;
      const a = apps[app] ?? { admitted: 0, denied: 0, instances: 0 };
      apps[app] = a;
      a.admitted += u.admitted;
      a.denied += denied;
      a.instances = Math.max(a.instances, u.instances);
    }
  }
  return { sites, apps };
}
