/**
 * The valid things the corpus is made of, made with the project's own code: a vendor (root key, a
 * delegated signing key, trust), charters for every platform, a license admitting them with the test
 * attestation roots, a revocation update, an installation key with its activation request and usage
 * report, instance keys. Vendor and installation keys are derived from the campaign seed (Ed25519
 * signatures are deterministic), so the same seed gives the same tokens up to their times.
 */
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createTestAppAttestAuthority, createTestAttestationAuthority } from '@charter/attest/testing';
import {
  type ActivationClaims,
  type CharterClaims,
  KeyRing,
  type LicenseClaims,
  publicJwkOf,
  type ReportClaims,
  type RevocationsClaims,
  type SigningKey,
  signCharter,
  signInstallationArtifact,
  signKeyDelegation,
  signLicense,
  signRevocations,
  thumbprint,
  trustFromDocument,
  type VendorTrust,
} from '@charter/core';

export const now = (): number => Math.floor(Date.now() / 1000);
export const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
export const PACKAGE = 'com.beta.orders';
export const DIGEST = createHash('sha256').update('beta signing certificate').digest('hex');
export const TEAM = 'ABCDE12345';
export const BUNDLE = 'com.beta.orders';

/** An Ed25519 private key from 32 seed bytes (PKCS#8 prefix + seed). */
export function ed25519FromSeed(seed: number, label: string): KeyObject {
  const raw = createHash('sha256').update(`${seed}:${label}`).digest();
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** Sign `input` with `key` as its JWS alg needs (EdDSA, or ES256 in IEEE P1363 form). */
export function jwsSign(input: string, key: KeyObject): string {
  const data = Buffer.from(input);
  return b64u(
    key.asymmetricKeyType === 'ed25519'
      ? sign(null, data, key)
      : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }),
  );
}

export interface World {
  seed: number;
  trust: VendorTrust;
  trustDoc: { vendor_id: string; keys: unknown[] };
  signer: SigningKey;
  signingKey: KeyObject;
  delegation: string;
  ring(): KeyRing;
  charters: Record<'server' | 'web' | 'android' | 'ios' | 'all', string>;
  charterClaims: CharterClaims;
  license: string;
  licenseClaims: LicenseClaims;
  revocations: string;
  installationKey: KeyObject;
  activation: string;
  reports: string[];
  android: ReturnType<typeof createTestAttestationAuthority>;
  apple: ReturnType<typeof createTestAppAttestAuthority>;
}

