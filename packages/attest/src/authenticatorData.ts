/**
 * App Attest authenticator data (WebAuthn layout): rpIdHash(32) flags(1) signCount(4), then for an
 * attestation aaguid(16) credentialIdLength(2) credentialId(L) credentialPublicKey(COSE) [extensions].
 *
 * Parsed the way real devices produce it, not the way strict WebAuthn parsers want it: Apple's own
 * documentation sample carries extension bytes after the COSE key WITHOUT the ED flag, and every
 * assertion sets the AT flag although it has no attested credential data. So flags are not used to
 * locate fields; attested data is read only for attestations, and what follows the credential id is
 * never interpreted (the credential key comes from the certificate, as Apple's step 5 says). Nothing is
 * lost: the whole authenticator data is covered by the nonce (attestation) or the signature (assertion).
 */
import { malformed } from './errors.ts';

/** The fields every authenticator data has. */
export interface AuthenticatorData {
  rpIdHash: Uint8Array;
  flags: number;
  signCount: number;
}

/** Attestation authenticator data adds the attested credential. */
export interface AttestedAuthenticatorData extends AuthenticatorData {
  aaguid: Uint8Array;
  credentialId: Uint8Array;
}

/** Parse the 37-byte prefix every authenticator data has (trailing bytes are allowed, see above). */
export function parseAuthenticatorData(data: Uint8Array): AuthenticatorData {
  if (data.byteLength < 37) malformed('The authenticator data is truncated.');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { rpIdHash: data.subarray(0, 32), flags: data[32]!, signCount: view.getUint32(33) };
}

/** Parse attestation authenticator data through the credential id. */
export function parseAttestedAuthenticatorData(data: Uint8Array): AttestedAuthenticatorData {
  const base = parseAuthenticatorData(data);
  if (data.byteLength < 55) malformed('The authenticator data has no attested credential.');
  const length = (data[53]! << 8) | data[54]!;
  if (55 + length > data.byteLength) malformed('The authenticator data credential id is truncated.');
  return { ...base, aaguid: data.subarray(37, 53), credentialId: data.subarray(55, 55 + length) };
}
