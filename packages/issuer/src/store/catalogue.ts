/**
 * The catalogue: `publishers`, `apps`, `submissions` (what a publisher asked for, and the decision)
 * and `submission_binaries` (what an uploaded binary said about itself; never the binary).
 * JSON columns (scopes, platforms, attestation, facts) are stored and returned as text here; the
 * operations parse them.
 */
import type { VendorDb } from '../db.ts';

export function insertPublisher(db: VendorDb, p: { id: string; name: string; createdAt: number }): void {
  db.prepare('INSERT INTO publishers (id, name, created_at) VALUES (?, ?, ?)').run(p.id, p.name, p.createdAt);
}

export function publisherRows(db: VendorDb): { id: string; name: string; created_at: number }[] {
  return db.prepare('SELECT id, name, created_at FROM publishers ORDER BY created_at, rowid').all() as never;
}

export function publisherById(db: VendorDb, id: string): { id: string; name: string } | undefined {
  return db.prepare('SELECT id, name FROM publishers WHERE id = ?').get(id) as never;
}

export function appPublisher(db: VendorDb, appId: string): { publisher_id: string } | undefined {
  return db.prepare('SELECT publisher_id FROM apps WHERE id = ?').get(appId) as never;
}

export function appExists(db: VendorDb, appId: string): boolean {
  return db.prepare('SELECT 1 FROM apps WHERE id = ?').get(appId) !== undefined;
}

export function insertApp(
  db: VendorDb,
  a: { id: string; publisherId: string; name: string; createdAt: number },
): void {
  db.prepare('INSERT INTO apps (id, publisher_id, name, created_at) VALUES (?, ?, ?, ?)').run(
    a.id,
    a.publisherId,
    a.name,
    a.createdAt,
  );
}

/** A resubmission renames the app to the name it now carries. */
export function renameApp(db: VendorDb, appId: string, name: string): void {
  db.prepare('UPDATE apps SET name = ? WHERE id = ?').run(name, appId);
}

export interface SubmissionInsert {
  id: string;
  appId: string;
  publisherId: string;
  name: string;
  version: string;
  scopes: string;
  platforms: string;
  attestation: string | null;
  notes: string | null;
  submittedBy: string;
  submittedAt: number;
}

/** A new submission, always `pending`. */
export function insertSubmission(db: VendorDb, s: SubmissionInsert): void {
  db.prepare(
    `INSERT INTO submissions (id, app_id, publisher_id, name, version, scopes, platforms, attestation, notes, status, submitted_by, submitted_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
  ).run(
    s.id,
    s.appId,
    s.publisherId,
    s.name,
    s.version,
    s.scopes,
    s.platforms,
    s.attestation,
    s.notes,
    s.submittedBy,
    s.submittedAt,
  );
}

/** One submission row as stored (JSON columns as text), or undefined. */
export function submissionRow(db: VendorDb, id: string): Record<string, unknown> | undefined {
  return db.prepare('SELECT * FROM submissions WHERE id = ?').get(id) as never;
}

/** Submission ids, newest first, optionally of one status. */
export function submissionIds(db: VendorDb, status?: string): string[] {
  const rows = (
    status
      ? db
          .prepare('SELECT id FROM submissions WHERE status = ? ORDER BY submitted_at DESC, rowid DESC')
          .all(status)
      : db.prepare('SELECT id FROM submissions ORDER BY submitted_at DESC, rowid DESC').all()
  ) as { id: string }[];
  return rows.map((r) => r.id);
}

/**
 * Decide a submission that is still pending; the number of rows changed (0: someone decided it
 * meanwhile), so a race between two reviewers never records two decisions.
 */
export function decideSubmission(
  db: VendorDb,
  d: { id: string; status: 'approved' | 'rejected'; by: string; at: number; reason?: string },
): number {
  if (d.status === 'approved')
    return db
      .prepare(
        `UPDATE submissions SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'`,
      )
      .run(d.by, d.at, d.id).changes;
  return db
    .prepare(
      `UPDATE submissions SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ? WHERE id = ? AND status = 'pending'`,
    )
    .run(d.by, d.at, d.reason ?? null, d.id).changes;
}

/** Apps with their publisher, latest submission status, latest charter and whether the app is revoked. */
export function appRows(db: VendorDb): Record<string, unknown>[] {
  return db
    .prepare(
      `SELECT a.id AS app_id, a.name, a.publisher_id, p.name AS publisher,
         (SELECT status FROM submissions s WHERE s.app_id = a.id ORDER BY submitted_at DESC, rowid DESC LIMIT 1) AS status,
         (SELECT id FROM submissions s WHERE s.app_id = a.id ORDER BY submitted_at DESC, rowid DESC LIMIT 1) AS latest_submission,
         (SELECT id FROM charters c WHERE c.app_id = a.id ORDER BY iat DESC, rowid DESC LIMIT 1) AS charter_id,
         (SELECT exp FROM charters c WHERE c.app_id = a.id ORDER BY iat DESC, rowid DESC LIMIT 1) AS charter_exp,
         EXISTS (SELECT 1 FROM revocations r WHERE r.kind = 'app' AND r.target = a.id) AS revoked
       FROM apps a JOIN publishers p ON p.id = a.publisher_id ORDER BY a.created_at, a.rowid`,
    )
    .all() as never;
}

export interface BinaryInsert {
  id: string;
  submissionId: string;
  kind: string;
  filename: string;
  size: number;
  sha256: string;
  facts: string;
  uploadedBy: string;
  uploadedAt: number;
}

export function insertBinary(db: VendorDb, b: BinaryInsert): void {
  db.prepare(
    'INSERT INTO submission_binaries (id, submission_id, kind, filename, size, sha256, facts, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(b.id, b.submissionId, b.kind, b.filename, b.size, b.sha256, b.facts, b.uploadedBy, b.uploadedAt);
}

/** Binaries recorded for a submission, oldest first (facts as JSON text). */
export function binaryRows(db: VendorDb, submissionId: string): Record<string, unknown>[] {
  return db
    .prepare('SELECT * FROM submission_binaries WHERE submission_id = ? ORDER BY uploaded_at, rowid')
    .all(submissionId) as never;
}
