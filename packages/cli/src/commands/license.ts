/** `charter license inspect FILE`: what a license admits, and whether it verifies against a trust file. */
import { existsSync, readFileSync } from 'node:fs';
import { ANDROID_REVOCATION_SNAPSHOT_DATE, revocationSnapshotAgeDays } from '@charter/attest';
import {
  ARTIFACT_TYP,
  artifactTypOf,
  CharterError,
  checkLicenseClaims,
  checkRevocationsClaims,
  decodeJsonSegment,
  KeyRing,
  type LicenseClaims,
  parseTrustFile,
  type RevocationsClaims,
  verifyLicense,
  verifyRevocations,
} from '@charter/core';
import type { Output } from '../command.ts';
import { type CommandSpec, optionalFlag } from '../command.ts';
import { iso, table } from '../context.ts';

export const licenseInspect: CommandSpec = {
  path: ['license', 'inspect'],
  summary: 'show what a license (or revocation update) says, its serial and expiry, and whether it verifies',
  positionals: [{ name: 'FILE', required: true, description: 'the .license file, or a revocation update' }],
  flags: {
    trust: { type: 'string', description: 'the vendor trust file to verify against', value: 'trust.json' },
  },
  async run({ flags, positionals }) {
    const file = positionals[0] as string;
    if (!existsSync(file)) throw new CharterError('not_found', 'ERR_FILE', `no such file: ${file}`);
    const token = readFileSync(file, 'utf8').trim();
    const claims = decodeJsonSegment(token.split('.')[1] ?? '') as Partial<LicenseClaims> | undefined;
    if (!claims || token.split('.').length !== 3)
      throw new CharterError(
        'license_invalid',
        'ERR_FORMAT',
        'the file does not hold a license (a compact JWS)',
      );
    const trustFile = optionalFlag(flags, 'trust');
    const isUpdate = artifactTypOf(token) === ARTIFACT_TYP.revocations;
    // Unverified or not, what is shown must be a license's (or an update's) claims: the same shape
    // check as verification's, so a file of other claims is refused, never printed as `undefined`.
    if (isUpdate) checkRevocationsClaims(claims as Record<string, unknown>);
    else checkLicenseClaims(claims as Record<string, unknown>);
    if (isUpdate) return inspectRevocations(token, claims as Partial<RevocationsClaims>, trustFile);
    let verified: boolean | null = null;
    let verifyError: { code: string; reason: string } | undefined;
    if (trustFile) {
      try {
        await verifyLicense(token, new KeyRing(await parseTrustFile(readFileSync(trustFile, 'utf8'))));
        verified = true;
      } catch (e) {
        if (!(e instanceof CharterError)) throw e;
        verified = false;
        verifyError = { code: e.code, reason: e.message };
      }
    }
    const apps = Array.isArray(claims.apps) ? claims.apps : [];
    const snapshotAge = revocationSnapshotAgeDays();
    const androidRevoked = Array.isArray(claims.attestation?.android_revoked)
      ? claims.attestation.android_revoked.length
      : 0;
    const json = {
      license_id: claims.jti,
      vendor_id: claims.iss,
      site: claims.site,
      serial: claims.serial,
      iat: claims.iat,
      exp: claims.exp,
      mode: claims.policy?.mode,
      policy: claims.policy,
      installation: claims.installation ?? null,
      apps,
      revoked: claims.revoked,
      attestation: claims.attestation ?? null,
      // What a gateway checks Android chains against besides the license's own additions, and how old
      // it is: Google's revocations since that date apply only if the license brings them.
      bundled_revocation_snapshot: ANDROID_REVOCATION_SNAPSHOT_DATE,
      bundled_revocation_snapshot_age_days: snapshotAge,
      android_revoked_serials: androidRevoked,
      verified,
      ...(verifyError ? { error: verifyError.code, reason: verifyError.reason } : {}),
    };
    const lines = [
      `License ${claims.jti} from ${claims.iss} for site ${claims.site?.name ?? '?'} (${claims.sub})`,
      `Serial ${claims.serial}, issued ${iso(claims.iat)}, expires ${iso(claims.exp)}, mode ${claims.policy?.mode}`,
      claims.installation
        ? `Bound to installation ${claims.installation.jkt}`
        : 'Not bound to an installation',
      'Admits:',
      table(
        apps.map((a) => [
          `  ${a.app_id}`,
          a.scopes ? a.scopes.join(' ') : '(charter scopes)',
          a.rate ? JSON.stringify(a.rate) : '',
          a.web_origins ? `web: ${a.web_origins.join(' ')}` : '',
        ]),
      ),
      'CORS: browsers may call this site’s gateway from the web origins listed above (gateway start --cors-origin narrows).',
      `Attestation: ${claims.attestation ? JSON.stringify({ ...claims.attestation, roots: claims.attestation.roots?.length, android_revoked: claims.attestation.android_revoked?.length }) : 'bundled roots and policy'}`,
      `Android revocation: bundled snapshot of ${ANDROID_REVOCATION_SNAPSHOT_DATE}, ${snapshotAge} days old; ` +
        `the license adds ${androidRevoked} serial(s)` +
        (androidRevoked === 0 ? ' (certificates Google revoked since the snapshot are not refused)' : ''),
      `Revoked: ${claims.revoked?.charters?.length ?? 0} charters, ${claims.revoked?.apps?.length ?? 0} apps, ${claims.revoked?.instances?.length ?? 0} instances`,
      verified === null
        ? 'Signature: not checked (pass --trust trust.json)'
        : verified
          ? 'Signature: verifies against the trust file'
          : `Signature: REFUSED (${verifyError?.code}: ${verifyError?.reason})`,
    ];
    return { json, text: lines.join('\n'), exitCode: verified === false ? 1 : 0 };
  },
};

