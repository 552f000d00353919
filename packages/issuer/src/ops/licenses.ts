/**
 * Sites and their licenses: a first license names its apps; a renewal (no app list) carries the
 * latest license forward minus revoked apps. Every license carries every revocation in force, every
 * delegation still valid, and the apps' web origins as their approved charters say now.
 */
import {
  CharterError,
  type CharterPlatforms,
  type LicenseClaims,
  type LicensedApp,
  newId,
  signLicense,
} from '@charter/core';
import { recordActivation } from '../evidence.ts';
import { appExists } from '../store/catalogue.ts';
import { hasLiveCharter, liveChartersWithPlatforms } from '../store/charters.ts';
import { validDelegations } from '../store/keys.ts';
import * as store from '../store/sites.ts';
import type { LicenseInput } from '../types.ts';
import { invalid, now, record, reqId, type VendorContext, vendorIdOf } from './context.ts';
import { activeKey } from './keys.ts';
import { verifyReports } from './reports.ts';
import { listRevocations, revokedClaim } from './revocations.ts';

/** Add a site: one customer installation that will receive licenses. */
export function addSite(ctx: VendorContext, input: { name: string }): { site_id: string } {
  vendorIdOf(ctx);
  const name = input.name.trim();
  if (!name) invalid('ERR_NAME', 'a site needs a name');
  const id = newId('site');
  ctx.db.transaction(() => {
    store.insertSite(ctx.db, { id, name, createdAt: now() });
    record(ctx, 'site.add', id, { name });
  })();
  return { site_id: id };
}

/** Sites with their latest license serial and expiry. */
export function listSites(ctx: VendorContext): ReturnType<typeof store.siteSummaries> {
  vendorIdOf(ctx);
  return store.siteSummaries(ctx.db);
}

/** A license as issued. */
export interface IssuedLicense {
  license_id: string;
  serial: number;
  exp: number;
  license: string;
  apps: string[];
  renewed_from: number | null;
  dropped: string[];
}

/**
 * The web origins a license lists for an app: those of its approved charters that are unexpired and
 * not revoked, in approval order (the gateway's CORS allow-list comes from here, since a browser's
 * preflight arrives before any charter does).
 */
function webOriginsOf(
  ctx: VendorContext,
  appId: string,
  t: number,
  revokedCharters: ReadonlySet<string>,
): string[] {
  const origins = new Set<string>();
  for (const row of liveChartersWithPlatforms(ctx.db, appId, t)) {
    if (revokedCharters.has(row.id)) continue;
    const platforms = JSON.parse(row.platforms) as CharterPlatforms;
    for (const o of platforms.web?.origins ?? []) origins.add(o);
  }
  // The license format caps an app's list at 50, like a charter's: the newest approvals win.
  return [...origins].slice(-50);
}

