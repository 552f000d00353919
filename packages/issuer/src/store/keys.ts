/**
 * `root_keys` (the root, sealed under the passphrase, or exported away) and `signing_keys` (the
 * delegated charter, license and attester keys). Private key bytes leave this file only to be signed with.
 */
import type { VendorDb } from '../db.ts';

export function insertRootKey(
  db: VendorDb,
  k: { kid: string; publicJwk: string; sealed: string; createdAt: number },
): void {
  db.prepare('INSERT INTO root_keys (kid, public_jwk, sealed, created_at) VALUES (?, ?, ?, ?)').run(
    k.kid,
    k.publicJwk,
    k.sealed,
    k.createdAt,
  );
}

/** The newest root key; `sealed` is null once it was exported with removal. */
export function latestRootKey(db: VendorDb): { kid: string; sealed: string | null } | undefined {
  return db.prepare('SELECT kid, sealed FROM root_keys ORDER BY created_at DESC LIMIT 1').get() as never;
}

export function rootKeyExists(db: VendorDb, kid: unknown): boolean {
  return db.prepare('SELECT kid FROM root_keys WHERE kid = ?').get(kid) !== undefined;
}

export function markRootExported(db: VendorDb, kid: string, at: number, remove: boolean): void {
  db.prepare('UPDATE root_keys SET exported_at = ? WHERE kid = ?').run(at, kid);
  if (remove) db.prepare('UPDATE root_keys SET sealed = NULL WHERE kid = ?').run(kid);
}

export function setRootSealed(db: VendorDb, kid: string, sealed: string): void {
  db.prepare('UPDATE root_keys SET sealed = ? WHERE kid = ?').run(sealed, kid);
}

/** Every root public JWK (JSON text), oldest first: the trust document's key set. */
export function rootPublicJwks(db: VendorDb): string[] {
  return (
    db.prepare('SELECT public_jwk FROM root_keys ORDER BY created_at').all() as { public_jwk: string }[]
  ).map((r) => r.public_jwk);
}

export interface SigningKeyRow {
  kid: string;
  use: string;
  publicJwk: string;
  privatePkcs8: Buffer;
  delegation: string;
  nbf: number;
  exp: number;
  createdAt: number;
}

export function insertSigningKey(db: VendorDb, k: SigningKeyRow): void {
  db.prepare(
    'INSERT INTO signing_keys (kid, use, public_jwk, private_pkcs8, delegation, nbf, exp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(k.kid, k.use, k.publicJwk, k.privatePkcs8, k.delegation, k.nbf, k.exp, k.createdAt);
}

/** Retire the active keys of one use (a rotation); retired keys keep verifying until they expire. */
export function retireSigningKeys(db: VendorDb, use: string, at: number): void {
  db.prepare('UPDATE signing_keys SET retired_at = ? WHERE use = ? AND retired_at IS NULL').run(at, use);
}

/** Signing keys, newest first. */
export function signingKeyRows(
  db: VendorDb,
): { kid: string; use: string; nbf: number; exp: number; retired_at: number | null }[] {
  return db
    .prepare('SELECT kid, use, nbf, exp, retired_at FROM signing_keys ORDER BY created_at DESC, rowid DESC')
    .all() as never;
}

/** The newest unretired key of a use (expired or not: the caller decides). */
export function activeSigningKey(
  db: VendorDb,
  use: string,
): { kid: string; private_pkcs8: Buffer; delegation: string; exp: number } | undefined {
  return db
    .prepare(
      'SELECT kid, private_pkcs8, delegation, exp FROM signing_keys WHERE use = ? AND retired_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1',
    )
    .get(use) as never;
}

export function signingKeyPublicJwk(db: VendorDb, kid: string): string | undefined {
  const row = db.prepare('SELECT public_jwk FROM signing_keys WHERE kid = ?').get(kid) as
    | { public_jwk: string }
    | undefined;
  return row?.public_jwk;
}

/** The delegations of every key (or of one use) still valid at `at`, oldest first. */
export function validDelegations(db: VendorDb, at: number, use?: string): string[] {
  const rows = (
    use === undefined
      ? db.prepare('SELECT delegation FROM signing_keys WHERE exp > ? ORDER BY created_at').all(at)
      : db
          .prepare('SELECT delegation FROM signing_keys WHERE use = ? AND exp > ? ORDER BY created_at')
          .all(use, at)
  ) as { delegation: string }[];
  return rows.map((r) => r.delegation);
}
