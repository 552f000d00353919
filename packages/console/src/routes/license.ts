/**
 * The upload of a license or a revocation update (both compact JWS; the `typ` tells them apart),
 * installed at once through the engine's own install path and recorded either way.
 */
import { objectBody, refuse, str } from '@charter/accounts/fastify';
import { ARTIFACT_TYP, artifactTypOf, CharterError } from '@charter/core';
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';

/** Largest license upload (a license is a few KiB of compact JWS). */
export const MAX_LICENSE_BYTES = 256 * 1024;

const LICENSE_BODY = objectBody({ license: str(MAX_LICENSE_BYTES, 1), filename: str(255) }, ['license']);

/** Register the license route. */
export function licenseRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.post<{ Body: { license: string; filename?: string } }>(
    '/api/license',
    { bodyLimit: MAX_LICENSE_BYTES + 1024, schema: { body: LICENSE_BODY } },
    async (req, reply) => {
      const s = ctx.operator(req);
      const token = req.body.license.trim();
      if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token))
        refuse('invalid_request', 'that file is not a license (a .license file holds one compact JWS)');
      const g = ctx.engine();
      const before = g.license.serial;
      try {
        if (artifactTypOf(token) === ARTIFACT_TYP.revocations) {
          const { update, outcome } = await g.installRevocations(token);
          await ctx.audit(s, 'revocations.install', {
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
        await ctx.audit(s, 'license.install', {
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
        await ctx.audit(s, 'license.refused', {
          code: e.code,
          detail: `${e.detail}: ${e.message}`.slice(0, 300),
        });
        // A refused upload is bad input, not an unavailable gateway: 422 with the install path's reason.
        const status = e.code === 'license_invalid' ? 422 : e.status;
        return reply.status(status).send({ error: e.code, error_description: e.message });
      }
    },
  );
}
