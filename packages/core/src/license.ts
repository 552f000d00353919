/** Site licenses (`charter-license+jwt`): the vendor's signed allow-list for one site, SPEC.md §2.2. */
import { ARTIFACT_TYP, type SigningKey, signArtifact } from './artifact.ts';
import { ClaimReader, ID, isCanonicalOrigin, JKT, SCOPE } from './claims.ts';
import { decodeJsonSegment } from './jws.ts';
import type { KeyRing } from './keyring.ts';
import { type VerifiedArtifact, type VerifyOptions, verifyVendorArtifact } from './verify.ts';

/** Enforce refuses what is not admitted; monitor admits and records what it would refuse. */
export type LicenseMode = 'enforce' | 'monitor';

/** An app this license admits, with optional narrower scopes and rate limits. */
export interface LicensedApp {
  app_id: string;
  scopes?: string[];
  rate?: { per_instance_per_min?: number; per_app_per_min?: number };
  /**
   * The web origins of the app's approved charters, copied in by `vendor license issue`: the source of
   * the gateway's CORS allow-list (an additive field, docs/spec-differences.md). A preflight
   * comes before any charter is shown, so the origins must already be in vendor-signed data.
   */
  web_origins?: string[];
}

/** Android hardware security levels, weakest first. */
export type SecurityLevel = 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX';

/** What the gateway does when its clock goes back past the tolerance: refuse, or warn and count. */
export type ClockRollbackPolicy = 'refuse' | 'warn';

/**
 * The license's policy. `clock_tolerance_s`, `on_clock_rollback` and `grace_s` are additive fields
 * (docs/spec-differences.md): absent, the gateway uses 3600 s, `warn` and no grace.
 */
export interface LicensePolicy {
  mode: LicenseMode;
  token_ttl_s?: number;
  proof_skew_s?: number;
  /** How far the clock may fall behind the time high-water mark before it counts as rolled back. */
  clock_tolerance_s?: number;
  on_clock_rollback?: ClockRollbackPolicy;
  /** Seconds after `exp` the site keeps working (with warnings) before the gateway refuses. */
  grace_s?: number;
  /**
   * Registration rate limits (additive): registrations per minute per charter and per source address.
   * Absent, the gateway uses {@link DEFAULT_REGISTER_RATE}.
   */
  register_rate?: { per_charter_per_min?: number; per_address_per_min?: number };
}

/** Registration limits when the license names none: generous for a rollout, tight for a farm of clones. */
export const DEFAULT_REGISTER_RATE = { per_charter_per_min: 60, per_address_per_min: 20 } as const;

/** The claims of a site license. */
export interface LicenseClaims {
  iss: string;
  sub: string;
  jti: string;
  serial: number;
  iat: number;
  nbf: number;
  exp: number;
  site: { id: string; name: string };
  installation?: { jkt: string };
  keys: string[];
  apps: LicensedApp[];
  revoked: { charters?: string[]; apps?: string[]; instances?: string[] };
  policy: LicensePolicy;
  attestation?: {
    roots?: string[];
    android_revoked?: string[];
    require_verified_boot?: boolean;
    min_security_level?: SecurityLevel;
    /** Accept Apple App Attest development keys (aaguid appattestdevelop): for pilots, never production. */
    allow_development?: boolean;
    /**
     * Additive (docs/spec-differences.md): who must attest the site's instances at
     * registration. `on_prem` (absent): the gateway verifies device evidence itself. `attester`: every
     * registration carries a token of the vendor's online attester. `either`: one or the other.
     */
    source?: AttestationSource;
    /** Where the vendor's attester answers (the SDK's default when the site requires it). */
    attester_url?: string;
  };
}

/** Who attests a site's instances: the site's gateway, the vendor's online attester, or either. */
export type AttestationSource = 'on_prem' | 'attester' | 'either';

/** A verified license: its claims and who signed it. */
export interface VerifiedLicense extends VerifiedArtifact {
  claims: LicenseClaims;
}

const MODES: readonly LicenseMode[] = ['enforce', 'monitor'];
const ROLLBACK: readonly ClockRollbackPolicy[] = ['refuse', 'warn'];
const LEVELS: readonly SecurityLevel[] = ['TRUSTED_ENVIRONMENT', 'STRONG_BOX'];
const SOURCES: readonly AttestationSource[] = ['on_prem', 'attester', 'either'];

