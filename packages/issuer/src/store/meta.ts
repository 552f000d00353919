/**
 * The `meta` table (the vendor's id and name) and `events`, the vendor's record of who did what.
 * Every operation appends to `events` inside the transaction of the change it records.
 */
import type { VendorDb } from '../db.ts';

/** One row of `meta`, or undefined. */
export function getMeta(db: VendorDb, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function insertMeta(db: VendorDb, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
}

/** Append one entry to the decision record. */
export function insertEvent(
  db: VendorDb,
  e: { at: number; actor: string; action: string; subject: string; detail: Record<string, unknown> },
): void {
  db.prepare('INSERT INTO events (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)').run(
    e.at,
    e.actor,
    e.action,
    e.subject,
    JSON.stringify(e.detail),
  );
}

/** The decision record, oldest first, details still JSON text. */
export function eventRows(db: VendorDb): {
  seq: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}[] {
  return db.prepare('SELECT * FROM events ORDER BY seq').all() as never;
}
