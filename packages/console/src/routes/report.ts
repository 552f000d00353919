/** The usage report for the vendor: export the next one, or fetch the last one again. */
import { epochSeconds } from '@charter/core';
import { exportReport, REPORT_CHAIN_STATE } from '@charter/gateway';
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';
import { JSON_ONLY } from './limits.ts';

/** Register the report routes. */
export function reportRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.post('/api/report', JSON_ONLY, async (req) => {
    const s = ctx.operator(req);
    const g = ctx.engine();
    // Counts still in the engine's memory belong in this report.
    await g.flushUsage();
    const report = await exportReport(
      ctx.parts().store,
      { integrity: g.integrity, now: epochSeconds() },
      async () => {},
    );
    await ctx.audit(s, 'report.export', { detail: `report ${report.seq}` });
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
    ctx.operator(req);
    const text = await ctx.parts().store.getState(REPORT_CHAIN_STATE);
    if (text === undefined) return { seq: 0 };
    const head = JSON.parse(text) as { seq: number; token: string };
    return {
      seq: head.seq,
      token: head.token,
      filename: `${ctx.engine().license.siteId}-report-${head.seq}.jwt`,
    };
  });
}
