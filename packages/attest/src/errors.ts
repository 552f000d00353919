/**
 * The one way this package refuses input. Every verifier throws only {@link CharterError} with code
 * `invalid_attestation`; `detail` is a stable sub-code for tests, logs and audit, and the reason is a
 * fixed sentence: it never quotes the bytes being judged (they are attacker-controlled).
 */
import { CharterError } from '@charter/core';

/** Stable machine sub-codes carried in `CharterError.detail`. */
export type AttestErrorDetail =
  | 'ERR_ATTEST_MALFORMED'
  | 'ERR_ATTEST_FORMAT'
  | 'ERR_ATTEST_UNSUPPORTED'
  | 'ERR_ATTEST_CHAIN'
  | 'ERR_ATTEST_ROOT'
  | 'ERR_ATTEST_SOFTWARE'
  | 'ERR_ATTEST_EXPIRED'
  | 'ERR_ATTEST_REVOKED'
  | 'ERR_ATTEST_EXTENSION'
  | 'ERR_ATTEST_CHALLENGE'
  | 'ERR_ATTEST_APP_ID'
  | 'ERR_ATTEST_SECURITY_LEVEL'
  | 'ERR_ATTEST_BOOT'
  | 'ERR_ATTEST_KEY_ORIGIN'
  | 'ERR_ATTEST_NONCE'
  | 'ERR_ATTEST_KEY_ID'
  | 'ERR_ATTEST_COUNTER'
  | 'ERR_ATTEST_DEVELOPMENT'
  | 'ERR_ATTEST_ENVIRONMENT'
  | 'ERR_ATTEST_SIGNATURE';

/** Throw the refusal for `detail` with a human `reason` (never containing input bytes). */
export function refuse(detail: AttestErrorDetail, reason: string): never {
  throw new CharterError('invalid_attestation', detail, reason);
}

/** Throw the refusal for input that cannot be decoded at all. */
export function malformed(reason: string): never {
  return refuse('ERR_ATTEST_MALFORMED', reason);
}

/**
 * Run `fn`, turning anything it throws other than our own refusal into ERR_ATTEST_MALFORMED. Parsers
 * (asn1js, cbor-x, node:crypto) throw TypeError, RangeError and friends on hostile bytes; callers must
 * only ever see `invalid_attestation`. The library's message is dropped because it may quote input.
 */
export function guarded<T>(reason: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CharterError && e.code === 'invalid_attestation') throw e;
    return malformed(reason);
  }
}