/** Build the world for `seed`. */
export async function makeWorld(seed: number): Promise<World> {
  const root = ed25519FromSeed(seed, 'vendor-root');
  const signingKey = ed25519FromSeed(seed, 'vendor-signing');
  const rootJwk = await publicJwkOf(root);
  const signingJwk = await publicJwkOf(signingKey);
  const t = now();
  const delegation = await signKeyDelegation(
    { vendorId: 'acme', jwk: signingJwk, use: ['charter', 'license'], nbf: t - 3600, exp: t + 86400 * 30 },
    { kid: rootJwk.kid, privateKey: root },
  );
  const trustDoc = { vendor_id: 'acme', keys: [rootJwk] };
  const trust = await trustFromDocument(trustDoc);
  const signer: SigningKey = { kid: signingJwk.kid, privateKey: signingKey };
  const android = createTestAttestationAuthority();
  const apple = createTestAppAttestAuthority();

  const charterClaims: CharterClaims = {
    iss: 'acme',
    sub: 'app_beta',
    jti: `chr_${seed}_beta`,
    iat: t - 10,
    nbf: t - 10,
    exp: t + 86400,
    publisher: { id: 'pub_beta', name: 'Beta Apps' },
    client_name: 'Beta Orders',
    software_id: 'beta-orders',
    software_version: '1.0.0',
    scopes: ['orders:read', 'orders:write'],
    platforms: {
      server: {},
      web: { origins: ['https://beta.example'] },
      android: { package_name: PACKAGE, signing_cert_sha256: [DIGEST] },
      ios: { team_id: TEAM, bundle_id: BUNDLE },
    },
  };
  const charterFor = (
    sub: string,
    platforms: CharterClaims['platforms'],
    extra: Partial<CharterClaims> = {},
  ) => signCharter({ ...charterClaims, sub, jti: `chr_${seed}_${sub}`, platforms, ...extra }, signer);
  const charters = {
    all: await signCharter(charterClaims, signer),
    server: await charterFor('app_server', { server: {} }),
    web: await charterFor('app_web', { web: { origins: ['https://beta.example'] } }),
    android: await charterFor(
      'app_android',
      { android: charterClaims.platforms.android },
      { attestation: { android: 'optional' } },
    ),
    ios: await charterFor('app_ios', { ios: charterClaims.platforms.ios }),
  };
  const licenseClaims: LicenseClaims = {
    iss: 'acme',
    sub: 'site_a',
    jti: `lic_${seed}_1`,
    serial: 1,
    iat: t - 10,
    nbf: t - 10,
    exp: t + 86400 * 7,
    site: { id: 'site_a', name: 'Hospital A' },
    keys: [delegation],
    apps: [
      { app_id: 'app_beta' },
      { app_id: 'app_server' },
      { app_id: 'app_web' },
      { app_id: 'app_android' },
      { app_id: 'app_ios' },
    ],
    revoked: { charters: [`chr_${seed}_revoked`] },
    policy: {
      mode: 'enforce',
      token_ttl_s: 3600,
      proof_skew_s: 300,
      // A campaign registers hundreds of thousands of times from one address.
      register_rate: { per_charter_per_min: 1_000_000, per_address_per_min: 1_000_000 },
    },
    attestation: { roots: [android.rootPem, apple.rootPem] },
  };
  const license = await signLicense(licenseClaims, signer);
  const revocationsClaims: RevocationsClaims = {
    iss: 'acme',
    sub: 'site_a',
    jti: `rev_${seed}_2`,
    serial: 2,
    license_serial: 1,
    iat: t - 10,
    nbf: t - 10,
    exp: t + 86400,
    keys: [delegation],
    revoked: { charters: [`chr_${seed}_revoked`], instances: ['ins_revoked'] },
  };
  const revocations = await signRevocations(revocationsClaims, signer);

  const installationKey = ed25519FromSeed(seed, 'installation');
  const { kid: _kid, ...ijwk } = await publicJwkOf(installationKey);
  const jkt = await thumbprint(ijwk as never);
  const activationClaims: ActivationClaims = {
    iss: jkt,
    sub: 'site_a',
    jti: `act_${seed}`,
    iat: t,
    exp: t + 86400,
    installation: { jkt },
    gateway_version: '0.1.0',
    integrity: 'unsealed',
  };
  const activation = await signInstallationArtifact('activation', activationClaims, installationKey);
  const report1: ReportClaims = {
    iss: jkt,
    jti: `rep_${seed}_1`,
    iat: t,
    site: 'site_a',
    seq: 1,
    period: { from: t - 3600, to: t },
    license_serial: 1,
    integrity: 'unsealed',
    clock: { rollback_events: 0 },
    apps: {
      app_beta: { admitted: 100, denied: { invalid_token: 2 }, instances: 2, unattested_instances: 1 },
    },
    unknown: { app_other: 3 },
    instances: {
      ins_1: {
        app_id: 'app_beta',
        charter_id: `chr_${seed}_beta`,
        platform: 'android',
        jkt,
        attested: true,
        evidence: jkt,
        verdict: { format: 'android-key', security_level: 'TRUSTED_ENVIRONMENT', locked: true, version: 4 },
        waived: ['attestation_required:ERR_X'],
      },
    },
  };
  const report1Token = await signInstallationArtifact('report', report1, installationKey);
  const report2 = {
    ...report1,
    jti: `rep_${seed}_2`,
    seq: 2,
    prev: createHash('sha256').update(report1Token).digest('base64url'),
  };
  const reports = [report1Token, await signInstallationArtifact('report', report2, installationKey)];

  return {
    seed,
    trust,
    trustDoc,
    signer,
    signingKey,
    delegation,
    ring: () => new KeyRing(trust, [delegation]),
    charters,
    charterClaims,
    license,
    licenseClaims,
    revocations,
    installationKey,
    activation,
    reports,
    android,
    apple,
  };
}

/** A fresh instance key of either algorithm, with its public JWK. */
export function instanceKey(alg: 'ES256' | 'EdDSA'): {
  alg: typeof alg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, string>;
} {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const full = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const jwk: Record<string, string> =
    alg === 'ES256'
      ? { kty: 'EC', crv: 'P-256', x: full.x as string, y: full.y as string }
      : { kty: 'OKP', crv: 'Ed25519', x: full.x as string };
  return { alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

/** A compact JWS signed by `key` (a DPoP proof when typ is dpop+jwt). */
export function jws(header: Record<string, unknown>, payload: unknown, key: KeyObject): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${jwsSign(input, key)}`;
}

/** base64url(SHA-256(text)): `ath` and token hashes. */
export function sha256b64u(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
