/** Key helpers: Ed25519 vendor keys, RFC 7638 thumbprints, and conversions between forms. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** A public JWK with its RFC 7638 SHA-256 thumbprint as `kid`. */
export type PublicJwk = JWK & { kid: string };

/** A vendor key pair: the private key object and its public JWK (kid = thumbprint). */
export interface VendorKeyPair {
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

/** RFC 7638 SHA-256 thumbprint (base64url) of a public JWK. */
export async function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** The public JWK of a key (private or public), with only the members RFC 7638 and use need. */
export async function publicJwkOf(key: KeyObject): Promise<PublicJwk> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const raw = pub.export({ format: 'jwk' }) as JWK;
  const jwk: JWK =
    raw.kty === 'OKP'
      ? { kty: 'OKP', crv: raw.crv, x: raw.x }
      : { kty: raw.kty, crv: raw.crv, x: raw.x, y: raw.y };
  return { ...jwk, kid: await thumbprint(jwk) };
}

/** Generate an Ed25519 key pair, the only algorithm vendor artifacts use (SPEC §2). */
export async function generateVendorKey(): Promise<VendorKeyPair> {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicJwk: await publicJwkOf(privateKey) };
}

/** PKCS#8 DER bytes of a private key, for storage. */
export function exportPrivateKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }) as Buffer;
}

/** A private key from PKCS#8 DER bytes. */
export function importPrivateKey(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/**
 * A public KeyObject from an Ed25519 public JWK, refusing anything else: another curve or type, or
 * a JWK that carries private material. Returns undefined rather than throwing so callers pick the code.
 */
export function importEd25519PublicJwk(jwk: unknown): KeyObject | undefined {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return undefined;
  const j = jwk as Record<string, unknown>;
  if (j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string' || 'd' in j) return undefined;
  if (!/^[A-Za-z0-9_-]{43}$/.test(j.x)) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: j.x }, format: 'jwk' });
  } catch {
    return undefined;
  }
}
