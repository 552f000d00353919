/**
 * RFC 7638 thumbprints of instance keys, computed synchronously. jose's `calculateJwkThumbprint` is
 * async and re-validates the key on every call; on the hot path we already know the key's shape.
 */
import { sha256B64url } from './hash.ts';

/** The members of an ES256 or EdDSA public JWK that RFC 7638 hashes. */
export type InstanceJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string };

/**
 * The RFC 7638 SHA-256 thumbprint of a validated instance JWK. The members are base64url strings
 * (checked by the caller), so `JSON.stringify` of them in lexicographic order is the canonical form.
 */
export function instanceThumbprint(jwk: InstanceJwk): string {
  const canonical =
    jwk.kty === 'EC'
      ? `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
      : `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
  return sha256B64url(canonical);
}
