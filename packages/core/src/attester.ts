/**
 * The vendor attester's token (docs/spec-differences.md): an OAuth Client Attestation JWT
 * (draft-ietf-oauth-attestation-based-client-auth) that the vendor's online attester signs with a key
 * delegated for `use: "attester"`, after checking a device's evidence. `iss` is the vendor, `sub` the
 * app, `cnf.jwk` the instance key; `charter` says for which site and charter and what was proven.
 * A site's gateway verifies it offline to the vendor root through the license's `keys`, so an
 * operator who controls the gateway can check these tokens but never mint one.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ARTIFACT_TYP, type SigningKey, signArtifact } from './artifact.ts';
import { ClaimReader, ID } from './claims.ts';
import type { KeyRing } from './keyring.ts';
import { type VerifiedArtifact, type VerifyOptions, verifyVendorArtifact } from './verify.ts';

/** The longest life of an attester token, in seconds: it only has to last until registration. */
export const ATTESTER_TOKEN_MAX_TTL_S = 600;

/** What the attester saw: hardware evidence of the platform, or (web, desktop) only the instance key. */
export type AttesterEvidence = 'android-key' | 'apple-appattest' | 'key';

/** The claims of an attester token. */
export interface AttesterTokenClaims {
  iss: string;
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  cnf: { jwk: JWK };
  charter: {
    site_id: string;
    charter_id: string;
    platform: string;
    /** True when hardware evidence proved the app and device (android-key, apple-appattest). */
    attested: boolean;
    evidence: AttesterEvidence;
  };
}

/** A verified attester token. */
export interface VerifiedAttesterToken extends VerifiedArtifact {
  claims: AttesterTokenClaims;
  /** RFC 7638 thumbprint of `cnf.jwk`: the instance key the token is bound to. */
  jkt: string;
}

const EVIDENCE: readonly AttesterEvidence[] = ['android-key', 'apple-appattest', 'key'];
const B64URL = /^[A-Za-z0-9_-]{1,1024}$/;

/** Check the shape of attester token claims (step 11), refusing with `invalid_attestation`. */
function checkClaims(p: Record<string, unknown>): void {
  const r = new ClaimReader('invalid_attestation');
  r.string(p.sub, 'sub', ID);
  r.string(p.jti, 'jti', ID);
  const iat = r.integer(p.iat, 'iat');
  const nbf = r.integer(p.nbf, 'nbf');
  const exp = r.integer(p.exp, 'exp');
  if (exp <= nbf) r.fail('exp', 'must be after nbf');
  if (exp - Math.min(iat, nbf) > ATTESTER_TOKEN_MAX_TTL_S)
    r.fail('exp', `must be at most ${ATTESTER_TOKEN_MAX_TTL_S} s after iat`);
  const cnf = r.object(p.cnf, 'cnf');
  const jwk = r.object(cnf.jwk, 'cnf.jwk');
  const kty = r.string(jwk.kty, 'cnf.jwk.kty');
  if (jwk.d !== undefined) r.fail('cnf.jwk', 'must be a public key');
  if (kty === 'EC') {
    if (jwk.crv !== 'P-256') r.fail('cnf.jwk.crv', 'must be P-256');
    r.string(jwk.x, 'cnf.jwk.x', B64URL);
    r.string(jwk.y, 'cnf.jwk.y', B64URL);
  } else if (kty === 'OKP') {
    if (jwk.crv !== 'Ed25519') r.fail('cnf.jwk.crv', 'must be Ed25519');
    r.string(jwk.x, 'cnf.jwk.x', B64URL);
  } else r.fail('cnf.jwk.kty', 'must be EC or OKP');
  const c = r.object(p.charter, 'charter');
  r.string(c.site_id, 'charter.site_id', ID);
  r.string(c.charter_id, 'charter.charter_id', ID);
  r.string(c.platform, 'charter.platform', ID);
  r.boolean(c.attested, 'charter.attested');
  r.oneOf(c.evidence, 'charter.evidence', EVIDENCE);
}

/** The thumbprint of a public instance JWK's required members (RFC 7638). */
export function instanceJwkThumbprint(jwk: JWK): Promise<string> {
  const members =
    jwk.kty === 'EC'
      ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  return calculateJwkThumbprint(members as JWK);
}

/** Sign an attester token with a key delegated for `attester`. */
export function signAttesterToken(claims: AttesterTokenClaims, key: SigningKey): Promise<string> {
  return signArtifact(ARTIFACT_TYP.attester, claims, key);
}

/**
 * Verify an attester token in the order of verify.ts: only a key the ring resolves for `attester`
 * (a root-signed delegation the license carries) verifies it. Binding (cnf, sub, site, charter) and
 * single use are the caller's.
 */
export async function verifyAttesterToken(
  token: unknown,
  ring: KeyRing,
  options: VerifyOptions = {},
): Promise<VerifiedAttesterToken> {
  const v = await verifyVendorArtifact('attester', token, ring, options, checkClaims);
  const claims = v.payload as unknown as AttesterTokenClaims;
  return { ...v, claims, jkt: await instanceJwkThumbprint(claims.cnf.jwk) };
}
