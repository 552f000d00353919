/**
 * Strict, ordered verification of vendor artifacts. The order is fixed and documented so that the
 * same input always yields the same code and detail:
 *
 *  1. input is a string of at most 64 KiB                         ERR_FORMAT, ERR_SIZE
 *  2. three canonical base64url parts                             ERR_FORMAT
 *  3. the protected header is a JSON object                       ERR_HEADER
 *  4. `alg` is EdDSA (`none`, HMAC, anything else refused)        ERR_ALG_NONE, ERR_ALG_HMAC, ERR_ALG
 *  5. `typ` is the artifact's                                     ERR_TYP
 *  6. no `jku` `x5u` `jwk` `x5c`, no `crit`, no `b64`             ERR_HEADER_KEY, ERR_CRIT, ERR_HEADER
 *  7. `kid` resolves to a trusted key allowed for this use, valid now
 *                                       ERR_KID, ERR_KID_UNKNOWN, ERR_KEY_USE, ERR_KEY_EXPIRED, ERR_KEY_NOT_YET_VALID
 *  8. the signature verifies                                      ERR_SIGNATURE
 *  9. the payload is a JSON object                                ERR_PAYLOAD
 * 10. `iss` is the trusted vendor                                 ERR_ISS
 * 11. every claim is present and well-typed                       ERR_CLAIMS
 * 12. `nbf`, `exp`, `iat` against now, with a small skew          ERR_NOT_YET_VALID, ERR_EXPIRED, ERR_IAT
 * 13. `iat` falls inside the signing key's delegation window     ERR_KEY_WINDOW
 */
import { createHash, type KeyObject } from 'node:crypto';
import { base64url, compactVerify } from 'jose';
import { ARTIFACT_CODES, ARTIFACT_TYP, type ArtifactKind, type KeyUse } from './artifact.ts';
import { CharterError } from './errors.ts';
import { decodeJsonSegment, parseVendorJws } from './jws.ts';
import type { KeyRing } from './keyring.ts';
import { epochSeconds, type Instant } from './time.ts';

/** Default tolerance, in seconds, for clocks that disagree a little. */
export const DEFAULT_CLOCK_TOLERANCE_S = 60;

/** Options every vendor-artifact verifier takes. */
export interface VerifyOptions {
  /** The instant to verify at; now by default. */
  at?: Instant;
  /** Seconds of clock skew tolerated on nbf/exp/iat; 60 by default, at most 600. */
  clockToleranceS?: number;
  /** Internal: key delegations are checked for time by the key ring, with the caller's code. */
  skipTimeChecks?: boolean;
}

/** A verified artifact: its header, claims, and the window of the key that signed it. */
export interface VerifiedArtifact {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signer: { kid: string; nbf: number; exp: number; root: boolean };
}

/** A resolved signing key with its validity window (root keys have an unbounded one). */
export interface ResolvedKey {
  key: KeyObject;
  nbf: number;
  exp: number;
  root: boolean;
}

// A build manifest and a revocation update are signed with the license key: all three are statements
// the vendor makes to gateways, and existing vendor homes have that key without a rotation.
const USE_OF: Record<ArtifactKind, KeyUse | 'root'> = {
  key: 'root',
  charter: 'charter',
  license: 'license',
  manifest: 'license',
  revocations: 'license',
  attester: 'attester',
};

/**
 * Verify a vendor artifact of `kind` against a key ring, in the documented order. Claim validation
 * beyond `iss` and the time claims is the caller's (`check`), run at step 11.
 */
export async function verifyVendorArtifact(
  kind: ArtifactKind,
  input: unknown,
  ring: KeyRing,
  options: VerifyOptions,
  check: (payload: Record<string, unknown>) => void,
): Promise<VerifiedArtifact> {
  const codes = ARTIFACT_CODES[kind];
  const tolerance = Math.min(Math.max(options.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S, 0), 600);
  const now = epochSeconds(options.at);
  const parsed = parseVendorJws(input, ARTIFACT_TYP[kind], codes.invalid);
  const kid = parsed.header.kid as string;
  const signer = await ring.resolve(kid, USE_OF[kind], codes.invalid, now);

  try {
    await compactVerify(parsed.token, signer.key, { algorithms: ['EdDSA'] });
  } catch {
    throw new CharterError(codes.invalid, 'ERR_SIGNATURE', 'the signature does not verify');
  }

  const payload = decodeJsonSegment(parsed.payloadB64);
  if (!payload) throw new CharterError(codes.invalid, 'ERR_PAYLOAD', 'the payload is not a JSON object');
  if (payload.iss !== ring.trust.vendorId) {
    throw new CharterError(codes.invalid, 'ERR_ISS', 'the issuer is not the trusted vendor');
  }
  check(payload);
  if (options.skipTimeChecks)
    return {
      header: parsed.header,
      payload,
      signer: { kid, nbf: signer.nbf, exp: signer.exp, root: signer.root },
    };

  const { nbf, exp, iat } = payload as { nbf: number; exp: number; iat?: number };
  if (nbf > now + tolerance)
    throw new CharterError(codes.invalid, 'ERR_NOT_YET_VALID', 'the artifact is not valid yet');
  if (exp <= now - tolerance)
    throw new CharterError(codes.expired, 'ERR_EXPIRED', 'the artifact has expired');
  if (iat !== undefined && iat > now + tolerance) {
    throw new CharterError(codes.invalid, 'ERR_IAT', 'the artifact claims to be issued in the future');
  }
  const issued = iat ?? nbf;
  if (issued < signer.nbf - tolerance || issued > signer.exp) {
    throw new CharterError(
      codes.invalid,
      'ERR_KEY_WINDOW',
      'the artifact was issued outside its signing key’s validity',
    );
  }
  return {
    header: parsed.header,
    payload,
    signer: { kid, nbf: signer.nbf, exp: signer.exp, root: signer.root },
  };
}

/** SHA-256 of a compact JWS as base64url, the hash that chains reports and identifies artifacts. */
export function artifactHash(token: string): string {
  return base64url.encode(createHash('sha256').update(token, 'ascii').digest());
}