/** A revocation update: its site, serials, validity and what it revokes. */
async function inspectRevocations(
  token: string,
  claims: Partial<RevocationsClaims>,
  trustFile: string | undefined,
): Promise<Output> {
  let verified: boolean | null = null;
  let verifyError: { code: string; reason: string } | undefined;
  if (trustFile) {
    try {
      await verifyRevocations(token, new KeyRing(await parseTrustFile(readFileSync(trustFile, 'utf8'))));
      verified = true;
    } catch (e) {
      if (!(e instanceof CharterError)) throw e;
      verified = false;
      verifyError = { code: e.code, reason: e.message };
    }
  }
  const r = claims.revoked;
  const json = {
    kind: 'revocations',
    revocations_id: claims.jti,
    vendor_id: claims.iss,
    site_id: claims.sub,
    serial: claims.serial,
    license_serial: claims.license_serial,
    iat: claims.iat,
    exp: claims.exp,
    revoked: r,
    verified,
    ...(verifyError ? { error: verifyError.code, reason: verifyError.reason } : {}),
  };
  const lines = [
    `Revocation update ${claims.jti} from ${claims.iss} for site ${claims.sub}`,
    `Serial ${claims.serial}, on top of license ${claims.license_serial}; issued ${iso(claims.iat)}, installable until ${iso(claims.exp)}`,
    `Revokes: ${r?.charters?.length ?? 0} charters, ${r?.apps?.length ?? 0} apps, ${r?.instances?.length ?? 0} instances`,
    ...(r?.apps?.length ? [`  apps: ${r.apps.join(', ')}`] : []),
    verified === null
      ? 'Signature: not checked (pass --trust trust.json)'
      : verified
        ? 'Signature: verifies against the trust file'
        : `Signature: REFUSED (${verifyError?.code}: ${verifyError?.reason})`,
  ];
  return { json, text: lines.join('\n'), exitCode: verified === false ? 1 : 0 };
}
