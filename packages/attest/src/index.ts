/**
 * @charter/attest — offline verification of Android Key Attestation and Apple App Attest (attestation
 * and assertion). The production entry of the package; `@charter/attest/testing` mints attestations
 * under test roots for tests, demos and benchmarks, and is never loaded by the product.
 */
export {
  type AuthenticatorData,
  parseAuthenticatorData,
} from './authenticatorData.ts';
export { androidBinding, attestationBinding, samePublicKey, spkiOf } from './binding.ts';
export { MAX_CHAIN_LENGTH } from './chain.ts';
export type { AttestErrorDetail } from './errors.ts';
export {
  type AndroidSecurityLevel,
  type AttestedPackage,
  KEY_DESCRIPTION_OID,
  type KeyDescriptionInfo,
  KNOWN_ATTESTATION_VERSIONS,
  parseKeyDescription,
  type VerifiedBootState,
} from './keyDescription.ts';
export {
  ANDROID_REVOCATION_SNAPSHOT,
  ANDROID_REVOCATION_SNAPSHOT_DATE,
  normalizeSerial,
  type RevocationEntry,
  RevocationList,
  type RevocationSnapshot,
  revocationSnapshotAgeDays,
} from './revocation.ts';
export {
  APPLE_APP_ATTESTATION_ROOT_PEM,
  appleAppAttestationRoots,
  certificatesFromPem,
  GOOGLE_HARDWARE_ROOT_PEMS,
  googleHardwareRoots,
  loadTrustAnchors,
  type TrustAnchor,
} from './roots.ts';
export {
  type AndroidKeyAttestation,
  type AndroidKeyAttestationOptions,
  androidAttestationJson,
  verifyAndroidKeyAttestation,
} from './verifyAndroidKeyAttestation.ts';
export {
  type AppleAppAttestation,
  type AppleAppAttestationOptions,
  appleAttestationJson,
  verifyAppleAppAttestation,
} from './verifyAppleAppAttestation.ts';
export {
  type AppleAssertion,
  type AppleAssertionOptions,
  verifyAppleAssertion,
} from './verifyAppleAssertion.ts';
