/**
 * `sites`, their `licenses` and `revocation_updates`. A site's licenses and revocation updates share
 * one serial sequence (UNIQUE per table, re-checked across both by the operations), so a gateway can
 * order everything the vendor ever sent it.
 */
import { decodeJsonSegment, type LicenseClaims } from '@charter/core';
import type { VendorDb } from '../db.ts';

export function insertSite(db: VendorDb, s: { id: string; name: string; createdAt: number }): void {
  db.prepare('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)').run(s.id, s.name, s.createdAt);
}

export function siteById(db: VendorDb, id: string): { id: string; name: string } | undefined {
  return db.prepare('SELECT id, name FROM sites WHERE id = ?').get(id) as never;
}

/** Sites, oldest first. */
export function siteList(db: VendorDb): { id: string; name: string }[] {
  return db.prepare('SELECT id, name FROM sites ORDER BY created_at, rowid').all() as never;
}

/** Sites with their count of licenses, latest serial and latest expiry. */
export function siteSummaries(db: VendorDb): {
  site_id: string;
  name: string;
  licenses: number;
  latest_serial: number | null;
  latest_exp: number | null;
}[] {
  return db
    .prepare(
      `SELECT s.id AS site_id, s.name, COUNT(l.id) AS licenses, MAX(l.serial) AS latest_serial,
         (SELECT exp FROM licenses x WHERE x.site_id = s.id ORDER BY serial DESC LIMIT 1) AS latest_exp
       FROM sites s LEFT JOIN licenses l ON l.site_id = s.id GROUP BY s.id ORDER BY s.created_at, s.rowid`,
    )
    .all() as never;
}

/** The site's latest license (highest serial): serial and compact JWS. */
export function latestLicenseRow(
  db: VendorDb,
  siteId: string,
): { serial: number; token: string } | undefined {
  return db
    .prepare('SELECT serial, token FROM licenses WHERE site_id = ? ORDER BY serial DESC LIMIT 1')
    .get(siteId) as never;
}

/** The claims of a site's latest license, read from our own signed copy (no need to verify it). */
export function latestLicenseClaims(db: VendorDb, siteId: string): LicenseClaims | undefined {
  const row = latestLicenseRow(db, siteId);
  return row ? (decodeJsonSegment(row.token.split('.')[1] ?? '') as unknown as LicenseClaims) : undefined;
}

/** The next serial of a site: one sequence for its licenses and its revocation updates. */
export function nextSerial(db: VendorDb, siteId: string): number {
  const row = db
    .prepare(
      `SELECT MAX(s) AS s FROM (SELECT MAX(serial) AS s FROM licenses WHERE site_id = ?
         UNION ALL SELECT MAX(serial) AS s FROM revocation_updates WHERE site_id = ?)`,
    )
    .get(siteId, siteId) as { s: number | null };
  return (row.s ?? 0) + 1;
}

export function insertLicense(
  db: VendorDb,
  l: {
    id: string;
    siteId: string;
    serial: number;
    iat: number;
    exp: number;
    apps: string;
    mode: string;
    installationJkt: string | null;
    token: string;
    issuedBy: string;
  },
): void {
  db.prepare(
    'INSERT INTO licenses (id, site_id, serial, iat, exp, apps, mode, installation_jkt, token, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(l.id, l.siteId, l.serial, l.iat, l.exp, l.apps, l.mode, l.installationJkt, l.token, l.issuedBy);
}

export function licenseById(
  db: VendorDb,
  id: string,
): { id: string; site_id: string; serial: number; token: string } | undefined {
  return db.prepare('SELECT id, site_id, serial, token FROM licenses WHERE id = ?').get(id) as never;
}

/** Licenses as stored, newest first, optionally of one site. */
export function licenseRows(db: VendorDb, siteId?: string): Record<string, unknown>[] {
  return (
    siteId
      ? db.prepare('SELECT * FROM licenses WHERE site_id = ? ORDER BY iat DESC, serial DESC').all(siteId)
      : db.prepare('SELECT * FROM licenses ORDER BY iat DESC, serial DESC').all()
  ) as never;
}

export function insertRevocationUpdate(
  db: VendorDb,
  u: {
    id: string;
    siteId: string;
    serial: number;
    licenseSerial: number;
    iat: number;
    exp: number;
    revoked: string;
    token: string;
    issuedBy: string;
  },
): void {
  db.prepare(
    'INSERT INTO revocation_updates (id, site_id, serial, license_serial, iat, exp, revoked, token, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(u.id, u.siteId, u.serial, u.licenseSerial, u.iat, u.exp, u.revoked, u.token, u.issuedBy);
}

export function revocationUpdateById(
  db: VendorDb,
  id: string,
): { id: string; site_id: string; serial: number; token: string } | undefined {
  return db
    .prepare('SELECT id, site_id, serial, token FROM revocation_updates WHERE id = ?')
    .get(id) as never;
}

/** The site's latest revocation update (revoked set as JSON text). */
export function latestRevocationUpdate(
  db: VendorDb,
  siteId: string,
): { id: string; serial: number; exp: number; iat: number; revoked: string } | undefined {
  return db
    .prepare(
      'SELECT id, serial, exp, iat, revoked FROM revocation_updates WHERE site_id = ? ORDER BY serial DESC LIMIT 1',
    )
    .get(siteId) as never;
}
