/** The audit log: the latest chain entries and admin actions, and a check of the whole hash chain. */
import type { FastifyInstance } from 'fastify';
import { verifyWholeChain } from '../audit-view.ts';
import type { ConsoleContext } from '../context.ts';
import { JSON_ONLY } from './limits.ts';

/** Register the audit routes. */
export function auditRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/api/activity', async (req) => {
    ctx.operator(req);
    const { audit: view } = ctx.parts();
    await view.sync();
    return { chain: view.chain, admin: view.admin };
  });

  app.post('/api/audit/verify', JSON_ONLY, async (req) => {
    const s = ctx.operator(req);
    const r = await verifyWholeChain(ctx.parts().store);
    await ctx.audit(s, 'audit.verify', {
      detail: r.ok ? `ok, ${r.entries} entries` : `broken at ${r.brokenAt}`,
    });
    return r.ok
      ? { ok: true, entries: r.entries, head: r.head }
      : { ok: false, entries: r.entries, broken_at: r.brokenAt, reason: r.reason };
  });
}