/** Issue the next license of a site: serial strictly increases, every revocation is carried. */
export async function issueLicense(ctx: VendorContext, input: LicenseInput): Promise<IssuedLicense> {
  const vendorId = vendorIdOf(ctx);
  const site = store.siteById(ctx.db, reqId(input.siteId, 'site'));
  if (!site) throw new CharterError('not_found', 'ERR_UNKNOWN_SITE', `there is no site ${input.siteId}`);
  const revocations = listRevocations(ctx);
  const revokedApps = new Set(revocations.filter((r) => r.kind === 'app').map((r) => r.target));
  const revokedCharters = new Set(revocations.filter((r) => r.kind === 'charter').map((r) => r.target));
  const t = now();
  const renewal = input.appIds === undefined;
  const previous = renewal ? store.latestLicenseClaims(ctx.db, site.id) : undefined;
  // No app list is a renewal; with nothing to renew, the site's state (not the request) is what is missing.
  if (renewal && !previous)
    throw new CharterError(
      'conflict',
      'ERR_APPS',
      `site ${site.id} has no license to renew yet: name the apps of its first license (--apps A1,A2)`,
    );
  const rateOf = (old: LicensedApp['rate'] | undefined): LicensedApp['rate'] => {
    const rate: LicensedApp['rate'] = { ...(old ?? {}) };
    if (input.ratePerInstancePerMin) rate.per_instance_per_min = input.ratePerInstancePerMin;
    if (input.ratePerAppPerMin) rate.per_app_per_min = input.ratePerAppPerMin;
    return rate;
  };
  let apps: LicensedApp[];
  const dropped: string[] = [];
  if (previous) {
    // A renewal keeps each app's scopes and rates; revoked apps leave the allow-list.
    apps = [];
    for (const a of previous.apps) {
      if (revokedApps.has(a.app_id)) {
        dropped.push(a.app_id);
        continue;
      }
      const rate = rateOf(a.rate);
      const { rate: _old, ...rest } = a;
      apps.push(Object.keys(rate ?? {}).length > 0 ? { ...rest, rate } : rest);
    }
  } else {
    const appIds = [...new Set(input.appIds ?? [])];
    if (appIds.length === 0)
      invalid(
        'ERR_APPS',
        'a new license must name the apps it admits (--apps A1,A2); to renew the latest one, leave --apps out',
      );
    apps = appIds.map((appId) => {
      reqId(appId, 'app');
      if (!appExists(ctx.db, appId))
        throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${appId}`);
      if (revokedApps.has(appId))
        throw new CharterError(
          'conflict',
          'ERR_APP_REVOKED',
          `app ${appId} is revoked and cannot be admitted again. To carry the revocation to site ${site.id}, renew its license without the app (\`charter vendor license issue --site ${site.id} --out FILE\`, no --apps: the same apps minus revoked ones) or send a revocation update at once (\`charter vendor revocations issue --site ${site.id} --out FILE\`)`,
        );
      if (!hasLiveCharter(ctx.db, appId, t))
        throw new CharterError(
          'conflict',
          'ERR_APP_NOT_APPROVED',
          `app ${appId} has no approved, unexpired charter`,
        );
      const rate = rateOf(undefined);
      return Object.keys(rate ?? {}).length > 0 ? { app_id: appId, rate } : { app_id: appId };
    });
  }
  // Browsers' origins come from the app's approved charters as they are now: a renewal refreshes them.
  apps = apps.map((a) => {
    const { web_origins: _stale, ...rest } = a;
    const webOrigins = webOriginsOf(ctx, a.app_id, t, revokedCharters);
    return webOrigins.length > 0 ? { ...rest, web_origins: webOrigins } : rest;
  });
  const appIds = apps.map((a) => a.app_id);
  const ttlS = input.ttlS ?? (previous ? previous.exp - previous.nbf : undefined);
  if (ttlS === undefined || ttlS <= 0) invalid('ERR_TTL', 'a license needs a validity (--ttl 365d)');
  if (input.reports && input.reports.length > 0) {
    const verdict = await verifyReports(ctx, input.reports);
    // The reports were read and their chain is broken: evidence against the site, not a bad request.
    if (input.requireUnbrokenChain && !verdict.ok) {
      throw new CharterError(
        'conflict',
        'ERR_REPORT_CHAIN',
        'the usage reports show gaps, forks, edits or foreign reports: run `charter vendor report verify` to see them',
      );
    }
  } else if (input.requireUnbrokenChain) {
    invalid('ERR_REPORT_CHAIN', 'an unbroken report chain is required but no --report was given');
  }
  let installationJkt: string | undefined = previous?.installation?.jkt;
  if (input.activation !== undefined) {
    const activation = await recordActivation(ctx.db, site.id, input.activation, t);
    installationJkt = activation.jkt;
    record(ctx, 'site.activate', site.id, {
      jkt: activation.jkt,
      reactivation: activation.reactivation,
      previous: activation.previous,
    });
  }
  const key = activeKey(ctx, 'license');
  const exp = t + ttlS;
  if (exp > key.exp) {
    throw new CharterError(
      'key_unavailable',
      'ERR_KEY_TOO_SHORT',
      'the license would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
    );
  }
  // Every delegation still valid goes in, so charters signed by an older charter key keep verifying.
  const keys = validDelegations(ctx.db, t);
  const policy: LicenseClaims['policy'] = previous
    ? { ...previous.policy, ...(input.mode ? { mode: input.mode } : {}) }
    : { mode: input.mode ?? 'enforce' };
  if (input.tokenTtlS !== undefined) policy.token_ttl_s = input.tokenTtlS;
  if (input.proofSkewS !== undefined) policy.proof_skew_s = input.proofSkewS;
  if (input.clockToleranceS !== undefined) policy.clock_tolerance_s = input.clockToleranceS;
  if (input.onClockRollback !== undefined) policy.on_clock_rollback = input.onClockRollback;
  if (input.graceS !== undefined) policy.grace_s = input.graceS;
  if (input.registerPerCharterPerMin !== undefined || input.registerPerAddressPerMin !== undefined)
    policy.register_rate = {
      ...(input.registerPerCharterPerMin !== undefined
        ? { per_charter_per_min: input.registerPerCharterPerMin }
        : {}),
      ...(input.registerPerAddressPerMin !== undefined
        ? { per_address_per_min: input.registerPerAddressPerMin }
        : {}),
    };
  const revoked = revokedClaim(revocations);
  const attestation =
    input.attestation && Object.keys(input.attestation).length > 0
      ? input.attestation
      : previous?.attestation;
  // Signing is async, so the serial is claimed by the insert itself: UNIQUE (site_id, serial) and the
  // re-check against revocation updates (one sequence) turn a concurrent issue into a retry, never
  // into two artifacts with one serial.
  for (let attempt = 0; ; attempt++) {
    const serial = store.nextSerial(ctx.db, site.id);
    const claims: LicenseClaims = {
      iss: vendorId,
      sub: site.id,
      jti: newId('lic'),
      serial,
      iat: t,
      nbf: t,
      exp,
      site: { id: site.id, name: site.name },
      ...(installationJkt ? { installation: { jkt: installationJkt } } : {}),
      keys,
      apps,
      revoked,
      policy,
      ...(attestation ? { attestation } : {}),
    };
    // Too large to verify is refused by the signer (ERR_SIZE), before anything is stored; the
    // usual reason is a long Android serial list, so the refusal says how many it carries.
    const license = await signLicense(claims, key).catch((e: unknown) => {
      const serials = claims.attestation?.android_revoked?.length ?? 0;
      if (e instanceof CharterError && e.detail === 'ERR_SIZE' && serials > 0)
        invalid('ERR_SIZE', `${e.message} (it carries ${serials} Android serials: about 1,100 fit)`);
      throw e;
    });
    try {
      ctx.db.transaction(() => {
        if (store.nextSerial(ctx.db, site.id) !== serial) throw new Error('UNIQUE: serial taken meanwhile');
        store.insertLicense(ctx.db, {
          id: claims.jti,
          siteId: site.id,
          serial,
          iat: t,
          exp,
          apps: JSON.stringify(appIds),
          mode: policy.mode,
          installationJkt: installationJkt ?? null,
          token: license,
          issuedBy: ctx.actor.name,
        });
        record(ctx, 'license.issue', claims.jti, {
          site_id: site.id,
          serial,
          apps: appIds,
          mode: policy.mode,
          exp,
          ...(previous ? { renewed_from: previous.serial, dropped } : {}),
        });
      })();
      return {
        license_id: claims.jti,
        serial,
        exp,
        license,
        apps: appIds,
        renewed_from: previous?.serial ?? null,
        dropped,
      };
    } catch (e) {
      if (attempt < 3 && e instanceof Error && /UNIQUE/.test(e.message)) continue;
      throw e;
    }
  }
}

