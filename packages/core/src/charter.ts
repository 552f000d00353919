/** Charters (`charter+jwt`): the vendor's signed approval of one app, SPEC.md §2.1. */
import { ARTIFACT_TYP, type SigningKey, signArtifact } from './artifact.ts';
import { BUNDLE_ID, ClaimReader, ID, isCanonicalOrigin, SCOPE, SHA256_HEX, TEAM_ID } from './claims.ts';
import type { KeyRing } from './keyring.ts';
import { type VerifiedArtifact, type VerifyOptions, verifyVendorArtifact } from './verify.ts';

/** Whether a platform needs hardware attestation. */
export type AttestationPolicy = 'required' | 'optional';

/** The platforms a charter approves the app on, and what binds it to each. */
export interface CharterPlatforms {
  android?: { package_name: string; signing_cert_sha256: string[] };
  ios?: { team_id: string; bundle_id: string };
  web?: { origins: string[] };
  server?: Record<string, never>;
}

/** A platform name of SPEC.md §2.1. */
export type Platform = keyof CharterPlatforms;

/** The platform names, in the order the SPEC lists them. */
export const PLATFORMS: readonly Platform[] = ['android', 'ios', 'web', 'server'];

/** The claims of a charter. */
export interface CharterClaims {
  iss: string;
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  publisher: { id: string; name: string };
  client_name: string;
  software_id: string;
  software_version: string;
  scopes: string[];
  platforms: CharterPlatforms;
  attestation?: { android?: AttestationPolicy; ios?: AttestationPolicy };
}

/** A verified charter: its claims and who signed it. */
export interface VerifiedCharter extends VerifiedArtifact {
  claims: CharterClaims;
}

const POLICIES: readonly AttestationPolicy[] = ['required', 'optional'];

/** Check the shape of charter claims (step 11), refusing with `invalid_charter`. */
export function checkCharterClaims(
  p: Record<string, unknown>,
): asserts p is Record<string, unknown> & CharterClaims {
  const r = new ClaimReader('invalid_charter');
  r.string(p.sub, 'sub', ID);
  r.string(p.jti, 'jti', ID);
  r.integer(p.iat, 'iat');
  const nbf = r.integer(p.nbf, 'nbf');
  const exp = r.integer(p.exp, 'exp');
  if (exp <= nbf) r.fail('exp', 'must be after nbf');
  const pub = r.object(p.publisher, 'publisher');
  r.string(pub.id, 'publisher.id', ID);
  r.string(pub.name, 'publisher.name');
  r.string(p.client_name, 'client_name');
  r.string(p.software_id, 'software_id', ID);
  r.string(p.software_version, 'software_version', undefined, 64);
  r.strings(p.scopes, 'scopes', SCOPE, { max: 200 });
  const platforms = r.object(p.platforms, 'platforms');
  const names = Object.keys(platforms);
  if (names.length === 0) r.fail('platforms', 'must name at least one platform');
  for (const name of names)
    if (!(PLATFORMS as readonly string[]).includes(name))
      r.fail(`platforms.${name}`, 'is not a known platform');
  const android = r.optionalObject(platforms.android, 'platforms.android');
  if (android) {
    r.string(android.package_name, 'platforms.android.package_name', BUNDLE_ID, 255);
    r.strings(android.signing_cert_sha256, 'platforms.android.signing_cert_sha256', SHA256_HEX, {
      min: 1,
      max: 20,
    });
  }
  const ios = r.optionalObject(platforms.ios, 'platforms.ios');
  if (ios) {
    r.string(ios.team_id, 'platforms.ios.team_id', TEAM_ID);
    r.string(ios.bundle_id, 'platforms.ios.bundle_id', BUNDLE_ID, 255);
  }
  const web = r.optionalObject(platforms.web, 'platforms.web');
  if (web) {
    const origins = r.strings(web.origins, 'platforms.web.origins', undefined, { min: 1, max: 50 });
    for (const o of origins)
      if (!isCanonicalOrigin(o)) r.fail('platforms.web.origins', 'holds a value that is not an origin');
  }
  const server = r.optionalObject(platforms.server, 'platforms.server');
  if (server && Object.keys(server).length > 0) r.fail('platforms.server', 'must be an empty object');
  const att = r.optionalObject(p.attestation, 'attestation');
  if (att) {
    for (const k of Object.keys(att))
      if (k !== 'android' && k !== 'ios') r.fail(`attestation.${k}`, 'is not a platform that attests');
    r.optionalOneOf(att.android, 'attestation.android', POLICIES);
    r.optionalOneOf(att.ios, 'attestation.ios', POLICIES);
  }
}

/** Sign a charter with a signing key delegated for `charter` use. */
export async function signCharter(claims: CharterClaims, key: SigningKey): Promise<string> {
  return signArtifact(ARTIFACT_TYP.charter, claims, key);
}

/** Verify a charter in the order of verify.ts; refusals are `invalid_charter` or `charter_expired`. */
export async function verifyCharter(
  token: unknown,
  ring: KeyRing,
  options: VerifyOptions = {},
): Promise<VerifiedCharter> {
  const v = await verifyVendorArtifact('charter', token, ring, options, checkCharterClaims);
  return { ...v, claims: v.payload as unknown as CharterClaims };
}

/** The attestation policy of a charter for a platform: required unless the charter says optional. */
export function attestationPolicyOf(claims: CharterClaims, platform: Platform): AttestationPolicy | 'none' {
  if (platform !== 'android' && platform !== 'ios') return 'none';
  return claims.attestation?.[platform] ?? 'required';
}
