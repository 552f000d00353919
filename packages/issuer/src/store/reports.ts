/**
 * `reports`: usage reports a site sent back, kept by evidence.ts once they verify. Only the reads the
 * revocation status needs live here; the chain checks themselves are evidence.ts's.
 */
import type { VendorDb } from '../db.ts';

/** The compact JWS of every report kept for a site. */
export function reportTokensOfSite(db: VendorDb, siteId: string): string[] {
  return (db.prepare('SELECT token FROM reports WHERE site_id = ?').all(siteId) as { token: string }[]).map(
    (r) => r.token,
  );
}