/** Check the shape of license claims (step 11), refusing with `license_invalid`. */
export function checkLicenseClaims(
  p: Record<string, unknown>,
): asserts p is Record<string, unknown> & LicenseClaims {
  const r = new ClaimReader('license_invalid');
  const sub = r.string(p.sub, 'sub', ID);
  r.string(p.jti, 'jti', ID);
  r.integer(p.serial, 'serial', 1);
  r.integer(p.iat, 'iat');
  const nbf = r.integer(p.nbf, 'nbf');
  const exp = r.integer(p.exp, 'exp');
  if (exp <= nbf) r.fail('exp', 'must be after nbf');
  const site = r.object(p.site, 'site');
  if (r.string(site.id, 'site.id', ID) !== sub) r.fail('site.id', 'must equal sub');
  r.string(site.name, 'site.name');
  const inst = r.optionalObject(p.installation, 'installation');
  if (inst) r.string(inst.jkt, 'installation.jkt', JKT);
  r.strings(p.keys, 'keys', undefined, { max: 100 });
  const apps: unknown = p.apps;
  if (!Array.isArray(apps) || apps.length > 10000)
    return r.fail('apps', 'must be an array of at most 10000 apps');
  const seen = new Set<string>();
  apps.forEach((a: unknown, i: number) => {
    const app = r.object(a, `apps[${i}]`);
    const id = r.string(app.app_id, `apps[${i}].app_id`, ID);
    if (seen.has(id)) r.fail(`apps[${i}].app_id`, 'is listed twice');
    seen.add(id);
    r.optionalStrings(app.scopes, `apps[${i}].scopes`, SCOPE);
    if (app.web_origins !== undefined) {
      const origins = r.strings(app.web_origins, `apps[${i}].web_origins`, undefined, { max: 50 });
      for (const o of origins)
        if (!isCanonicalOrigin(o)) r.fail(`apps[${i}].web_origins`, 'holds a value that is not an origin');
    }
    const rate = r.optionalObject(app.rate, `apps[${i}].rate`);
    if (rate) {
      r.optionalInteger(rate.per_instance_per_min, `apps[${i}].rate.per_instance_per_min`, 1, 1_000_000);
      r.optionalInteger(rate.per_app_per_min, `apps[${i}].rate.per_app_per_min`, 1, 100_000_000);
    }
  });
  const revoked = r.object(p.revoked, 'revoked');
  r.optionalStrings(revoked.charters, 'revoked.charters', ID);
  r.optionalStrings(revoked.apps, 'revoked.apps', ID);
  r.optionalStrings(revoked.instances, 'revoked.instances', ID);
  const policy = r.object(p.policy, 'policy');
  r.oneOf(policy.mode, 'policy.mode', MODES);
  r.optionalInteger(policy.token_ttl_s, 'policy.token_ttl_s', 10, 86400);
  r.optionalInteger(policy.proof_skew_s, 'policy.proof_skew_s', 0, 600);
  r.optionalInteger(policy.clock_tolerance_s, 'policy.clock_tolerance_s', 60, 30 * 86400);
  r.optionalOneOf(policy.on_clock_rollback, 'policy.on_clock_rollback', ROLLBACK);
  r.optionalInteger(policy.grace_s, 'policy.grace_s', 0, 90 * 86400);
  const registerRate = r.optionalObject(policy.register_rate, 'policy.register_rate');
  if (registerRate) {
    r.optionalInteger(
      registerRate.per_charter_per_min,
      'policy.register_rate.per_charter_per_min',
      1,
      1_000_000,
    );
    r.optionalInteger(
      registerRate.per_address_per_min,
      'policy.register_rate.per_address_per_min',
      1,
      1_000_000,
    );
  }
  const att = r.optionalObject(p.attestation, 'attestation');
  if (att) {
    r.optionalStrings(
      att.roots,
      'attestation.roots',
      /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/,
    );
    r.optionalStrings(att.android_revoked, 'attestation.android_revoked', /^[0-9a-f]{1,64}$/);
    r.optionalBoolean(att.require_verified_boot, 'attestation.require_verified_boot');
    r.optionalOneOf(att.min_security_level, 'attestation.min_security_level', LEVELS);
    r.optionalBoolean(att.allow_development, 'attestation.allow_development');
    r.optionalOneOf(att.source, 'attestation.source', SOURCES);
    if (att.attester_url !== undefined)
      r.string(att.attester_url, 'attestation.attester_url', /^https?:\/\/[\x21-\x7e]{1,2000}$/);
  }
}

/** Sign a license with a signing key delegated for `license` use. */
export async function signLicense(claims: LicenseClaims, key: SigningKey): Promise<string> {
  return signArtifact(ARTIFACT_TYP.license, claims, key);
}

/**
 * Verify a license. The license carries the delegations of the keys it and its charters need
 * (`keys`); they are added to `ring` only after being read, and each is itself verified against a
 * root before use, so an attacker who edits `keys` gains nothing but a refusal.
 */
export async function verifyLicense(
  token: unknown,
  ring: KeyRing,
  options: VerifyOptions = {},
): Promise<VerifiedLicense> {
  if (typeof token === 'string') {
    const payloadB64 = token.split('.')[1];
    if (payloadB64 && payloadB64.length <= 65536) {
      const keys = decodeJsonSegment(payloadB64)?.keys;
      if (Array.isArray(keys)) ring.add(keys.filter((k): k is string => typeof k === 'string'));
    }
  }
  const v = await verifyVendorArtifact('license', token, ring, options, checkLicenseClaims);
  return { ...v, claims: v.payload as unknown as LicenseClaims };
}
