/** The instances the gateway registered: search them, revoke one here (a local revocation). */
import { ID_PARAMS, objectBody, refuse, str } from '@charter/accounts/fastify';
import { epochSeconds } from '@charter/core';
import { addLocalRevocation, readLocalRevocations } from '@charter/gateway';
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';
import { JSON_ONLY } from './limits.ts';

/** `?q=`: a search text (only its first 128 characters count). */
const SEARCH_QUERY = { type: 'object', properties: { q: { type: 'string' } } } as const;

/** Register the instance routes. */
export function instanceRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Querystring: { q?: string } }>(
    '/api/instances',
    { schema: { querystring: SEARCH_QUERY } },
    async (req) => {
      ctx.operator(req);
      const q = (req.query.q ?? '').trim().toLowerCase().slice(0, 128);
      const { audit: view, store } = ctx.parts();
      await view.sync();
      const l = ctx.engine().license;
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
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/instances/:id/revoke',
    { ...JSON_ONLY, schema: { params: ID_PARAMS, body: objectBody({ reason: str(500, 1) }, ['reason']) } },
    async (req) => {
      const s = ctx.operator(req);
      const id = req.params.id;
      const reason = req.body.reason;
      const g = ctx.engine();
      const { store, audit: view } = ctx.parts();
      await view.sync();
      if (!view.instances.has(id) && !(await store.getInstance(id)))
        refuse('not_found', `there is no instance ${id}`);
      const r = await addLocalRevocation(store, {
        instance_id: id,
        at: epochSeconds(),
        by: s.user.email,
        reason,
      });
      // In force here at once; other replicas pick it up with their next license poll (about a second).
      await g.localRevocations.refresh(store);
      await ctx.audit(s, 'instance.revoke', { instance_id: id, detail: reason.slice(0, 300) });
      return { instance_id: id, revoked: true, already: !r.added };
    },
  );
}
