/**
 * @charter/gateway — the on-prem admission gateway of SPEC.md §3. This entry is the framework-neutral
 * engine (`createGateway`, the decision API, DPoP proof verification) and the operator's tools on its
 * state (license install, activation, reports, revocations, audit chain). It loads no web framework
 * and no store driver; those are subpath entries, so a host loads only what it uses:
 *
 * - `@charter/gateway/fastify`  `charterFastify`, library mode for Fastify
 * - `@charter/gateway/express`  `charterMiddleware`, library mode for node:http, Express, Connect
 * - `@charter/gateway/server`   `startGateway`, proxy mode (Fastify + undici)
 * - `@charter/gateway/sqlite`   `SqliteStore` (native better-sqlite3)
 * - `@charter/gateway/pg`       `PgStore`, `PG_MIGRATIONS` (pg)
 * - `@charter/gateway/redis`    `RedisCache` (ioredis)
 * - `@charter/gateway/backends` `openBackends`: the store and cache a URL names, each driver loaded lazily
 */
export { type AccessClaims, TokenAuthority } from './access-token.ts';
export { ACTIVATION_TTL_S, createActivation, INSTALLATION_SECRET, installationKey } from './activation.ts';
export {
  type AssertionInput,
  type AttestationInput,
  type AttestationResult,
  type AttestationVerifier,
  attestationBinding,
} from './attestation.ts';
export { type AuditChainResult, auditHash, verifyAuditChain } from './audit.ts';
export { parseAuthorization } from './authorization.ts';
export {
  type BackendName,
  BackendStatus,
  backendStatusOf,
  type HasBackendStatus,
} from './backend-status.ts';
export type { EphemeralCache } from './cache.ts';
export {
  ATTESTER_ALG,
  ATTESTER_PATHS,
  ATTESTER_SECRET,
  CLIENT_ATTESTATION_MAX_TTL_S,
  CLIENT_ATTESTATION_TYP,
  type ClientAttestationClaims,
  ClientAttester,
  newAttesterKey,
  oauthClientMap,
  parseOAuthClients,
} from './client-attester.ts';
export { type AdmittedApp, PATHS } from './context.ts';
export {
  CORS_EXPOSED_HEADERS,
  CORS_METHODS,
  CORS_REQUEST_HEADERS,
  isCorsPath,
  isPreflight,
  licenseWebOrigins,
  mergeCorsHeaders,
  PREFLIGHT_MAX_AGE_S,
} from './cors.ts';
export {
  CHARTER_ATH_CLAIM,
  CHARTER_DPOP_HEADER,
  CHARTER_REFUSAL_HEADER,
  CHARTER_REQUEST_HEADERS,
  CHARTER_RESPONSE_HEADERS,
  CHARTER_TOKEN_HEADER,
  type CharterCredentials,
  CLIENT_ATTESTATION_HEADERS,
  charterCredentials,
  type UserCredential,
  userCredentialOf,
} from './credentials.ts';
export type { DecisionEvent, DecisionListener } from './decisions.ts';
export { type ProofClaims, type ProofExpectations, type VerifiedProof, verifyDpopProof } from './dpop.ts';
export {
  type Admission,
  createGateway,
  Gateway,
  type GatewayOptions,
  type HandleResult,
  type Integrity,
  type WellKnown,
} from './gateway.ts';
export {
  type AndroidRevocationStatus,
  androidRevocationStatus,
  createHardwareAttestationVerifier,
  type HardwareAttestationOptions,
} from './hardware-attestation.ts';
export { expectedHtu, normaliseHtu, type PublicBase, publicBaseOf } from './htu.ts';
export { INSTANCE_ALGS, type InstanceAlg } from './instance-key.ts';
export { installLicense, loadLicense, type SiteLicense } from './license.ts';
export {
  addLocalRevocation,
  LOCAL_REVOCATIONS_STATE,
  type LocalRevocation,
  LocalRevocations,
  readLocalRevocations,
} from './local-revocations.ts';
export { createGatewayLogger, type GatewayLoggerOptions } from './logger.ts';
export { MemoryCache, type MemoryCacheOptions } from './memory-cache.ts';
export type { RegisterResult } from './register.ts';
export { type ExportedReport, exportReport, REPORT_CHAIN_STATE } from './report.ts';
export type { CharterHeaders, CharterRequest } from './request.ts';
export {
  installRevocations,
  REVOCATION_UPDATE_STATE,
  type RevocationUpdate,
  readRevocationUpdate,
} from './revocation-update.ts';
export {
  type CompiledRoute,
  canonicalPath,
  compileRoutes,
  matchRoute,
  parseRoutes,
  pathReadings,
  type RouteRule,
  scopesFor,
  wildcardMatch,
} from './routes.ts';
export {
  BUILD_FOLDERS,
  checkBuild,
  hashFile,
  listBuildFiles,
  MANIFEST_FILE,
  type SealedBuild,
  sealedBuild,
  sealedTrust,
} from './sealed-trust.ts';
export type {
  AuditEntry,
  AuditEvent,
  GatewayStore,
  InstallOutcome,
  InstanceRecord,
  LicenseRecord,
} from './store.ts';
export type { TokenResult } from './token.ts';
export { GATEWAY_VERSION } from './version.ts';
