/**
 * Revocations: recording one, and carrying the full set to sites — in every license issued from now
 * on (licenses.ts), or at once in a revocation update (`charter-revocations+jwt`) on top of a site's
 * latest license. Also where each site stands: behind, updated, and whether it reported the update.
 */
import {
  CharterError,
  decodeJsonSegment,
  type LicenseClaims,
  MAX_REVOCATIONS_TTL_S,
  newId,
  type RevocationsClaims,
  signRevocations,
} from '@charter/core';
import { appExists } from '../store/catalogue.ts';
import { charterExists } from '../store/charters.ts';
import { validDelegations } from '../store/keys.ts';
import { reportTokensOfSite } from '../store/reports.ts';
import * as store from '../store/revocations.ts';
import {
  insertRevocationUpdate,
  latestLicenseClaims,
  latestLicenseRow,
  latestRevocationUpdate,
  nextSerial,
  revocationUpdateById,
  siteById,
  siteList,
} from '../store/sites.ts';
import { invalid, now, record, reqId, type VendorContext, vendorIdOf } from './context.ts';
import { activeKey } from './keys.ts';

/** Default validity of a revocation update: a week to carry it to the site and install it. */
export const DEFAULT_REVOCATIONS_TTL_S = 7 * 86400;

/** The `revoked` claim for a list of revocations: every one in force, grouped by kind. */
export function revokedClaim(revocations: { kind: string; target: string }[]): LicenseClaims['revoked'] {
  const revoked: LicenseClaims['revoked'] = {};
  for (const kind of ['charter', 'app', 'instance'] as const) {
    const list = revocations.filter((r) => r.kind === kind).map((r) => r.target);
    if (list.length > 0) revoked[`${kind}s`] = list;
  }
  return revoked;
}

function revocationCounts(r: LicenseClaims['revoked']): {
  charters: number;
  apps: number;
  instances: number;
} {
  return {
    charters: r.charters?.length ?? 0,
    apps: r.apps?.length ?? 0,
    instances: r.instances?.length ?? 0,
  };
}

/** Record a revocation; it appears in every license issued from now on, for every site. */
export function revoke(
  ctx: VendorContext,
  input: { kind: 'charter' | 'app' | 'instance'; target: string; reason: string },
): { revocation_id: string; kind: string; target: string } {
  vendorIdOf(ctx);
  const reason = input.reason.trim();
  if (!reason) invalid('ERR_REASON', 'a revocation needs a --reason');
  reqId(input.target, input.kind);
  if (input.kind === 'charter' && !charterExists(ctx.db, input.target))
    throw new CharterError('not_found', 'ERR_UNKNOWN_CHARTER', `there is no charter ${input.target}`);
  if (input.kind === 'app' && !appExists(ctx.db, input.target))
    throw new CharterError('not_found', 'ERR_UNKNOWN_APP', `there is no app ${input.target}`);
  if (store.isRevoked(ctx.db, input.kind, input.target))
    throw new CharterError('conflict', 'ERR_REVOKED', `${input.kind} ${input.target} is already revoked`);
  const id = newId('rev');
  ctx.db.transaction(() => {
    store.insertRevocation(ctx.db, {
      id,
      kind: input.kind,
      target: input.target,
      reason,
      revokedBy: ctx.actor.name,
      revokedAt: now(),
    });
    record(ctx, 'revoke', input.target, { kind: input.kind, reason, revocation_id: id });
  })();
  return { revocation_id: id, kind: input.kind, target: input.target };
}

/** All revocations, oldest first. */
export function listRevocations(ctx: VendorContext): store.RevocationRow[] {
  vendorIdOf(ctx);
  return store.revocationRows(ctx.db);
}

/** A revocation update as issued. */
export interface RevocationUpdate {
  revocations_id: string;
  site_id: string;
  serial: number;
  license_serial: number;
  exp: number;
  revoked: LicenseClaims['revoked'];
  token: string;
}

/**
 * Issue a revocation update for a site (`charter-revocations+jwt`): the full current revocation set,
 * the next serial of the site's sequence, on top of its latest license, valid `ttlS` (default 7 days,
 * at most 30) for installation. Nothing of the license's terms changes.
 */
