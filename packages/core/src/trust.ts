/**
 * The trust anchor: the vendor id and its root public keys. It is compiled into the vendor's server
 * or sealed into a gateway build; a trust file (`vendor export-trust`) exists for development.
 */
import type { KeyObject } from 'node:crypto';
import { ID } from './claims.ts';
import { CharterError } from './errors.ts';
import { importEd25519PublicJwk, type PublicJwk, thumbprint } from './jwk.ts';

/** A vendor's root keys by kid (RFC 7638 thumbprint). */
export interface VendorTrust {
  vendorId: string;
  roots: ReadonlyMap<string, KeyObject>;
}

/** The JSON form of a trust file: a JWK Set of root public keys plus the vendor id. */
export interface TrustDocument {
  vendor_id: string;
  keys: PublicJwk[];
}

/**
 * Build a {@link VendorTrust} from a trust document, checking that every key is an Ed25519 public
 * key whose `kid` is its own thumbprint (so a kid can never be made to point at another key).
 */
export async function trustFromDocument(doc: unknown): Promise<VendorTrust> {
  const bad = (why: string): never => {
    throw new CharterError('license_invalid', 'ERR_TRUST', `the trust document is not usable: ${why}`);
  };
  if (typeof doc !== 'object' || doc === null) return bad('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (typeof d.vendor_id !== 'string' || !ID.test(d.vendor_id)) return bad('vendor_id is missing');
  if (!Array.isArray(d.keys) || d.keys.length === 0) return bad('keys must list at least one root key');
  const roots = new Map<string, KeyObject>();
  for (const jwk of d.keys) {
    const key = importEd25519PublicJwk(jwk);
    if (!key) return bad('a key is not an Ed25519 public JWK');
    const kid = await thumbprint(jwk as PublicJwk);
    if ((jwk as PublicJwk).kid !== undefined && (jwk as PublicJwk).kid !== kid)
      return bad('a kid is not its key thumbprint');
    roots.set(kid, key);
  }
  return { vendorId: d.vendor_id, roots };
}

/** Parse a trust file's text. */
export async function parseTrustFile(text: string): Promise<VendorTrust> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CharterError('license_invalid', 'ERR_TRUST', 'the trust file is not JSON');
  }
  return trustFromDocument(doc);
}
