/** `charters`: every charter the vendor signed, the compact JWS kept beside its approval. */
import type { VendorDb } from '../db.ts';

export function insertCharter(
  db: VendorDb,
  c: {
    id: string;
    appId: string;
    submissionId: string;
    kid: string;
    iat: number;
    exp: number;
    token: string;
    approvedBy: string;
  },
): void {
  db.prepare(
    'INSERT INTO charters (id, app_id, submission_id, kid, iat, exp, token, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(c.id, c.appId, c.submissionId, c.kid, c.iat, c.exp, c.token, c.approvedBy);
}

/** The latest charter signed for a submission. */
export function charterOfSubmission(
  db: VendorDb,
  submissionId: string,
): { id: string; app_id: string; exp: number; token: string } | undefined {
  return db
    .prepare('SELECT id, app_id, exp, token FROM charters WHERE submission_id = ? ORDER BY iat DESC LIMIT 1')
    .get(submissionId) as never;
}

/** The app's latest charter from any submission other than `submissionId`. */
export function latestOtherCharter(
  db: VendorDb,
  appId: string,
  submissionId: string,
): { id: string; submission_id: string; iat: number; exp: number } | undefined {
  return db
    .prepare(
      'SELECT id, submission_id, iat, exp FROM charters WHERE app_id = ? AND submission_id <> ? ORDER BY iat DESC, rowid DESC LIMIT 1',
    )
    .get(appId, submissionId) as never;
}

export function charterExists(db: VendorDb, id: string): boolean {
  return db.prepare('SELECT 1 FROM charters WHERE id = ?').get(id) !== undefined;
}

/** Whether the app has a charter still valid at `at`. */
export function hasLiveCharter(db: VendorDb, appId: string, at: number): boolean {
  return db.prepare('SELECT 1 FROM charters WHERE app_id = ? AND exp > ?').get(appId, at) !== undefined;
}

/** The app's charters valid at `at` with their submission's platforms (JSON text), in approval order. */
export function liveChartersWithPlatforms(
  db: VendorDb,
  appId: string,
  at: number,
): { id: string; platforms: string }[] {
  return db
    .prepare(
      `SELECT c.id, s.platforms FROM charters c JOIN submissions s ON s.id = c.submission_id
       WHERE c.app_id = ? AND c.exp > ? ORDER BY c.iat, c.rowid`,
    )
    .all(appId, at) as never;
}
