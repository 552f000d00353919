/**
 * Vendor artifacts: the `typ` of each signed file, its error codes, and signing.
 *
 * Each artifact is typed by purpose (RFC 8725 §3.11) so that a token made for one job can never be
 * accepted for another, and each kind maps its refusals onto one code of the SPEC catalogue.
 */
import type { KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import { CharterError, type ErrorCode } from './errors.ts';

/** Artifacts kinds signed with vendor keys, by purpose. */
export const ARTIFACT_TYP = {
  key: 'charter-key+jwt',
  charter: 'charter+jwt',
  license: 'charter-license+jwt',
  manifest: 'charter-manifest+jwt',
  revocations: 'charter-revocations+jwt',
  // The vendor attester's token is an OAuth Client Attestation JWT (draft-ietf-oauth-attestation-based-
  // client-auth), so an OAuth server takes it as is; only a key delegated for `attester` signs it.
  attester: 'oauth-client-attestation+jwt',
} as const;

/** The kind of a vendor artifact. */
export type ArtifactKind = keyof typeof ARTIFACT_TYP;

/** What a delegated vendor key may sign: charters, licenses, or attester statements. */
export type KeyUse = 'charter' | 'license' | 'attester';

/** The error code each kind of artifact refuses with, and the one for an expired artifact. */
export const ARTIFACT_CODES: Record<ArtifactKind, { invalid: ErrorCode; expired: ErrorCode }> = {
  key: { invalid: 'invalid_charter', expired: 'invalid_charter' },
  charter: { invalid: 'invalid_charter', expired: 'charter_expired' },
  license: { invalid: 'license_invalid', expired: 'license_invalid' },
  // A sealed gateway reads its own manifest; a failure only makes it report `unsealed`.
  manifest: { invalid: 'invalid_request', expired: 'invalid_request' },
  // A revocation update is a statement about the site's license: refused like one.
  revocations: { invalid: 'license_invalid', expired: 'license_invalid' },
  // A bad attester token is a failed attestation of the instance, refused at registration.
  attester: { invalid: 'invalid_attestation', expired: 'invalid_attestation' },
};

/** The largest artifact any verifier reads; anything longer is refused before it is parsed. */
export const MAX_ARTIFACT_BYTES = 64 * 1024;

/** A signing key: the private key and the kid (thumbprint) its verifiers look it up by. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

/**
 * Sign a JSON payload as a compact JWS with `alg: EdDSA`, the given `typ` and `kid`, nothing else;
 * `invalid_request` (`ERR_SIZE`) when the result would be larger than {@link MAX_ARTIFACT_BYTES}, which
 * no verifier reads: refused where it is made, not at the site that cannot install it.
 */
export async function signArtifact(typ: string, payload: object, key: SigningKey): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const jws = await new CompactSign(bytes)
    .setProtectedHeader({ alg: 'EdDSA', typ, kid: key.kid })
    .sign(key.privateKey);
  if (jws.length > MAX_ARTIFACT_BYTES) {
    const kind = Object.entries(ARTIFACT_TYP).find(([, t]) => t === typ)?.[0] ?? 'artifact';
    throw new CharterError(
      'invalid_request',
      'ERR_SIZE',
      `the ${kind} would be ${jws.length} bytes, more than the ${MAX_ARTIFACT_BYTES} a gateway reads`,
    );
  }
  return jws;
}
