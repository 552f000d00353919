/**
 * @charter/core — keys, delegation, charters, site licenses, revocation and strict verification.
 * The one public entry of the package; nothing else may be imported from outside it.
 */
export {
  ARTIFACT_CODES,
  ARTIFACT_TYP,
  type ArtifactKind,
  type KeyUse,
  MAX_ARTIFACT_BYTES,
  type SigningKey,
  signArtifact,
} from './artifact.ts';
export {
  ATTESTER_TOKEN_MAX_TTL_S,
  type AttesterEvidence,
  type AttesterTokenClaims,
  instanceJwkThumbprint,
  signAttesterToken,
  type VerifiedAttesterToken,
  verifyAttesterToken,
} from './attester.ts';
export {
  type AttestationPolicy,
  attestationPolicyOf,
  type CharterClaims,
  type CharterPlatforms,
  checkCharterClaims,
  PLATFORMS,
  type Platform,
  signCharter,
  type VerifiedCharter,
  verifyCharter,
} from './charter.ts';
export { BUNDLE_ID, ClaimReader, ID, isCanonicalOrigin, JKT, SCOPE, SHA256_HEX, TEAM_ID } from './claims.ts';
export { type DelegationInput, signKeyDelegation } from './delegation.ts';
export {
  CharterError,
  type ClientError,
  descriptionOf,
  ERROR_DETAILS,
  type ErrorCode,
  type ErrorDetailCode,
  type ErrorDetailEntry,
  type Exposure,
  type HttpError,
  httpErrorOf,
  isCharterError,
  isErrorCode,
  isErrorDetailCode,
  isProtocolErrorCode,
  PROTOCOL_ERRORS,
  type ProtocolErrorCode,
  type Refuse,
  refuser,
  statusOf,
  TOOL_ERRORS,
  type ToolErrorCode,
} from './errors.ts';
export { newId } from './ids.ts';
export {
  type ActivationClaims,
  INSTALLATION_TYP,
  type Integrity,
  installationJkt,
  type ReportAppUsage,
  type ReportClaims,
  type ReportInstance,
  signInstallationArtifact,
  type VerifiedInstallationArtifact,
  verifyActivation,
  verifyInstallationArtifact,
  verifyReport,
} from './installation.ts';
export {
  exportPrivateKey,
  generateVendorKey,
  importEd25519PublicJwk,
  importPrivateKey,
  type PublicJwk,
  publicJwkOf,
  thumbprint,
  type VendorKeyPair,
} from './jwk.ts';
export { decodeJsonSegment, isCanonicalB64, normaliseTyp } from './jws.ts';
export { type KeyDelegation, KeyRing, verifyKeyDelegation } from './keyring.ts';
export {
  type AttestationSource,
  type ClockRollbackPolicy,
  checkLicenseClaims,
  DEFAULT_REGISTER_RATE,
  type LicenseClaims,
  type LicensedApp,
  type LicenseMode,
  type LicensePolicy,
  type SecurityLevel,
  signLicense,
  type VerifiedLicense,
  verifyLicense,
} from './license.ts';
export { type ManifestClaims, signManifest, verifyManifest } from './manifest.ts';
export {
  artifactTypOf,
  checkRevocationsClaims,
  MAX_REVOCATIONS_TTL_S,
  type RevocationsClaims,
  signRevocations,
  type VerifiedRevocations,
  verifyRevocations,
} from './revocations.ts';
export { openSealedKey, type SealedKey, sealPrivateKey } from './sealedKey.ts';
export { epochSeconds, type Instant, isoOf, parseDuration } from './time.ts';
export { parseTrustFile, type TrustDocument, trustFromDocument, type VendorTrust } from './trust.ts';
export {
  artifactHash,
  DEFAULT_CLOCK_TOLERANCE_S,
  type VerifiedArtifact,
  type VerifyOptions,
  verifyVendorArtifact,
} from './verify.ts';
