/**
 * The vendor's state: one SQLite file under --home, schema moved forward by numbered migrations
 * recorded in `user_version`. Every decision lands in `events`, the vendor's record of who did what.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CharterError } from '@charter/core';
import Database from 'better-sqlite3';

/** The handle the vendor's operations use. */
export type VendorDb = Database.Database;

const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE root_keys (
    kid TEXT PRIMARY KEY, public_jwk TEXT NOT NULL, sealed TEXT, created_at INTEGER NOT NULL, exported_at INTEGER
  );
  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY, use TEXT NOT NULL, public_jwk TEXT NOT NULL, private_pkcs8 BLOB NOT NULL,
    delegation TEXT NOT NULL, nbf INTEGER NOT NULL, exp INTEGER NOT NULL, created_at INTEGER NOT NULL,
    retired_at INTEGER
  );
  CREATE TABLE publishers (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE apps (
    id TEXT PRIMARY KEY, publisher_id TEXT NOT NULL REFERENCES publishers(id), name TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE submissions (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), publisher_id TEXT NOT NULL,
    name TEXT NOT NULL, version TEXT NOT NULL, scopes TEXT NOT NULL, platforms TEXT NOT NULL,
    attestation TEXT, notes TEXT, status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected')),
    submitted_by TEXT NOT NULL, submitted_at INTEGER NOT NULL,
    decided_by TEXT, decided_at INTEGER, reason TEXT
  );
  CREATE INDEX submissions_app ON submissions(app_id);
  CREATE TABLE charters (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL REFERENCES apps(id), submission_id TEXT NOT NULL REFERENCES submissions(id),
    kid TEXT NOT NULL, iat INTEGER NOT NULL, exp INTEGER NOT NULL, token TEXT NOT NULL, approved_by TEXT NOT NULL
  );
  CREATE INDEX charters_app ON charters(app_id);
  CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE licenses (
    id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id), serial INTEGER NOT NULL,
    iat INTEGER NOT NULL, exp INTEGER NOT NULL, apps TEXT NOT NULL, mode TEXT NOT NULL,
    installation_jkt TEXT, token TEXT NOT NULL, issued_by TEXT NOT NULL, UNIQUE (site_id, serial)
  );
  CREATE TABLE revocations (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('charter','app','instance')), target TEXT NOT NULL,
    reason TEXT NOT NULL, revoked_by TEXT NOT NULL, revoked_at INTEGER NOT NULL, UNIQUE (kind, target)
  );
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE activations (
    jti TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id), jkt TEXT NOT NULL, iat INTEGER NOT NULL,
    gateway_version TEXT NOT NULL, integrity TEXT NOT NULL, token TEXT NOT NULL, received_at INTEGER NOT NULL
  );
  CREATE INDEX activations_site ON activations(site_id);
  CREATE TABLE reports (
    hash TEXT PRIMARY KEY, site_id TEXT NOT NULL, jkt TEXT NOT NULL, seq INTEGER NOT NULL, prev TEXT,
    iat INTEGER NOT NULL, token TEXT NOT NULL, received_at INTEGER NOT NULL
  );
  CREATE INDEX reports_site ON reports(site_id, seq);
  `,
  // 3: portal accounts and sessions (users.ts), and what uploaded binaries said (binaries.ts).
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, role TEXT NOT NULL CHECK (role IN ('publisher','reviewer','admin')),
    publisher_id TEXT REFERENCES publishers(id), password TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
    CHECK ((role = 'publisher') = (publisher_id IS NOT NULL))
  );
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL, ip TEXT NOT NULL
  );
  CREATE INDEX sessions_user ON sessions(user_id);
  CREATE TABLE submission_binaries (
    id TEXT PRIMARY KEY, submission_id TEXT NOT NULL REFERENCES submissions(id), kind TEXT NOT NULL,
    filename TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, facts TEXT NOT NULL,
    uploaded_by TEXT NOT NULL, uploaded_at INTEGER NOT NULL
  );
  CREATE INDEX submission_binaries_sub ON submission_binaries(submission_id);
  `,
  // 4: revocation updates (charter-revocations+jwt). Their serials share each site's license sequence.
  `
  CREATE TABLE revocation_updates (
    id TEXT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES sites(id), serial INTEGER NOT NULL,
    license_serial INTEGER NOT NULL, iat INTEGER NOT NULL, exp INTEGER NOT NULL, revoked TEXT NOT NULL,
    token TEXT NOT NULL, issued_by TEXT NOT NULL, UNIQUE (site_id, serial)
  );
  `,
];

/** Open (creating if needed) the vendor database at `path` and bring its schema up to date. */
export function openVendorDb(path: string): VendorDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: VendorDb;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new CharterError('unavailable', 'ERR_DB_OPEN', `cannot open the vendor database at ${path}`, {
      cause,
    });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    db.close();
    throw new CharterError(
      'conflict',
      'ERR_DB_VERSION',
      'the vendor database is from a newer version of Charter',
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
