/** Evidence read back from sites (evidence.ts does the checking): usage reports, and tracing an id. */
import { decodeJsonSegment } from '@charter/core';
import {
  checkVouched,
  type ReportVerdict,
  type TraceResult,
  trace as traceIn,
  type VouchedLookup,
  verifyReports as verifyIn,
} from '../evidence.ts';
import { now, record, reqId, type VendorContext, vendorIdOf } from './context.ts';

/** Verify usage reports (see evidence.ts) and keep those that verify for later chain checks. */
export async function verifyReports(
  ctx: VendorContext,
  tokens: string[],
  attester?: VouchedLookup,
): Promise<ReportVerdict> {
  vendorIdOf(ctx);
  const verdict = await verifyIn(ctx.db, tokens, now());
  if (attester) {
    // Only reports whose signature and installation verified count as the site's word.
    const ok = new Set(verdict.reports.filter((r) => r.status === 'ok').map((r) => r.file));
    const reports = tokens.flatMap((t, i) => {
      if (!ok.has(i)) return [];
      const claims = decodeJsonSegment(t.trim().split('.')[1] ?? '') as unknown as {
        site: string;
        instances?: Record<string, { app_id: string; charter_id: string; jkt?: string }>;
      };
      return [{ site: claims.site, instances: claims.instances }];
    });
    await checkVouched(ctx.db, verdict, reports, attester);
  }
  record(ctx, 'report.verify', `${tokens.length} reports`, {
    ok: verdict.ok,
    gaps: verdict.gaps.length,
    forks: verdict.forks.length,
    ...(verdict.unvouched ? { unvouched: verdict.unvouched.length } : {}),
  });
  return verdict;
}

/** Where a charter, app or instance id comes from and which sites admit it. */
export function trace(ctx: VendorContext, id: string): TraceResult {
  vendorIdOf(ctx);
  return traceIn(ctx.db, reqId(id, 'id'));
}
