/**
 * The registry of detail codes: every `ERR_*` a {@link CharterError} carries in `detail`, with the
 * catalogue code(s) (`error`) it travels with, who may see it, and what it means. One list for all
 * packages; `packages/core/test/error-details.test.ts` fails on a literal in any package's source that
 * is not here, and on any entry missing from the table in docs/errors.md (or the other way round).
 *
 * A detail code is never on a gateway's wire: a client sees `error` and `error_description` only (see
 * {@link toHttpError}). `seen` says where the detail does go:
 * - `internal`: logs, the audit chain, the operator's console and command line;
 * - `app`: raised inside the app by `@charter/client`, so the app's own code reads it.
 * `relayed` as `error` means the code is the one the other side sent.
 *
 * Browser-safe: no imports with side effects, so `@charter/core/errors` stays usable by the SDK.
 */
import type { ErrorCode } from './errors.ts';

/** One registered detail code. */
export interface ErrorDetailEntry {
  readonly error: readonly ErrorCode[] | 'relayed';
  readonly seen: 'internal' | 'app';
  readonly meaning: string;
}

export const ERROR_DETAILS = {
  ERR_ACTIVATION_EXPIRED: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'the activation request has expired: make a new one',
  },
  ERR_ACTIVATION_SITE: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'the activation request is for site …, not …',
  },
  ERR_ALG: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the alg is not EdDSA',
  },
  ERR_ALG_HMAC: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'HMAC algorithms are refused for vendor artifacts',
  },
  ERR_ALG_NONE: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'unsigned artifacts (alg none) are refused',
  },
  ERR_ANDROID_CERT: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an Android app needs at least one --android-cert-sha256',
  },
  ERR_ANDROID_PACKAGE: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an Android app needs --android-package like com.example.app',
  },
  ERR_APPS: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'site … has no license to renew yet: name the apps of its first license (--apps A1,A2)',
  },
  ERR_APP_NOT_APPROVED: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'app … has no approved, unexpired charter',
  },
  ERR_APP_NOT_LICENSED: {
    error: ['app_not_admitted'],
    seen: 'internal',
    meaning: 'the license does not admit this app',
  },
  ERR_APP_PUBLISHER: { error: ['conflict'], seen: 'internal', meaning: 'app … belongs to another publisher' },
  ERR_APP_REVOKED: {
    error: ['charter_revoked', 'conflict'],
    seen: 'internal',
    meaning: 'the license revokes this app',
  },
  ERR_ASSERTION: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the assertion verifier failed',
  },
  ERR_ASSERTION_MISSING: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'an App Attest instance must send an assertion with each token request',
  },
  ERR_ASSERTION_NONCE: {
    error: ['use_dpop_nonce'],
    seen: 'internal',
    meaning: 'an App Attest instance needs a server nonce on token requests',
  },
  ERR_ATTESTATION: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation verifier failed',
  },
  ERR_ATTESTATION_MISSING: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'the charter requires … attestation',
  },
  ERR_ATTESTATION_UNSUPPORTED: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'this gateway has no attestation verifier',
  },
  ERR_ATTESTER_CHARTER: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attester token was issued for another app or charter',
  },
  ERR_ATTESTER_KEY: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attester token is bound to another instance key',
  },
  ERR_ATTESTER_NOT_LICENSED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the license of this site does not accept the vendor attester: attest on the device',
  },
  ERR_ATTESTER_PLATFORM: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attester token was issued for another platform',
  },
  ERR_ATTESTER_REPLAY: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attester token was already used',
  },
  ERR_ATTESTER_SITE: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attester token was issued for another site',
  },
  ERR_ATTESTER_TOKEN_MISSING: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'this site requires a token of the vendor attester at registration',
  },
  ERR_ATTESTER_UNATTESTED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the charter requires … attestation and the attester saw no hardware evidence',
  },
  ERR_ATTEST_APP_ID: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attested app is not the expected one',
  },
  ERR_ATTEST_BOOT: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the device is not locked with a verified boot state',
  },
  ERR_ATTEST_CHAIN: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the certificate chain is broken (issuer, signature, CA flag, path length, critical extension)',
  },
  ERR_ATTEST_CHALLENGE: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation challenge does not match',
  },
  ERR_ATTEST_COUNTER: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the App Attest counter is wrong (not zero at attestation, not increasing)',
  },
  ERR_ATTEST_DEVELOPMENT: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'development App Attest keys are not accepted',
  },
  ERR_ATTEST_ENVIRONMENT: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation names an unknown App Attest environment',
  },
  ERR_ATTEST_EXPIRED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'a certificate is outside its validity at the verification time',
  },
  ERR_ATTEST_EXTENSION: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the leaf certificate has no key attestation extension',
  },
  ERR_ATTEST_FORMAT: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation is not of the expected format',
  },
  ERR_ATTEST_KEY: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attested key is not the instance key that signed the proof',
  },
  ERR_ATTEST_KEY_ID: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the key id does not match the attested key',
  },
  ERR_ATTEST_KEY_ORIGIN: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attested key was not generated on the device',
  },
  ERR_ATTEST_MALFORMED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation cannot be decoded',
  },
  ERR_ATTEST_NONCE: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attestation nonce does not match the client data hash',
  },
  ERR_ATTEST_PLATFORM: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the charter does not name an Android app',
  },
  ERR_ATTEST_REVOKED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'certificate … has been revoked',
  },
  ERR_ATTEST_ROOT: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the chain does not end at a trusted root',
  },
  ERR_ATTEST_SECURITY_LEVEL: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the key is not held at the required security level',
  },
  ERR_ATTEST_SIGNATURE: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the assertion signature does not verify',
  },
  ERR_ATTEST_SOFTWARE: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the key is attested by software, not by secure hardware',
  },
  ERR_ATTEST_UNSUPPORTED: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the attested key is of a kind not supported',
  },
  ERR_AUDIT_WRITE: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'the audit entry of a registration could not be written, so it is not acknowledged',
  },
  ERR_BINARY: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an uploaded APK or IPA file cannot be read',
  },
  ERR_BODY: { error: ['invalid_request'], seen: 'internal', meaning: 'the body must be a JSON object' },
  ERR_BODY_ASSERTION: { error: ['invalid_request'], seen: 'internal', meaning: 'assertion must be a string' },
  ERR_BODY_ATTESTATION: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'attestation must be an object',
  },
  ERR_BODY_ATTESTER_TOKEN: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'attester_token must be a string',
  },
  ERR_BODY_CHARTER: { error: ['invalid_request'], seen: 'internal', meaning: 'charter must be a string' },
  ERR_BODY_INSTANCE: { error: ['invalid_request'], seen: 'internal', meaning: 'instance_id must be an id' },
  ERR_BODY_JSON: { error: ['invalid_request'], seen: 'internal', meaning: 'the body is not JSON' },
  ERR_BODY_PLATFORM: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'platform must be a platform name',
  },
  ERR_BODY_READ: { error: ['invalid_request'], seen: 'internal', meaning: 'the body could not be read' },
  ERR_BODY_SHAPE: { error: ['invalid_request'], seen: 'internal', meaning: 'the body is not a JSON object' },
  ERR_BODY_SITE: { error: ['invalid_request'], seen: 'internal', meaning: 'site_id must be an id' },
  ERR_BODY_SIZE: { error: ['invalid_request'], seen: 'internal', meaning: 'the body is too large' },
  ERR_CACHE: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'the shared cache (Redis) cannot be reached',
  },
  ERR_CACHE_FULL: { error: ['unavailable'], seen: 'internal', meaning: 'the ephemeral cache is full' },
  ERR_CACHE_LOST: {
    error: ['unavailable'],
    seen: 'internal',
    meaning:
      'the shared cache lost its data; first use is refused until no used proof can still be presented',
  },
  ERR_CACHE_NOT_SHARED: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the store is shared by replicas (PostgreSQL) but the replay cache would be this process’s own:',
  },
  ERR_CHARTER_EXPIRED: {
    error: ['charter_expired'],
    seen: 'internal',
    meaning: 'the charter of this instance has expired',
  },
  ERR_CHARTER_REVOKED: {
    error: ['charter_revoked'],
    seen: 'internal',
    meaning: 'the license revokes this charter',
  },
  ERR_CLAIMS: { error: ['invalid_charter'], seen: 'internal', meaning: 'a claim is missing or malformed' },
  ERR_CLIENT_ATTESTATION: { error: ['invalid_attestation'], seen: 'app', meaning: 'the platform … failed' },
  ERR_CLIENT_ATTESTATION_UNATTESTED: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'a client attestation needs an instance proven by hardware attestation on this platform',
  },
  ERR_CLIENT_ATTESTER_REFUSED: {
    error: 'relayed',
    seen: 'app',
    meaning: 'the vendor attester refused; the code is the attester’s',
  },
  ERR_CLIENT_ATTESTER_RESPONSE: {
    error: ['unavailable'],
    seen: 'app',
    meaning: 'unexpected vendor attester response',
  },
  ERR_CLIENT_ATTESTER_UNREACHABLE: {
    error: ['unavailable'],
    seen: 'app',
    meaning: 'cannot reach the vendor attester at … after … attempt(s) (…)',
  },
  ERR_CLIENT_BAD_RESPONSE: {
    error: ['unavailable'],
    seen: 'app',
    meaning: 'unexpected gateway response: client attestation',
  },
  ERR_CLIENT_CROSS_ORIGIN: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'refusing to send the gateway token to …',
  },
  ERR_CLIENT_IDB: { error: ['key_unavailable'], seen: 'app', meaning: 'indexedDB … failed' },
  ERR_CLIENT_KEY: {
    error: ['invalid_request', 'key_unavailable'],
    seen: 'app',
    meaning: 'the instance key is not a P-256 or Ed25519 public key',
  },
  ERR_CLIENT_KEYFILE: {
    error: ['key_unavailable'],
    seen: 'app',
    meaning: 'the instance key file cannot be read, written or parsed',
  },
  ERR_CLIENT_NATIVE: {
    error: ['key_unavailable'],
    seen: 'app',
    meaning: 'the native module returned a malformed …',
  },
  ERR_CLIENT_NETWORK: { error: ['unavailable'], seen: 'app', meaning: 'cannot reach …' },
  ERR_CLIENT_NOT_NODE: {
    error: ['key_unavailable'],
    seen: 'app',
    meaning: 'fileKeyStore needs Node.js >= 20.16',
  },
  ERR_CLIENT_NO_WEBCRYPTO: {
    error: ['key_unavailable'],
    seen: 'app',
    meaning: 'webCrypto (crypto.subtle) is not available here: use a native key source (see REACT_NATIVE.md)',
  },
  ERR_CLIENT_OPTIONS: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the client options are not valid',
  },
  ERR_CLIENT_RESET: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the client was reset during the request',
  },
  ERR_CLIENT_SIGNATURE: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'a … signature must be 64 bytes (DER? see ecdsaDerToJose)',
  },
  ERR_CLIENT_STORE: {
    error: ['key_unavailable'],
    seen: 'app',
    meaning: 'the key store did not keep the new key',
  },
  ERR_CLIENT_TIMEOUT: { error: ['unavailable'], seen: 'app', meaning: '… timed out after … ms' },
  ERR_CLIENT_URL: { error: ['invalid_request'], seen: 'app', meaning: 'the request URL is not valid' },
  ERR_CLOCK_ROLLBACK: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning:
      'the clock is … s behind the latest time this gateway has seen; the license refuses service until the clock is set right',
  },
  ERR_CONTENT_TYPE: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the body is not application/json',
  },
  ERR_CORS_HEADERS: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'a requested header is not one allowed cross-origin',
  },
  ERR_CORS_METHOD: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the method is not one allowed cross-origin',
  },
  ERR_CORS_NARROWING: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: '… is not an origin in the form browsers send (scheme://host[:port], lowercase, no path)',
  },
  ERR_CORS_ORIGIN: {
    error: ['platform_mismatch'],
    seen: 'internal',
    meaning: 'the Origin is not one that an app admitted by the license runs at',
  },
  ERR_CORS_PATH: { error: ['invalid_request'], seen: 'internal', meaning: 'this path is same-origin only' },
  ERR_CRIT: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the header lists critical extensions this verifier does not support',
  },
  ERR_DB_OPEN: { error: ['unavailable'], seen: 'internal', meaning: 'cannot open the vendor database at …' },
  ERR_DB_VERSION: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'the vendor database is from a newer version of Charter',
  },
  ERR_DECIDED: { error: ['conflict'], seen: 'internal', meaning: 'submission … was already … by …' },
  ERR_DPOP_ALG: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof alg is not ES256 or EdDSA',
  },
  ERR_DPOP_ATH: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof is not bound to this access token',
  },
  ERR_DPOP_CHARTER_ATH: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the shared proof is not bound to this Charter token',
  },
  ERR_DPOP_CLAIMS: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'a proof claim is missing or not a number',
  },
  ERR_DPOP_EXP: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the proof has expired' },
  ERR_DPOP_FORMAT: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'a proof segment is not base64url',
  },
  ERR_DPOP_HEADER: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof header is not a JSON object',
  },
  ERR_DPOP_HTM: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof is for another method',
  },
  ERR_DPOP_HTU: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the proof is for another URL' },
  ERR_DPOP_IAT: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof was issued too long ago',
  },
  ERR_DPOP_JTI: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the proof has no usable jti' },
  ERR_DPOP_JWK: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof jwk is not a usable public key of its alg',
  },
  ERR_DPOP_KEY: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof key is not the key the token is bound to',
  },
  ERR_DPOP_MISSING: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the request carries no DPoP proof',
  },
  ERR_DPOP_NBF: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the proof is not valid yet' },
  ERR_DPOP_NONCE: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof nonce is malformed',
  },
  ERR_DPOP_PAYLOAD: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof payload is not a JSON object',
  },
  ERR_DPOP_REPLAY: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof has been used before',
  },
  ERR_DPOP_SIGNATURE: {
    error: ['invalid_dpop_proof'],
    seen: 'internal',
    meaning: 'the proof signature does not verify',
  },
  ERR_DPOP_SIZE: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the DPoP proof is too long' },
  ERR_DPOP_TYP: { error: ['invalid_dpop_proof'], seen: 'internal', meaning: 'the proof typ is not dpop+jwt' },
  ERR_EMAIL: { error: ['conflict'], seen: 'internal', meaning: '… is not an email' },
  ERR_ENDPOINT: { error: ['invalid_request'], seen: 'internal', meaning: 'no such Charter endpoint' },
  ERR_EVIDENCE_MISSING: {
    error: ['invalid_attestation'],
    seen: 'internal',
    meaning: 'the instance has no attestation on record',
  },
  ERR_EXPIRED: {
    error: [
      'charter_expired',
      'invalid_attestation',
      'invalid_charter',
      'invalid_request',
      'license_invalid',
    ],
    seen: 'internal',
    meaning: 'the artifact has expired',
  },
  ERR_FILE: { error: ['not_found'], seen: 'internal', meaning: 'no such file: …' },
  ERR_FORBIDDEN: {
    error: ['forbidden'],
    seen: 'internal',
    meaning:
      'the signed-in account may not do this (portal, console); formed from the code (portal and console refuse helpers)',
  },
  ERR_FORMAT: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the input is not a compact JWS',
  },
  ERR_HEADER: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the protected header is not a JSON object',
  },
  ERR_HEADER_KEY: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the header has a member that is refused (jku, x5u, jwk, x5c, b64)',
  },
  ERR_HEADER_REPEATED: {
    error: ['invalid_request', 'invalid_dpop_proof', 'invalid_token'],
    seen: 'internal',
    meaning: 'a Charter header is repeated',
  },
  ERR_HEADER_SIZE: {
    error: ['invalid_request', 'invalid_dpop_proof', 'invalid_token'],
    seen: 'internal',
    meaning: 'a Charter header is too long',
  },
  ERR_HTTP: { error: ['invalid_request'], seen: 'internal', meaning: 'the HTTP layer refused the request' },
  ERR_HTTP_EXPECT: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an Expect header other than 100-continue',
  },
  ERR_HTTP_PARSE: { error: ['invalid_request'], seen: 'internal', meaning: 'unparseable request' },
  ERR_IAT: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the artifact claims to be issued in the future',
  },
  ERR_ID: { error: ['not_found'], seen: 'internal', meaning: 'the value is not a valid id' },
  ERR_INITIALISED: { error: ['conflict'], seen: 'internal', meaning: 'this home already holds a vendor' },
  ERR_INSTALLATION: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning:
      'the license is bound to another installation: this gateway state was wiped or is not the one the vendor activated; run `charter gateway …',
  },
  ERR_INSTANCE_CHARTER: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the charter on record for this instance does not verify',
  },
  ERR_INSTANCE_REVOKED: {
    error: ['instance_revoked'],
    seen: 'internal',
    meaning: 'the license revokes this instance',
  },
  ERR_INSTANCE_UNATTESTED: {
    error: ['attestation_required'],
    seen: 'internal',
    meaning: 'this instance did not attest, and the charter requires … attestation',
  },
  ERR_INSTANCE_UNKNOWN: {
    error: ['invalid_request', 'invalid_token'],
    seen: 'internal',
    meaning: 'the token names no instance known here',
  },
  ERR_INSTANCE_UNVERIFIABLE: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the instance has no charter on record here; register it again',
  },
  ERR_INTERNAL: { error: ['unavailable'], seen: 'internal', meaning: 'unexpected failure' },
  ERR_INVALID_REQUEST: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning:
      'the request to the portal or console is malformed; formed from the code (portal and console refuse helpers)',
  },
  ERR_IOS_BUNDLE: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an iOS app needs --ios-bundle-id like com.example.app',
  },
  ERR_IOS_TEAM: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'an iOS app needs --ios-team-id of ten letters or digits',
  },
  ERR_IP_LOCKED: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many failed sign-ins from this address: try again later',
  },
  ERR_ISS: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'iss is not the expected issuer',
  },
  ERR_KEY_DELEGATION: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the delegation of the signing key is invalid: …',
  },
  ERR_KEY_EXPIRED: {
    error: [
      'invalid_attestation',
      'invalid_charter',
      'invalid_request',
      'key_unavailable',
      'license_invalid',
    ],
    seen: 'internal',
    meaning: 'the signing key’s delegation has expired',
  },
  ERR_KEY_NOT_YET_VALID: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the signing key’s delegation is not valid yet',
  },
  ERR_KEY_TOO_SHORT: {
    error: ['key_unavailable'],
    seen: 'internal',
    meaning:
      'the charter would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
  },
  ERR_KEY_USE: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the root key signs key delegations only, never artifacts',
  },
  ERR_KEY_WINDOW: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the artifact was issued outside its signing key’s validity',
  },
  ERR_KID: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the header has no usable kid',
  },
  ERR_KID_UNKNOWN: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the kid is not a trusted key',
  },
  ERR_LICENSE_EXPIRED: {
    error: ['app_not_admitted', 'license_invalid'],
    seen: 'internal',
    meaning: 'the site’s latest license has expired',
  },
  ERR_LICENSE_NONE: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'no license is installed; pass one with --license',
  },
  ERR_LICENSE_NOT_YET_VALID: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'the license in force is not valid yet',
  },
  ERR_LICENSE_ROLLBACK: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'the license serial is below the highest serial installed here',
  },
  ERR_LICENSE_SERIAL_REUSED: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'another license with this serial is already installed here',
  },
  ERR_LICENSE_SITE: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'the license is for another site than the one installed here',
  },
  ERR_LISTEN: { error: ['invalid_request'], seen: 'internal', meaning: '--listen … is not HOST:PORT' },
  ERR_LOCAL_REVOCATIONS_FULL: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'too many local revocations: ask the vendor to revoke these instances in the next license',
  },
  ERR_LOCKED: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many failed sign-ins: this account is locked for a while, try again later',
  },
  ERR_MODE_LOOSENS: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the local mode may only tighten: monitor over an enforce license is refused',
  },
  ERR_NAME: { error: ['invalid_request'], seen: 'internal', meaning: 'a name is missing or too long' },
  ERR_NONCE_INVALID: {
    error: ['use_dpop_nonce'],
    seen: 'internal',
    meaning: 'the nonce is unknown, expired or spent',
  },
  ERR_NONCE_MISSING: {
    error: ['use_dpop_nonce'],
    seen: 'internal',
    meaning: 'registration needs a proof with a challenge nonce',
  },
  ERR_NOT_FOUND: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'no such record (portal, console); formed from the code (portal and console refuse helpers)',
  },
  ERR_NOT_INITIALISED: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'this home has no vendor yet: run `charter vendor init` first',
  },
  ERR_NOT_YET_VALID: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the artifact is not valid yet',
  },
  ERR_NO_BUNDLER: {
    error: ['key_unavailable'],
    seen: 'internal',
    meaning: 'sealing needs esbuild, a development dependency: run `npm ci` without --omit=dev',
  },
  ERR_NO_CHARTER: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'submission … has no charter (status …)',
  },
  ERR_NO_KEY: {
    error: ['key_unavailable'],
    seen: 'internal',
    meaning: 'there is no active license signing key: run `charter vendor keys rotate`',
  },
  ERR_NO_LICENSE: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'site … has no license yet: issue its first license (a first license carries every revocation)',
  },
  ERR_NO_SPA: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'the console is not built: …/index.html is missing',
  },
  ERR_OAUTH_CLIENTS: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the OAuth client map is not JSON',
  },
  ERR_OAUTH_CLIENT_UNMAPPED: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'this site maps no OAuth client id to this app (gateway start --oauth-clients)',
  },
  ERR_ORIGIN: {
    error: ['invalid_request', 'platform_mismatch'],
    seen: 'internal',
    meaning: 'the Origin is not one the charter approves',
  },
  ERR_ORIGIN_MISSING: {
    error: ['platform_mismatch'],
    seen: 'internal',
    meaning: 'a web registration needs an Origin header',
  },
  ERR_OUT_NOT_EMPTY: {
    error: ['conflict'],
    seen: 'internal',
    meaning: '… is not empty: choose a new folder',
  },
  ERR_PASSPHRASE: {
    error: ['wrong_passphrase'],
    seen: 'internal',
    meaning: 'the passphrase does not open the sealed key',
  },
  ERR_PASSPHRASE_MISMATCH: {
    error: ['passphrase_required'],
    seen: 'internal',
    meaning: 'the two passphrases differ',
  },
  ERR_PASSPHRASE_MISSING: {
    error: ['passphrase_required'],
    seen: 'internal',
    meaning: '… needs the root key passphrase: set CHARTER_PASSPHRASE or run at a terminal',
  },
  ERR_PASSPHRASE_SHORT: {
    error: ['passphrase_required'],
    seen: 'internal',
    meaning: 'the passphrase must have at least 8 characters',
  },
  ERR_PASSWORD: { error: ['conflict'], seen: 'internal', meaning: 'the password needs … to … characters' },
  ERR_PASSWORD_MISMATCH: {
    error: ['passphrase_required'],
    seen: 'internal',
    meaning: 'the two passwords differ',
  },
  ERR_PASSWORD_MISSING: {
    error: ['passphrase_required'],
    seen: 'internal',
    meaning: 'the account needs a password: set CHARTER_PASSWORD or run at a terminal',
  },
  ERR_PATH: { error: ['invalid_request'], seen: 'internal', meaning: 'the request target is not a path' },
  ERR_PAYLOAD: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the payload is not a JSON object',
  },
  ERR_PLATFORM: {
    error: ['platform_mismatch'],
    seen: 'internal',
    meaning: 'the charter does not approve the … platform',
  },
  ERR_PLATFORMS: {
    error: ['conflict'],
    seen: 'internal',
    meaning:
      'name at least one platform: --web-origin, --android-package, --ios-team-id/--ios-bundle-id or --server',
  },
  ERR_PUBLISHER: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'a publisher account needs --publisher PUB_ID',
  },
  ERR_RATE_APP: { error: ['rate_limited'], seen: 'internal', meaning: 'the app exceeded its rate' },
  ERR_RATE_CHARTER: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many attestations for this charter',
  },
  ERR_RATE_INSTANCE: { error: ['rate_limited'], seen: 'internal', meaning: 'the instance exceeded its rate' },
  ERR_RATE_REGISTER_ADDRESS: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many registrations from this address',
  },
  ERR_RATE_REGISTER_CHARTER: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many registrations of this charter',
  },
  ERR_RATE_SOURCE: {
    error: ['rate_limited'],
    seen: 'internal',
    meaning: 'too many requests from this address',
  },
  ERR_REASON: { error: ['invalid_request'], seen: 'internal', meaning: 'a rejection needs a --reason' },
  ERR_REPORT_CHAIN: {
    error: ['conflict', 'invalid_request'],
    seen: 'internal',
    meaning:
      'the usage reports show gaps, forks, edits or foreign reports: run `charter vendor report verify` to see them',
  },
  ERR_REPORT_RACE: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'another report export ran at the same time; run this one again',
  },
  ERR_REVOCATIONS_LOOSEN: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning:
      'the stored revocation update is older or revokes less than the one in force here; it is not applied',
  },
  ERR_REVOCATIONS_ROLLBACK: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'the revocation update is older than what is installed here (serial …, installed …)',
  },
  ERR_REVOCATIONS_SERIAL_REUSED: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'another revocation update with this serial is installed here',
  },
  ERR_REVOCATIONS_SITE: {
    error: ['license_invalid'],
    seen: 'internal',
    meaning: 'the revocation update is for another site than the one installed here',
  },
  ERR_REVOKED: { error: ['conflict'], seen: 'internal', meaning: '… … is already revoked' },
  ERR_ROLE: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the role is publisher, reviewer or admin',
  },
  ERR_ROOT_EXPORTED: {
    error: ['key_unavailable'],
    seen: 'internal',
    meaning: 'the root key is not in this home (exported): run `charter vendor keys import-root` first',
  },
  ERR_ROOT_FILE: { error: ['conflict'], seen: 'internal', meaning: 'the file is not an exported root key' },
  ERR_ROOT_FOREIGN: {
    error: ['conflict'],
    seen: 'internal',
    meaning: 'that sealed key is not this vendor’s root key',
  },
  ERR_ROUTES: { error: ['invalid_request'], seen: 'internal', meaning: 'the routes file is not usable' },
  ERR_SCOPE: { error: ['insufficient_scope'], seen: 'internal', meaning: 'the route needs scope …' },
  ERR_SCOPES: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the app needs at least one scope (--scopes a:read,a:write)',
  },
  ERR_SEALED_FORMAT: {
    error: ['wrong_passphrase'],
    seen: 'internal',
    meaning: 'the sealed key is not in a known format',
  },
  ERR_SERVER: {
    error: 'relayed',
    seen: 'app',
    meaning: 'the gateway refused with a catalogued code; the message is its description',
  },
  ERR_SERVER_UNRECOGNISED: {
    error: ['invalid_token', 'rate_limited', 'unavailable', 'invalid_request'],
    seen: 'app',
    meaning:
      'the server answered an error status without a Charter error code (a proxy page, an unknown code)',
  },
  ERR_SIGNATURE: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the signature does not verify',
  },
  ERR_SIGNIN_CODE: { error: ['invalid_request'], seen: 'app', meaning: 'the sign-in answer carries no code' },
  ERR_SIGNIN_ISSUER: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the sign-in answer comes from another issuer',
  },
  ERR_SIGNIN_METADATA: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the identity provider metadata does not match its issuer',
  },
  ERR_SIGNIN_REFUSED: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the identity provider refused: …',
  },
  ERR_SIGNIN_STATE: {
    error: ['invalid_request'],
    seen: 'app',
    meaning: 'the sign-in answer does not match the sign-in started here',
  },
  ERR_SIGNIN_TOKEN: { error: ['invalid_request'], seen: 'app', meaning: 'the token response is malformed' },
  ERR_SIGN_IN: { error: ['unauthorized'], seen: 'internal', meaning: 'wrong email or password' },
  ERR_SIZE: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'the artifact is too large',
  },
  ERR_STARTING: { error: ['unavailable'], seen: 'internal', meaning: 'the gateway is starting' },
  ERR_STATE_RACE: { error: ['conflict'], seen: 'internal', meaning: '… kept changing; try again' },
  ERR_STORE: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'the gateway store (PostgreSQL) cannot be opened',
  },
  ERR_STORE_VERSION: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'the gateway store was written by a newer version',
  },
  ERR_TOKEN_EXPIRED: { error: ['invalid_token'], seen: 'internal', meaning: 'the access token has expired' },
  ERR_TOKEN_FORMAT: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the DPoP access token is malformed',
  },
  ERR_TOKEN_INSTANCE: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the access token does not match its instance',
  },
  ERR_TOKEN_INVALID: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the access token does not verify',
  },
  ERR_TOKEN_LIFETIME: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the access token outlives what the license allows',
  },
  ERR_TOKEN_MISSING: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the request carries no access token',
  },
  ERR_TOKEN_SCHEME: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the Authorization scheme is not DPoP',
  },
  ERR_TOKEN_SCOPE: {
    error: ['invalid_token'],
    seen: 'internal',
    meaning: 'the access token carries scopes its instance does not hold',
  },
  ERR_TOKEN_TWICE: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the Charter token belongs in Charter-Token only, not in Authorization',
  },
  ERR_TRACE: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'nothing is known of …: not a charter, an app, or an instance seen in a usage report',
  },
  ERR_TRUST: { error: ['license_invalid'], seen: 'internal', meaning: 'the trust document is not usable: …' },
  ERR_TTL: {
    error: ['conflict', 'invalid_request'],
    seen: 'internal',
    meaning: 'the value is not a duration like 180d',
  },
  ERR_TYP: {
    error: ['invalid_attestation', 'invalid_charter', 'invalid_request', 'license_invalid'],
    seen: 'internal',
    meaning: 'wrong artifact type',
  },
  ERR_UNAUTHORIZED: {
    error: ['unauthorized'],
    seen: 'internal',
    meaning:
      'sign-in is required (portal, console); formed from the code (portal and console refuse helpers)',
  },
  ERR_UNAVAILABLE: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'the console cannot do this now; formed from the code (portal and console refuse helpers)',
  },
  ERR_UNKNOWN_APP: { error: ['not_found'], seen: 'internal', meaning: 'there is no app …' },
  ERR_UNKNOWN_CHARTER: { error: ['not_found'], seen: 'internal', meaning: 'there is no charter …' },
  ERR_UNKNOWN_KEY: { error: ['not_found'], seen: 'internal', meaning: 'there is no signing key …' },
  ERR_UNKNOWN_LICENSE: { error: ['not_found'], seen: 'internal', meaning: 'there is no license …' },
  ERR_UNKNOWN_PUBLISHER: { error: ['not_found'], seen: 'internal', meaning: 'there is no publisher …' },
  ERR_UNKNOWN_REVOCATIONS: {
    error: ['not_found'],
    seen: 'internal',
    meaning: 'there is no revocation update …',
  },
  ERR_UNKNOWN_SITE: {
    error: ['app_not_admitted', 'not_found'],
    seen: 'internal',
    meaning: 'no license names this site',
  },
  ERR_UNKNOWN_SUBMISSION: { error: ['not_found'], seen: 'internal', meaning: 'there is no submission …' },
  ERR_UPSTREAM: { error: ['unavailable'], seen: 'internal', meaning: 'the upstream server did not answer' },
  ERR_USER_EXISTS: { error: ['conflict'], seen: 'internal', meaning: 'there is already an operator …' },
  ERR_USER_TOKEN_FORMAT: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the DPoP user token is malformed',
  },
  ERR_VENDOR_ID: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the vendor id may use letters, digits and . _ : ~ - (at most 128)',
  },
  ERR_VERSION: {
    error: ['invalid_request'],
    seen: 'internal',
    meaning: 'the version must have 1 to 64 characters',
  },
  ERR_WAIVED_AT_REGISTRATION: {
    error: ['platform_mismatch', 'attestation_required', 'invalid_attestation', 'invalid_token'],
    seen: 'internal',
    meaning: 'the instance registered while monitor mode waived a check it failed; it must register again',
  },
  ERR_WORKER: {
    error: ['unavailable'],
    seen: 'internal',
    meaning: 'a gateway worker failed to start and gave no detail of its own',
  },
} as const satisfies Record<`ERR_${string}`, ErrorDetailEntry>;

/** A registered detail code. */
export type ErrorDetailCode = keyof typeof ERROR_DETAILS;

/** True when `detail` is a registered detail code. */
export function isErrorDetailCode(detail: unknown): detail is ErrorDetailCode {
  return typeof detail === 'string' && Object.hasOwn(ERROR_DETAILS, detail);
}