/** A license as issued (the compact JWS), or not_found. */
export function licenseToken(
  ctx: VendorContext,
  licenseId: string,
): { license_id: string; site_id: string; serial: number; license: string } {
  vendorIdOf(ctx);
  const row = store.licenseById(ctx.db, reqId(licenseId, 'license'));
  if (!row) throw new CharterError('not_found', 'ERR_UNKNOWN_LICENSE', `there is no license ${licenseId}`);
  return { license_id: row.id, site_id: row.site_id, serial: row.serial, license: row.token };
}

/** One license in a listing. */
export interface LicenseSummary {
  license_id: string;
  site_id: string;
  serial: number;
  iat: number;
  exp: number;
  apps: string[];
  mode: string;
  issued_by: string;
}

/** Licenses issued, newest first, optionally for one site. */
export function listLicenses(ctx: VendorContext, siteId?: string): LicenseSummary[] {
  vendorIdOf(ctx);
  return store.licenseRows(ctx.db, siteId).map((r) => ({
    license_id: r.id as string,
    site_id: r.site_id as string,
    serial: r.serial as number,
    iat: r.iat as number,
    exp: r.exp as number,
    apps: JSON.parse(r.apps as string) as string[],
    mode: r.mode as string,
    issued_by: r.issued_by as string,
  }));
}

/** The site's latest license claims, the vendor's current policy for it (undefined: no license yet). */
export function latestLicense(ctx: VendorContext, siteId: string): LicenseClaims | undefined {
  return store.latestLicenseClaims(ctx.db, siteId);
}
