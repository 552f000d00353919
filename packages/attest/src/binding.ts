/** The attestation binding of SPEC §3, and key comparison for the gateway's instance-key check. */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { bytesEqual, sha256 } from './bytes.ts';
import { malformed } from './errors.ts';

/** Printable ASCII without '.', so "nonce.jkt" splits one way only. */
const PART = /^[\x21-\x2d\x2f-\x7e]+$/;

/**
 * SHA-256(ASCII(nonce) ‖ "." ‖ ASCII(jkt)) (SPEC §3): the Android attestationChallenge and the Apple
 * clientDataHash. Both parts must be non-empty printable ASCII without '.', else the concatenation
 * would be ambiguous ("a.b" + "c" and "a" + "b.c" would bind the same).
 */
export function attestationBinding(nonce: string, jkt: string): Uint8Array {
  if (typeof nonce !== 'string' || typeof jkt !== 'string' || !PART.test(nonce) || !PART.test(jkt)) {
    malformed('The nonce and key thumbprint must be printable ASCII without dots.');
  }
  return sha256(Buffer.from(`${nonce}.${jkt}`, 'ascii'));
}

/** Alias of {@link attestationBinding}, named for the Android challenge. */
export const androidBinding: typeof attestationBinding = attestationBinding;

/** DER SubjectPublicKeyInfo of a public key (KeyObject or public JWK). */
export function spkiOf(key: KeyObject | JsonWebKey): Uint8Array {
  const k = isKeyObject(key) ? key : createPublicKey({ key, format: 'jwk' });
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  return new Uint8Array(pub.export({ type: 'spki', format: 'der' }));
}

/**
 * True when two keys are the same public key (compares canonical SPKI DER, so a JWK and a certificate
 * key match). Use it to check that the attested leaf key is the instance's DPoP key.
 */
export function samePublicKey(a: KeyObject | JsonWebKey, b: KeyObject | JsonWebKey): boolean {
  try {
    return bytesEqual(spkiOf(a), spkiOf(b));
  } catch {
    return false;
  }
}

function isKeyObject(k: KeyObject | JsonWebKey): k is KeyObject {
  return typeof (k as KeyObject).export === 'function' && typeof (k as KeyObject).type === 'string';
}
