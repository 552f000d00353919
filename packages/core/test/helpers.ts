/** Test helpers: a fixed test vendor and a raw JWS signer that can make any malformed artifact. */
import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  type CharterClaims,
  type LicenseClaims,
  type PublicJwk,
  publicJwkOf,
  signKeyDelegation,
} from '@charter/core';

const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

/** Sign arbitrary header and payload (objects are JSON-encoded) with any algorithm, for negative tests. */
export function rawJws(
  header: object | string,
  payload: object | string | Uint8Array,
  key: KeyObject | Buffer | null,
  alg = 'EdDSA',
): string {
  const h = typeof header === 'string' ? b64(header) : b64(JSON.stringify(header));
  const p =
    typeof payload === 'string'
      ? b64(payload)
      : payload instanceof Uint8Array
        ? b64(payload)
        : b64(JSON.stringify(payload));
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  let sig: Buffer;
  if (key === null) sig = Buffer.alloc(0);
  else if (Buffer.isBuffer(key)) sig = createHmac('sha256', key).update(input).digest();
  else if (alg === 'EdDSA') sig = sign(null, input, key);
  else if (alg === 'ES256') sig = sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
  else sig = sign('sha256', input, key);
  return `${h}.${p}.${b64(sig)}`;
}

/** An Ed25519 key from a 32-byte seed given as hex, so vectors are reproducible. */
export async function seededKey(seedHex: string): Promise<{ privateKey: KeyObject; jwk: PublicJwk }> {
  const seed = Buffer.from(seedHex, 'hex');
  // PKCS#8 prefix for an Ed25519 private key (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { privateKey, jwk: await publicJwkOf(privateKey) };
}

/** The fixed instant the vectors verify at: 2027-01-15T08:00:00Z. */
export const AT = 1_800_000_000;

/** A test vendor: root, charter key, license key, and keys for negative cases. */
export async function testVendor() {
  const root = await seededKey('01'.repeat(32));
  const charterKey = await seededKey('02'.repeat(32));
  const licenseKey = await seededKey('03'.repeat(32));
  const expiredKey = await seededKey('04'.repeat(32));
  const futureKey = await seededKey('05'.repeat(32));
  const foreignRoot = await seededKey('06'.repeat(32));
  const foreignKey = await seededKey('07'.repeat(32));
  const signer = (k: { privateKey: KeyObject; jwk: PublicJwk }) => ({
    kid: k.jwk.kid,
    privateKey: k.privateKey,
  });
  const delegate = (
    k: { jwk: PublicJwk },
    use: ('charter' | 'license')[],
    nbf: number,
    exp: number,
    by = root,
  ) => signKeyDelegation({ vendorId: 'acme', jwk: k.jwk, use, nbf, exp }, signer(by));
  const delegations = {
    charter: await delegate(charterKey, ['charter'], AT - 86400 * 365, AT + 86400 * 730),
    license: await delegate(licenseKey, ['license'], AT - 86400 * 365, AT + 86400 * 730),
    expired: await delegate(expiredKey, ['charter', 'license'], AT - 86400 * 400, AT - 86400),
    future: await delegate(futureKey, ['charter', 'license'], AT + 86400, AT + 86400 * 400),
    foreign: await delegate(foreignKey, ['charter', 'license'], AT - 86400, AT + 86400 * 400, foreignRoot),
  };
  return {
    trust: { vendor_id: 'acme', keys: [root.jwk] },
    root,
    charterKey,
    licenseKey,
    expiredKey,
    futureKey,
    foreignRoot,
    foreignKey,
    signer,
    delegations,
  };
}

/** A well-formed charter claim set valid at {@link AT}. */
export function charterClaims(over: Partial<CharterClaims> = {}): CharterClaims {
  return {
    iss: 'acme',
    sub: 'app_orders',
    jti: 'chr_0001',
    iat: AT - 3600,
    nbf: AT - 3600,
    exp: AT + 86400 * 180,
    publisher: { id: 'pub_beta', name: 'Beta Apps' },
    client_name: 'Beta Orders',
    software_id: 'app_orders',
    software_version: '1.4.2',
    scopes: ['orders:read', 'orders:write'],
    platforms: {
      web: { origins: ['https://orders.beta.example'] },
      android: { package_name: 'com.beta.orders', signing_cert_sha256: ['ab'.repeat(32)] },
      ios: { team_id: 'ABCDE12345', bundle_id: 'com.beta.orders' },
      server: {},
    },
    ...over,
  };
}

/** A well-formed license claim set valid at {@link AT}; `keys` must be filled by the caller. */
export function licenseClaims(keys: string[], over: Partial<LicenseClaims> = {}): LicenseClaims {
  return {
    iss: 'acme',
    sub: 'site_hospital_a',
    jti: 'lic_0001',
    serial: 3,
    iat: AT - 3600,
    nbf: AT - 3600,
    exp: AT + 86400 * 365,
    site: { id: 'site_hospital_a', name: 'Hospital A' },
    keys,
    apps: [
      { app_id: 'app_orders' },
      { app_id: 'app_own', scopes: ['orders:read'], rate: { per_instance_per_min: 120 } },
    ],
    revoked: { charters: ['chr_0000'] },
    policy: { mode: 'enforce', token_ttl_s: 300, proof_skew_s: 60 },
    ...over,
  };
}

/** A throwaway Ed25519, P-256 and RSA key for algorithm-confusion vectors. */
export function otherKeys() {
  return {
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  };
}
