/**
 * Instance keys and the one signing interface the rest of the SDK uses. WebCrypto keys and keys that
 * live in native hardware (Android Keystore, Secure Enclave) both present themselves as a
 * {@link ProofSigner}, so proof construction never needs the private key itself.
 */
import { CharterError } from './core.ts';
import { base64url, concat, utf8 } from './encoding.ts';
import { sha256 } from './sha256.ts';

/** The JWS algorithms an instance key may use (SPEC §2): ES256 (P-256) or EdDSA (Ed25519). */
export type InstanceAlg = 'ES256' | 'EdDSA';

/** A public JWK of an instance key: only the members RFC 7638 hashes, never private material. */
export type InstancePublicJwk =
  | { kty: 'EC'; crv: 'P-256'; x: string; y: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string };

/**
 * Anything that can sign DPoP proofs with an instance key. `sign` returns the JWS signature bytes:
 * for ES256 the raw 64-byte r||s form (not DER), for EdDSA the 64-byte Ed25519 signature.
 */
export interface ProofSigner {
  readonly alg: InstanceAlg;
  readonly jwk: InstancePublicJwk;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

/**
 * The public members of a JWK, checked: a P-256 or Ed25519 key whose coordinates are 32 bytes.
 * Throws `invalid_request` otherwise, since a bad key is a programming or storage error.
 */
export function publicJwkOf(jwk: unknown): InstancePublicJwk {
  const j = (typeof jwk === 'object' && jwk !== null ? jwk : {}) as Record<string, unknown>;
  const x = j.x;
  const y = j.y;
  if (j.kty === 'EC' && j.crv === 'P-256' && typeof x === 'string' && typeof y === 'string') {
    if (B64URL_32.test(x) && B64URL_32.test(y)) return { kty: 'EC', crv: 'P-256', x, y };
  }
  if (j.kty === 'OKP' && j.crv === 'Ed25519' && typeof x === 'string' && B64URL_32.test(x)) {
    return { kty: 'OKP', crv: 'Ed25519', x };
  }
  throw new CharterError(
    'invalid_request',
    'ERR_CLIENT_KEY',
    'the instance key is not a P-256 or Ed25519 public key',
  );
}

/** The JWS algorithm of a public JWK. */
export function algOf(jwk: InstancePublicJwk): InstanceAlg {
  return jwk.kty === 'EC' ? 'ES256' : 'EdDSA';
}

/** RFC 7638 SHA-256 thumbprint (base64url) of an instance key: the `jkt` of SPEC §3. */
export async function jwkThumbprint(jwk: InstancePublicJwk): Promise<string> {
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
  const canonical =
    jwk.kty === 'EC'
      ? `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
      : `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
  return base64url(await sha256(utf8(canonical)));
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new CharterError(
      'key_unavailable',
      'ERR_CLIENT_NO_WEBCRYPTO',
      'WebCrypto (crypto.subtle) is not available here: use a native key source (see REACT_NATIVE.md)',
    );
  }
  return s;
}

function algorithmFor(alg: InstanceAlg): EcKeyImportParams | Algorithm {
  return alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
}

/** The instance algorithm of a WebCrypto key, from its algorithm name. */
export function algOfCryptoKey(key: CryptoKey): InstanceAlg {
  const a = key.algorithm as { name: string; namedCurve?: string };
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'ES256';
  if (a.name === 'Ed25519') return 'EdDSA';
  throw new CharterError('key_unavailable', 'ERR_CLIENT_KEY', `unsupported instance key algorithm ${a.name}`);
}

/**
 * Generate an instance key pair with WebCrypto. Keep `extractable` false unless the store must
 * serialise the private key (a file); IndexedDB stores the CryptoKey objects themselves.
 */
export async function generateInstanceKeyPair(
  alg: InstanceAlg = 'ES256',
  extractable = false,
): Promise<CryptoKeyPair> {
  const pair = (await subtle().generateKey(algorithmFor(alg), extractable, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return pair;
}

/** Import a private JWK (as a file store keeps it) as a non-extractable key pair. */
export async function importInstanceKeyPair(privateJwk: JsonWebKey): Promise<CryptoKeyPair> {
  const pub = publicJwkOf(privateJwk);
  if (typeof privateJwk.d !== 'string' || !B64URL_32.test(privateJwk.d)) {
    throw new CharterError(
      'key_unavailable',
      'ERR_CLIENT_KEY',
      'the stored instance key has no valid private part',
    );
  }
  const algorithm = algorithmFor(algOf(pub));
  const privateKey = await subtle().importKey('jwk', { ...pub, d: privateJwk.d }, algorithm, false, ['sign']);
  const publicKey = await subtle().importKey('jwk', pub, algorithm, true, ['verify']);
  return { privateKey, publicKey };
}

/** A {@link ProofSigner} over a WebCrypto key pair (browser, Node, Deno, workers). */
export async function webCryptoSigner(keyPair: CryptoKeyPair): Promise<ProofSigner> {
  const alg = algOfCryptoKey(keyPair.privateKey);
  const jwk = publicJwkOf(await subtle().exportKey('jwk', keyPair.publicKey));
  const params = alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
  return {
    alg,
    jwk,
    // WebCrypto's ECDSA output is already the IEEE P1363 r||s form JOSE wants (RFC 7518 §3.4).
    sign: async (data) =>
      new Uint8Array(await subtle().sign(params, keyPair.privateKey, data as Uint8Array<ArrayBuffer>)),
  };
}

/**
 * Convert a DER ECDSA signature (what Android Keystore and the Secure Enclave return) to the 64-byte
 * JOSE r||s form. Native signers call this before returning from {@link ProofSigner.sign}.
 */
export function ecdsaDerToJose(der: Uint8Array): Uint8Array {
  const fail = (): never => {
    throw new CharterError('invalid_request', 'ERR_CLIENT_SIGNATURE', 'not a DER ECDSA P-256 signature');
  };
  // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (a P-256 signature is at most 72 bytes).
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) fail();
  let o = 2;
  const int = (): Uint8Array => {
    if (der[o] !== 0x02) fail();
    const len = der[o + 1] ?? 0;
    if (len < 1 || len > 33 || o + 2 + len > der.length) fail();
    let v = der.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) fail();
    const out = new Uint8Array(32);
    out.set(v, 32 - v.length);
    return out;
  };
  const r = int();
  const s = int();
  if (o !== der.length) fail();
  return concat(r, s);
}
