/**
 * The installed site license, compiled for per-request use (sets and maps instead of arrays), and
 * its installation: verified against the trust anchor, not expired, bound to this installation if it
 * says so, and never below the highest serial this store has installed.
 */
import {
  CharterError,
  type ClockRollbackPolicy,
  decodeJsonSegment,
  epochSeconds,
  KeyRing,
  type LicenseClaims,
  type LicensedApp,
  type LicenseMode,
  publicJwkOf,
  type VendorTrust,
  verifyLicense,
} from '@charter/core';
import { installationKey } from './activation.ts';
import { DEFAULT_CLOCK_TOLERANCE_S } from './clock.ts';
import { revocationUpdateSerial } from './revocation-update.ts';
import type { GatewayStore, InstallOutcome } from './store.ts';

/** A verified license ready for the hot path. */
export interface SiteLicense {
  token: string;
  claims: LicenseClaims;
  serial: number;
  siteId: string;
  mode: LicenseMode;
  /** Key ring of the trust anchor plus the license's delegations, for verifying charters. */
  ring: KeyRing;
  apps: ReadonlyMap<string, LicensedApp>;
  revoked: { charters: ReadonlySet<string>; apps: ReadonlySet<string>; instances: ReadonlySet<string> };
  tokenTtlS: number;
  proofSkewS: number;
  nbf: number;
  exp: number;
  /** Seconds after `exp` the vendor lets the site keep working (with warnings). */
  graceS: number;
  clockToleranceS: number;
  onClockRollback: ClockRollbackPolicy;
}

/**
 * The instant to verify at: `at`, or just before `exp` when `at` falls in the grace period the
 * license itself grants (read unverified here; the signature then covers it, and loadLicense checks
 * the verified claims again).
 */
function verificationInstant(token: string, at: number): number {
  const p = decodeJsonSegment(token.split('.')[1] ?? '');
  const exp = p?.exp;
  const grace = (p?.policy as { grace_s?: unknown } | undefined)?.grace_s;
  if (typeof exp !== 'number' || typeof grace !== 'number' || grace <= 0) return at;
  return at >= exp && at < exp + grace ? exp - 1 : at;
}

/** Verify a license token against the trust anchor at `at` and compile it. */
export async function loadLicense(
  token: string,
  trust: VendorTrust,
  store: GatewayStore,
  at?: number,
): Promise<SiteLicense> {
  const ring = new KeyRing(trust);
  const t = epochSeconds(at);
  const { claims } = await verifyLicense(token.trim(), ring, { at: verificationInstant(token.trim(), t) });
  const graceS = claims.policy.grace_s ?? 0;
  if (claims.installation) {
    const jkt = (await publicJwkOf(await installationKey(store))).kid;
    if (jkt !== claims.installation.jkt) {
      throw new CharterError(
        'license_invalid',
        'ERR_INSTALLATION',
        'the license is bound to another installation: this gateway state was wiped or is not the one the vendor activated; run `charter gateway activate` and ask the vendor to re-activate (issue a license bound to the new request)',
      );
    }
  }
  return {
    token: token.trim(),
    claims,
    serial: claims.serial,
    siteId: claims.sub,
    mode: claims.policy.mode,
    ring,
    apps: new Map(claims.apps.map((a) => [a.app_id, a])),
    revoked: {
      charters: new Set(claims.revoked.charters ?? []),
      apps: new Set(claims.revoked.apps ?? []),
      instances: new Set(claims.revoked.instances ?? []),
    },
    tokenTtlS: claims.policy.token_ttl_s ?? 300,
    proofSkewS: claims.policy.proof_skew_s ?? 60,
    nbf: claims.nbf,
    exp: claims.exp,
    graceS,
    clockToleranceS: claims.policy.clock_tolerance_s ?? DEFAULT_CLOCK_TOLERANCE_S,
    onClockRollback: claims.policy.on_clock_rollback ?? 'warn',
  };
}

const INSTALL_REFUSALS: Record<
  Exclude<InstallOutcome, 'installed' | 'already_installed'>,
  [string, string]
> = {
  serial_below_installed: [
    'ERR_LICENSE_ROLLBACK',
    'the license serial is below the highest serial installed here',
  ],
  serial_reused: ['ERR_LICENSE_SERIAL_REUSED', 'another license with this serial is already installed here'],
  other_site: ['ERR_LICENSE_SITE', 'the license is for another site than the one installed here'],
};

/**
 * Verify `token` and record it in the store, refusing with `license_invalid` a license that does not
 * verify, has expired, or whose serial is below the high-water mark. Re-installing the current
 * license is a no-op, so `gateway start --license` with the installed file is fine.
 */
export async function installLicense(
  token: string,
  trust: VendorTrust,
  store: GatewayStore,
  at?: number,
): Promise<{ license: SiteLicense; outcome: 'installed' | 'already_installed' }> {
  const license = await loadLicense(token, trust, store, at);
  // Licenses and revocation updates share the site's serial sequence: one serial, one artifact.
  if ((await revocationUpdateSerial(store)) === license.serial) {
    const [detail, reason] = INSTALL_REFUSALS.serial_reused;
    throw new CharterError('license_invalid', detail, reason);
  }
  const outcome = await store.installLicense({
    serial: license.serial,
    jti: license.claims.jti,
    site_id: license.siteId,
    exp: license.exp,
    token: license.token,
    installed_at: epochSeconds(at),
  });
  if (outcome !== 'installed' && outcome !== 'already_installed') {
    const [detail, reason] = INSTALL_REFUSALS[outcome];
    throw new CharterError('license_invalid', detail, reason);
  }
  return { license, outcome };
}
