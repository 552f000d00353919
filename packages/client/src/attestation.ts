/** Platform attestation (SPEC §3): the provider interface and the binding every format signs over. */
import type { Platform } from './core.ts';
import { utf8 } from './encoding.ts';
import { sha256 } from './sha256.ts';
import type { InstanceKeySource } from './store.ts';

/** What an attestation or assertion is bound to: the gateway's nonce and the instance key's thumbprint. */
export interface AttestationContext {
  nonce: string;
  jkt: string;
}

/** An Android Key Attestation object: the certificate chain, leaf first, each base64 DER. */
export interface AndroidKeyAttestation {
  fmt: 'android-key';
  x5c: string[];
}

/** An Apple App Attest object: the App Attest key id and the attestation CBOR, both base64. */
export interface AppleAppAttestation {
  fmt: 'apple-appattest';
  key_id: string;
  attestation: string;
}

/** The attestation objects SPEC §3 defines. */
export type Attestation = AndroidKeyAttestation | AppleAppAttestation;

/**
 * Proves to the gateway what app and device the instance runs on. `attest` is called at
 * registration; `assert`, when present, before every token request (App Attest), with a fresh nonce.
 * Either may return undefined when the device cannot attest (the gateway decides whether that is
 * acceptable: charters may mark attestation `optional`).
 */
export interface AttestationProvider {
  readonly platform: Platform;
  attest(binding: Uint8Array, context: AttestationContext): Promise<Attestation | object | undefined>;
  assert?(binding: Uint8Array, context: AttestationContext): Promise<string | undefined>;
  /**
   * Present when the attestation covers the instance key itself (Android Key Attestation: the
   * leaf certificate's key IS the instance key), so the provider owns and signs with that key and
   * the client's `keyStore` is not used.
   */
  readonly keys?: InstanceKeySource;
}

/** `SHA-256(ASCII(nonce) || "." || ASCII(jkt))`, SPEC §3: the challenge every attestation signs over. */
export async function attestationBinding(nonce: string, jkt: string): Promise<Uint8Array> {
  return sha256(utf8(`${nonce}.${jkt}`));
}
