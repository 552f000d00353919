/**
 * Instance public keys embedded in DPoP proofs: strict validation of the JWK and a cache of imported
 * key objects by thumbprint, so a key an instance keeps using is imported once, not per request.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { type InstanceJwk, instanceThumbprint } from './thumbprint.ts';

/** The signature algorithms instance keys may use (SPEC.md §2). */
export type InstanceAlg = 'ES256' | 'EdDSA';

/** The algorithms a DPoP proof may name, as advertised in `WWW-Authenticate` and `/.well-known/charter`. */
export const INSTANCE_ALGS: readonly InstanceAlg[] = ['ES256', 'EdDSA'];

/** An imported instance key with its thumbprint. */
export interface InstanceKey {
  jkt: string;
  key: KeyObject;
  alg: InstanceAlg;
}

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const MAX_CACHED = 10_000;
const cache = new Map<string, KeyObject>();

/**
 * Validate an embedded JWK for `alg` and return its key, or a reason it is refused. The rules are
 * those jose's `EmbeddedJWK` applies (public key only, `use` sig, `alg` matching, key type matching
 * the algorithm), made stricter where a proof has no business being unusual (`key_ops`, `ext`).
 */
export function instanceKeyOf(jwk: unknown, alg: InstanceAlg): InstanceKey | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'the jwk header is not an object';
  const j = jwk as Record<string, unknown>;
  if ('d' in j || 'p' in j || 'q' in j || 'k' in j || 'priv' in j)
    return 'the jwk carries private key material';
  if (j.use !== undefined && j.use !== 'sig') return 'the jwk use is not sig';
  if (j.alg !== undefined && j.alg !== alg) return 'the jwk alg does not match the proof alg';
  if (j.key_ops !== undefined) return 'the jwk carries key_ops';
  if (j.ext !== undefined && j.ext !== true) return 'the jwk is marked not extractable';
  let members: InstanceJwk;
  if (alg === 'ES256') {
    if (j.kty !== 'EC' || j.crv !== 'P-256') return 'the jwk is not a P-256 key';
    if (typeof j.x !== 'string' || typeof j.y !== 'string' || !B64URL_32.test(j.x) || !B64URL_32.test(j.y)) {
      return 'the jwk coordinates are malformed';
    }
    members = { kty: 'EC', crv: 'P-256', x: j.x, y: j.y };
  } else {
    if (j.kty !== 'OKP' || j.crv !== 'Ed25519') return 'the jwk is not an Ed25519 key';
    if (typeof j.x !== 'string' || !B64URL_32.test(j.x)) return 'the jwk x is malformed';
    members = { kty: 'OKP', crv: 'Ed25519', x: j.x };
  }
  const jkt = instanceThumbprint(members);
  let key = cache.get(jkt);
  if (!key) {
    try {
      key = createPublicKey({ key: members, format: 'jwk' });
    } catch {
      return 'the jwk is not a valid public key';
    }
    // A full cache is dropped rather than managed: keys are cheap to re-import, and a flood of fresh
    // keys (each behind a valid signature) must not grow memory without bound.
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(jkt, key);
  }
  return { jkt, key, alg };
}
