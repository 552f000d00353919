/** `revocations`: charters, apps and instances the vendor revoked; each (kind, target) once. */
import type { VendorDb } from '../db.ts';

export type RevocationKind = 'charter' | 'app' | 'instance';

export interface RevocationRow {
  id: string;
  kind: string;
  target: string;
  reason: string;
  revoked_by: string;
  revoked_at: number;
}

export function insertRevocation(
  db: VendorDb,
  r: {
    id: string;
    kind: RevocationKind;
    target: string;
    reason: string;
    revokedBy: string;
    revokedAt: number;
  },
): void {
  db.prepare(
    'INSERT INTO revocations (id, kind, target, reason, revoked_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(r.id, r.kind, r.target, r.reason, r.revokedBy, r.revokedAt);
}

export function isRevoked(db: VendorDb, kind: string, target: string): boolean {
  return (
    db.prepare('SELECT 1 FROM revocations WHERE kind = ? AND target = ?').get(kind, target) !== undefined
  );
}

/** All revocations, oldest first. */
export function revocationRows(db: VendorDb): RevocationRow[] {
  return db
    .prepare(
      'SELECT id, kind, target, reason, revoked_by, revoked_at FROM revocations ORDER BY revoked_at, rowid',
    )
    .all() as never;
}