export async function issueRevocations(
  ctx: VendorContext,
  input: { siteId: string; ttlS?: number },
): Promise<RevocationUpdate> {
  const vendorId = vendorIdOf(ctx);
  const site = siteById(ctx.db, reqId(input.siteId, 'site'));
  if (!site) throw new CharterError('not_found', 'ERR_UNKNOWN_SITE', `there is no site ${input.siteId}`);
  const ttlS = input.ttlS ?? DEFAULT_REVOCATIONS_TTL_S;
  if (!Number.isSafeInteger(ttlS) || ttlS < 60 || ttlS > MAX_REVOCATIONS_TTL_S)
    invalid('ERR_TTL', 'a revocation update is valid from 1 minute to 30 days (--ttl)');
  const revoked = revokedClaim(listRevocations(ctx));
  const t = now();
  const key = activeKey(ctx, 'license');
  const exp = t + ttlS;
  if (exp > key.exp)
    throw new CharterError(
      'key_unavailable',
      'ERR_KEY_TOO_SHORT',
      'the revocation update would outlive its signing key: choose a shorter --ttl or run `charter vendor keys rotate`',
    );
  const keys = validDelegations(ctx.db, t, 'license');
  // Signing is async, so the serial is claimed by the insert (see issueLicense): a race is a retry.
  for (let attempt = 0; ; attempt++) {
    const latest = latestLicenseClaims(ctx.db, site.id);
    if (!latest)
      throw new CharterError(
        'conflict',
        'ERR_NO_LICENSE',
        `site ${site.id} has no license yet: issue its first license (a first license carries every revocation)`,
      );
    const serial = nextSerial(ctx.db, site.id);
    const claims: RevocationsClaims = {
      iss: vendorId,
      sub: site.id,
      jti: newId('rvu'),
      serial,
      license_serial: latest.serial,
      iat: t,
      nbf: t,
      exp,
      revoked,
      keys,
    };
    const token = await signRevocations(claims, key);
    try {
      ctx.db.transaction(() => {
        if (nextSerial(ctx.db, site.id) !== serial) throw new Error('UNIQUE: serial taken meanwhile');
        insertRevocationUpdate(ctx.db, {
          id: claims.jti,
          siteId: site.id,
          serial,
          licenseSerial: latest.serial,
          iat: t,
          exp,
          revoked: JSON.stringify(revoked),
          token,
          issuedBy: ctx.actor.name,
        });
        record(ctx, 'revocations.issue', claims.jti, {
          site_id: site.id,
          serial,
          license_serial: latest.serial,
          exp,
          revoked: revocationCounts(revoked),
        });
      })();
      return {
        revocations_id: claims.jti,
        site_id: site.id,
        serial,
        license_serial: latest.serial,
        exp,
        revoked,
        token,
      };
    } catch (e) {
      if (attempt < 3 && e instanceof Error && /UNIQUE/.test(e.message)) continue;
      throw e;
    }
  }
}

/** A revocation update as issued (the compact JWS), or not_found. */
export function revocationsToken(
  ctx: VendorContext,
  id: string,
): { revocations_id: string; site_id: string; serial: number; token: string } {
  vendorIdOf(ctx);
  const row = revocationUpdateById(ctx.db, reqId(id, 'revocation update'));
  if (!row)
    throw new CharterError('not_found', 'ERR_UNKNOWN_REVOCATIONS', `there is no revocation update ${id}`);
  return { revocations_id: row.id, site_id: row.site_id, serial: row.serial, token: row.token };
}

/** Where one site stands with revocations. */
export interface RevocationStanding {
  site_id: string;
  name: string;
  latest_license_serial: number | null;
  behind: boolean;
  missing: number;
  update: { revocations_id: string; serial: number; exp: number; iat: number } | null;
  reported_serial: number | null;
  installed: boolean | null;
}

/**
 * Where each site stands with revocations: whether the latest artifact issued to it (license or
 * revocation update) carries every revocation in force (`behind` when not), its latest revocation
 * update, and — from the usage reports the site sent — whether that update was installed there
 * (a report with `revocations_serial`, or a `license_serial`, at or above it).
 */
export function revocationStatus(ctx: VendorContext): RevocationStanding[] {
  vendorIdOf(ctx);
  const inForce = listRevocations(ctx);
  return siteList(ctx.db).map((site) => {
    const license = latestLicenseRow(ctx.db, site.id);
    const update = latestRevocationUpdate(ctx.db, site.id);
    const newest =
      update && (!license || update.serial > license.serial)
        ? (JSON.parse(update.revoked) as LicenseClaims['revoked'])
        : license
          ? (decodeJsonSegment(license.token.split('.')[1] ?? '')?.revoked as LicenseClaims['revoked'])
          : undefined;
    const missing = newest
      ? inForce.filter((r) => !(newest[`${r.kind}s` as 'apps'] ?? []).includes(r.target)).length
      : 0;
    let reported: number | null = null;
    for (const token of reportTokensOfSite(ctx.db, site.id)) {
      const c = decodeJsonSegment(token.split('.')[1] ?? '');
      for (const v of [c?.license_serial, c?.revocations_serial])
        if (typeof v === 'number' && (reported === null || v > reported)) reported = v;
    }
    return {
      site_id: site.id,
      name: site.name,
      latest_license_serial: license?.serial ?? null,
      behind: license !== undefined && missing > 0,
      missing,
      update: update
        ? { revocations_id: update.id, serial: update.serial, exp: update.exp, iat: update.iat }
        : null,
      reported_serial: reported,
      installed: update ? reported !== null && reported >= update.serial : null,
    };
  });
}

/** Issue a revocation update to every site whose latest license or update lacks a revocation in force. */
export async function issueRevocationsToBehind(
  ctx: VendorContext,
  ttlS?: number,
): Promise<RevocationUpdate[]> {
  const out = [];
  for (const s of revocationStatus(ctx))
    if (s.behind) out.push(await issueRevocations(ctx, { siteId: s.site_id, ...(ttlS ? { ttlS } : {}) }));
  return out;
}
