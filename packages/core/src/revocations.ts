/**
 * Revocation updates (`charter-revocations+jwt`): the vendor's signed, complete list of what is
 * revoked for one site, issued at once without touching the license's terms.
 *
 * Ordering: an update has its own `serial`, taken from the same per-site sequence as the site's
 * licenses, and names the latest license it was made on top of (`license_serial`, always below
 * `serial`). A gateway applies it on top of any license with a lower serial and lets a license with a
 * higher serial (issued later, so carrying every revocation then in force) supersede it. Signed with
 * the `license` key, like the license itself; the `typ` keeps one from ever being read as the other.
 */
import { ARTIFACT_TYP, type SigningKey, signArtifact } from './artifact.ts';
import { ClaimReader, ID } from './claims.ts';
import { decodeJsonSegment, normaliseTyp } from './jws.ts';
import type { KeyRing } from './keyring.ts';
import type { LicenseClaims } from './license.ts';
import { type VerifiedArtifact, type VerifyOptions, verifyVendorArtifact } from './verify.ts';

/** The longest validity a revocation update may claim: it is a fresh statement, not a license. */
export const MAX_REVOCATIONS_TTL_S = 30 * 86400;

/** The claims of a revocation update. */
export interface RevocationsClaims {
  iss: string;
  /** The site id. */
  sub: string;
  jti: string;
  /** In the site's serial sequence, shared with its licenses. */
  serial: number;
  /** The site's latest license when this update was made; below `serial`. */
  license_serial: number;
  iat: number;
  nbf: number;
  exp: number;
  /** The full current revocation set (not a delta). */
  revoked: LicenseClaims['revoked'];
  /** The `charter-key+jwt` delegation of the signing key. */
  keys: string[];
}

/** A verified revocation update. */
export interface VerifiedRevocations extends VerifiedArtifact {
  claims: RevocationsClaims;
}

/** Check the shape of revocation-update claims (step 11), refusing with `license_invalid`. */
export function checkRevocationsClaims(
  p: Record<string, unknown>,
): asserts p is Record<string, unknown> & RevocationsClaims {
  const r = new ClaimReader('license_invalid');
  r.string(p.sub, 'sub', ID);
  r.string(p.jti, 'jti', ID);
  const serial = r.integer(p.serial, 'serial', 2);
  const base = r.integer(p.license_serial, 'license_serial', 1);
  if (base >= serial) r.fail('license_serial', 'must be below serial');
  r.integer(p.iat, 'iat');
  const nbf = r.integer(p.nbf, 'nbf');
  const exp = r.integer(p.exp, 'exp');
  if (exp <= nbf) r.fail('exp', 'must be after nbf');
  if (exp - nbf > MAX_REVOCATIONS_TTL_S) r.fail('exp', 'must be at most 30 days after nbf');
  const revoked = r.object(p.revoked, 'revoked');
  r.optionalStrings(revoked.charters, 'revoked.charters', ID);
  r.optionalStrings(revoked.apps, 'revoked.apps', ID);
  r.optionalStrings(revoked.instances, 'revoked.instances', ID);
  r.strings(p.keys, 'keys', undefined, { max: 100 });
}

/** Sign a revocation update with a key delegated for `license` use. */
export async function signRevocations(claims: RevocationsClaims, key: SigningKey): Promise<string> {
  return signArtifact(ARTIFACT_TYP.revocations, claims, key);
}

/**
 * Verify a revocation update against the trust anchor (the delegations it carries in `keys` are
 * added to `ring`, each verified against a root before use, as for a license).
 */
export async function verifyRevocations(
  token: unknown,
  ring: KeyRing,
  options: VerifyOptions = {},
): Promise<VerifiedRevocations> {
  if (typeof token === 'string') {
    const payloadB64 = token.split('.')[1];
    if (payloadB64 && payloadB64.length <= 65536) {
      const keys = decodeJsonSegment(payloadB64)?.keys;
      if (Array.isArray(keys)) ring.add(keys.filter((k): k is string => typeof k === 'string'));
    }
  }
  const v = await verifyVendorArtifact('revocations', token, ring, options, checkRevocationsClaims);
  return { ...v, claims: v.payload as unknown as RevocationsClaims };
}

/** The `typ` of a compact JWS (normalised), read without verifying, to route a file to its verifier. */
export function artifactTypOf(token: string): string | undefined {
  const header = decodeJsonSegment(token.trim().split('.')[0] ?? '');
  return typeof header?.typ === 'string' ? normaliseTyp(header.typ) : undefined;
}
