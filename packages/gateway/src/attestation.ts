/**
 * The hook through which @charter/attest plugs hardware attestation into registration (and App
 * Attest assertions into token requests) without the gateway depending on how it is verified.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { CharterClaims, LicenseClaims } from '@charter/core';
import type { InstanceRecord } from './store.ts';

/** What a verifier is given at registration. */
export interface AttestationInput {
  platform: 'android' | 'ios';
  /** The `attestation` object of the register body, as the client sent it. */
  attestation: Record<string, unknown>;
  /** SHA-256(ASCII(nonce) || "." || ASCII(jkt)), the value the attestation must commit to. */
  binding: Buffer;
  nonce: string;
  jkt: string;
  /** The instance public key (the Android leaf certificate's key must be this key). */
  instanceKey: KeyObject;
  charter: CharterClaims;
  /** The license's attestation settings (roots, revocations, boot and security level policy). */
  license: LicenseClaims;
  now: number;
}

/** What a successful verification yields; `state` is stored with the instance (e.g. App Attest key and counter). */
export interface AttestationResult {
  state?: Record<string, unknown>;
}

/** What a verifier is given at a token request. */
export interface AssertionInput {
  instance: InstanceRecord;
  assertion: string | undefined;
  /** The server nonce the token request's proof carried, if any. */
  nonce: string | undefined;
  jkt: string;
  now: number;
}

/** A pluggable attestation verifier; refusals are `CharterError`s (`invalid_attestation`, …). */
export interface AttestationVerifier {
  verifyAttestation(input: AttestationInput): Promise<AttestationResult>;
  /** Called on every token request when present; may refuse (e.g. a missing or stale App Attest assertion). */
  verifyAssertion?(input: AssertionInput): Promise<void>;
}

/** The attestation binding of SPEC.md §3: SHA-256(ASCII(nonce) || "." || ASCII(jkt)). */
export function attestationBinding(nonce: string, jkt: string): Buffer {
  return createHash('sha256').update(`${nonce}.${jkt}`, 'ascii').digest();
}
