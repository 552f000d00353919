/**
 * @charter/gateway — the on-prem admission gateway of SPEC.md §3: a framework-neutral engine, its
 * library-mode adapters (Fastify plugin, Node/Express middleware), and proxy mode.
 * The one public entry of the package.
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
export {
  type BackendOptions,
  type Backends,
  isDbUrl,
  isRedisUrl,
  openBackends,
  sqlitePathOf,
} from './backends.ts';
export {
  MAX_BODY_BYTES,
  parseJsonBody,
  parseRegisterBody,
  parseTokenBody,
  type RegisterBody,
  type TokenBody,
} from './bodies.ts';
export type { EphemeralCache } from './cache.ts';
export {
  type ClientAttestationResult,
  clientAttestation,
} from './client-attestation.ts';
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
export { CLOCK_STATE, DEFAULT_CLOCK_TOLERANCE_S, TimeGuard } from './clock.ts';
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
export { type CharterFastifyOptions, charterFastify } from './fastify-plugin.ts';
export { foldHeaderName, isCharterHeaderName, stripCharterHeaders } from './forward-headers.ts';
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
export { createGatewayLogger } from './logger.ts';
export { MemoryCache, type MemoryCacheOptions } from './memory-cache.ts';
export { GatewayMetrics } from './metrics.ts';
export { type CharterIncomingMessage, charterMiddleware } from './middleware.ts';
export { PG_MIGRATIONS } from './pg-schema.ts';
export { PgStore, type PgStoreOptions } from './pg-store.ts';
export { RedisCache, type RedisCacheOptions } from './redis-cache.ts';
export type { RegisterResult } from './register.ts';
export { type GatewayReply, refusalReply } from './reply.ts';
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
export {
  type GatewayPlugin,
  type RunningGateway,
  type StartGatewayOptions,
  startGateway,
} from './server.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
export type {
  AuditEntry,
  AuditEvent,
  GatewayStore,
  InstallOutcome,
  InstanceRecord,
  LicenseRecord,
} from './store.ts';
export type { TokenResult } from './token.ts';
export { COUNTER, UsageCounters, usageOf } from './usage.ts';
export { GATEWAY_VERSION } from './version.ts';
export {
  aggregateWorkerMetrics,
  startWorkersOperations,
  type WorkerMetrics,
  type WorkersProbe,
} from './workers/operations.ts';
export { isWorkersStore, WorkersCache, type WorkersStore } from './workers-cache.ts';
