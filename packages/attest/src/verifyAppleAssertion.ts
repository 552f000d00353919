/**
 * Offline verification of an App Attest assertion (SPEC §3: later token requests). Per Apple: the
 * assertion is CBOR { signature, authenticatorData }; nonce = SHA-256(authenticatorData ‖ clientDataHash);
 * the signature is ECDSA P-256 with SHA-256 over that nonce (so the nonce is hashed once more by the
 * signature scheme: the construction every real sample in the fixtures verifies with, while a signature
 * over authenticatorData ‖ clientDataHash directly does not); rpIdHash must match the app; the counter
 * must exceed the stored one, which defeats replay of an older assertion.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { parseAuthenticatorData } from './authenticatorData.ts';
import { asBytes, bytesEqual, sha256 } from './bytes.ts';
import { bytesField, decodeCbor, objectBytes } from './cbor.ts';
import { guarded, malformed, refuse } from './errors.ts';

/** Largest assertion accepted (real ones are under 200 bytes). */
export const MAX_ASSERTION_BYTES = 4 * 1024;

/** What the server stored and expects. */
export interface AppleAssertionOptions {
  /** The public key stored from the attestation (KeyObject or SPKI PEM). */
  publicKey: KeyObject | string;
  /** SHA-256 of the client data of this request. */
  expectedClientDataHash: Uint8Array;
  /** "TEAMID.BUNDLEID". */
  expectedAppId: string;
  /** The counter stored from the previous attestation or assertion (0 after attestation). */
  previousCounter: number;
}

/** A verified assertion: store `counter` as the new previous counter. */
export interface AppleAssertion {
  counter: number;
}

/**
 * Verify an App Attest assertion (raw CBOR or base64). Throws CharterError `invalid_attestation` on any
 * refusal; never any other error for bad input.
 */
export function verifyAppleAssertion(
  assertion: string | Uint8Array,
  options: AppleAssertionOptions,
): AppleAssertion {
  const previous = options.previousCounter;
  if (!Number.isSafeInteger(previous) || previous < 0 || previous > 0xffffffff) {
    throw new RangeError('previousCounter must be an integer between 0 and 2^32 - 1');
  }
  const key =
    typeof options.publicKey === 'string'
      ? guarded('The stored public key is not a PEM public key.', () => createPublicKey(options.publicKey))
      : options.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    refuse('ERR_ATTEST_UNSUPPORTED', 'The stored App Attest key is not a P-256 public key.');
  }
  const clientDataHash = asBytes(options.expectedClientDataHash);
  return guarded('The assertion cannot be decoded.', () => {
    const obj = decodeCbor(objectBytes(assertion, 'assertion', MAX_ASSERTION_BYTES), 'assertion');
    if (!(obj instanceof Map)) malformed('The assertion is not a CBOR map.');
    const signature = bytesField(obj, 'signature', 'assertion');
    const authenticatorData = bytesField(obj, 'authenticatorData', 'assertion');
    const ad = parseAuthenticatorData(authenticatorData);
    const nonce = sha256(authenticatorData, clientDataHash);
    let ok = false;
    try {
      ok = verify('sha256', nonce, { key, dsaEncoding: 'der' }, signature);
    } catch {
      ok = false;
    }
    if (!ok) refuse('ERR_ATTEST_SIGNATURE', 'The assertion signature does not verify.');
    if (!bytesEqual(ad.rpIdHash, sha256(Buffer.from(options.expectedAppId, 'utf8')))) {
      refuse('ERR_ATTEST_APP_ID', 'The assertion is for a different app.');
    }
    if (ad.signCount <= previous) refuse('ERR_ATTEST_COUNTER', 'The assertion counter did not increase.');
    return { counter: ad.signCount };
  });
}
