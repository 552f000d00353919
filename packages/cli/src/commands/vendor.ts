/** `charter vendor …`: the vendor's side of the main flow (SPEC.md §4). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CharterError, type KeyUse, type LicenseClaims, parseDuration, type SealedKey } from '@charter/core';
import { type CommandSpec, type Flags, listFlag, optionalFlag, requireFlag, UsageError } from '../command.ts';
import { attesterRecordsOf, iso, openVendor, passphraseOf, table } from '../context.ts';

function ttlFlag(flags: Flags, name: string, fallback?: string): number {
  const text = optionalFlag(flags, name) ?? fallback;
  if (text === undefined) throw new UsageError(`--${name} is required`);
  const s = parseDuration(text);
  if (s === undefined)
    throw new UsageError(
      `--${name} ${JSON.stringify(text)} is not a duration like 90s, 15m, 12h, 180d, 2w or 1y`,
    );
  return s;
}

function intFlag(flags: Flags, name: string, min: number, max: number): number | undefined {
  const text = optionalFlag(flags, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** The license's attestation claim from the `license issue` flags (SPEC §2.2). */
function attestationPolicy(flags: Flags): LicenseClaims['attestation'] {
  const policy: NonNullable<LicenseClaims['attestation']> = {};
  const roots = listFlag(flags, 'attestation-root').map((f) => readFileSync(f, 'utf8').trim());
  for (const pem of roots) {
    if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/.test(pem))
      throw new UsageError('--attestation-root takes a PEM certificate file');
  }
  if (roots.length > 0) policy.roots = roots;
  const revoked = listFlag(flags, 'android-revoked').map((s) => s.toLowerCase().replace(/^0+(?=.)/, ''));
  for (const s of revoked)
    if (!/^[0-9a-f]{1,64}$/.test(s)) throw new UsageError('--android-revoked takes a hex serial number');
  if (revoked.length > 0) policy.android_revoked = revoked;
  if (flags['require-verified-boot'] === true) policy.require_verified_boot = true;
  const level = optionalFlag(flags, 'min-security-level');
  if (level !== undefined) {
    if (level !== 'TRUSTED_ENVIRONMENT' && level !== 'STRONG_BOX')
      throw new UsageError('--min-security-level is TRUSTED_ENVIRONMENT or STRONG_BOX');
    policy.min_security_level = level;
  }
  if (flags['allow-development-attestation'] === true) policy.allow_development = true;
  const source = optionalFlag(flags, 'attestation-source');
  if (source !== undefined) {
    if (source !== 'on_prem' && source !== 'attester' && source !== 'either')
      throw new UsageError('--attestation-source is on_prem, attester or either');
    policy.source = source;
  }
  const attesterUrl = optionalFlag(flags, 'attester-url');
  if (attesterUrl !== undefined) {
    if (!/^https?:\/\/[\x21-\x7e]{1,2000}$/.test(attesterUrl))
      throw new UsageError('--attester-url takes an http(s) URL');
    policy.attester_url = attesterUrl;
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}

function csv(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function writeArtifact(path: string, token: string, mode = 0o644): void {
  // A .charter or .license file holds the compact JWS and nothing else (SPEC §4).
  writeFileSync(path, token, { mode });
}

const out = { type: 'string', description: 'file to write', value: 'FILE' } as const;

export const vendorInit: CommandSpec = {
  path: ['vendor', 'init'],
  summary: 'create the vendor: a sealed root key and delegated charter and license keys',
  flags: {
    'vendor-id': {
      type: 'string',
      description: 'the vendor id that signs every artifact (iss)',
      value: 'ID',
    },
    name: { type: 'string', description: 'the vendor’s display name', value: 'NAME' },
    'key-ttl': {
      type: 'string',
      description: 'validity of the delegated signing keys (default 730d)',
      value: 'DURATION',
    },
  },
  help: 'The root key is encrypted with the passphrase from CHARTER_PASSPHRASE (or a prompt at a terminal).',
  async run({ flags, io }) {
    const vendorId = requireFlag(flags, 'vendor-id');
    const name = requireFlag(flags, 'name');
    const keyTtlS = ttlFlag(flags, 'key-ttl', '730d');
    const vendor = openVendor(flags, io);
    const passphrase = await passphraseOf(io, 'vendor init', true);
    const r = await vendor.init({ vendorId, name, passphrase, keyTtlS });
    return {
      json: r,
      text: `Vendor ${r.vendor_id} created.\nRoot key ${r.root_kid} (encrypted at rest).\nNext: charter vendor export-trust --out trust.json`,
    };
  },
};

export const vendorExportTrust: CommandSpec = {
  path: ['vendor', 'export-trust'],
  summary: 'write the root public keys (a JWK Set) that gateways trust',
  flags: { out },
  async run({ flags, io }) {
    const file = requireFlag(flags, 'out');
    const doc = openVendor(flags, io).trustDocument();
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    const root_kid = doc.keys[doc.keys.length - 1]?.kid as string;
    return {
      json: { root_kid, file },
      text: `Trust for ${doc.vendor_id} written to ${file} (root ${root_kid}).`,
    };
  },
};

export const vendorKeysRotate: CommandSpec = {
  path: ['vendor', 'keys', 'rotate'],
  summary: 'make new delegated signing keys; older ones keep verifying until they expire',
  flags: {
    use: {
      type: 'string',
      description: 'charter, license, attester, or both (charter and license, the default)',
      value: 'USE',
    },
    'key-ttl': { type: 'string', description: 'validity of the new keys (default 730d)', value: 'DURATION' },
  },
  async run({ flags, io }) {
    const use = optionalFlag(flags, 'use') ?? 'both';
    if (!['charter', 'license', 'attester', 'both'].includes(use))
      throw new UsageError('--use is charter, license, attester or both');
    const uses: KeyUse[] = use === 'both' ? ['charter', 'license'] : [use as KeyUse];
    const vendor = openVendor(flags, io);
    vendor.vendorId();
    const passphrase = await passphraseOf(io, 'keys rotate');
    const r = await vendor.rotateKeys({ uses, passphrase, keyTtlS: ttlFlag(flags, 'key-ttl', '730d') });
    return {
      json: r,
      text: r.keys.map((k) => `New ${k.use} key ${k.kid}, valid until ${iso(k.exp)}`).join('\n'),
    };
  },
};

export const vendorKeysList: CommandSpec = {
  path: ['vendor', 'keys', 'list'],
  summary: 'list the delegated signing keys',
  flags: {},
  async run({ flags, io }) {
    const keys = openVendor(flags, io).listKeys();
    return {
      json: { keys },
      text: table([
        ['KID', 'USE', 'VALID UNTIL', 'ACTIVE'],
        ...keys.map((k) => [k.kid, k.use, iso(k.exp), k.active ? 'yes' : 'no']),
      ]),
    };
  },
};

export const vendorKeysExportRoot: CommandSpec = {
  path: ['vendor', 'keys', 'export-root'],
  summary: 'write the encrypted root key for offline storage, optionally removing it from this home',
  flags: {
    out,
    remove: { type: 'boolean', description: 'delete the root key from this home after writing it' },
  },
  help: 'After --remove, approvals and licenses still work with the delegated keys; rotating keys needs `vendor keys import-root`.',
  async run({ flags, io }) {
    const file = requireFlag(flags, 'out');
    const vendor = openVendor(flags, io);
    const remove = flags.remove === true;
    // Write the file before the key leaves the database, so a failed write never loses the key.
    const { sealed } = vendor.exportRoot({ remove: false });
    writeFileSync(file, `${JSON.stringify(sealed, null, 2)}\n`, { mode: 0o600 });
    if (remove) vendor.exportRoot({ remove: true });
    return {
      json: { root_kid: sealed.kid, file, removed: remove },
      text: `Encrypted root key ${sealed.kid} written to ${file}.${remove ? ' It is no longer in this home.' : ''}`,
    };
  },
};

export const vendorKeysImportRoot: CommandSpec = {
  path: ['vendor', 'keys', 'import-root'],
  summary: 'bring an exported root key back into this home',
  positionals: [{ name: 'FILE', required: true, description: 'the file written by export-root' }],
  flags: {},
  async run({ flags, positionals, io }) {
    let sealed: SealedKey;
    try {
      sealed = JSON.parse(readFileSync(positionals[0] as string, 'utf8')) as SealedKey;
    } catch {
      throw new CharterError('conflict', 'ERR_ROOT_FILE', 'the file is not an exported root key');
    }
    const r = openVendor(flags, io).importRoot(sealed);
    return { json: r, text: `Root key ${r.root_kid} is back in this home.` };
  },
};

export const publisherAdd: CommandSpec = {
  path: ['vendor', 'publisher', 'add'],
  summary: 'add a publisher (the vendor itself or a third party)',
  flags: { name: { type: 'string', description: 'the publisher’s name', value: 'NAME' } },
  async run({ flags, io }) {
    const r = openVendor(flags, io).addPublisher({ name: requireFlag(flags, 'name') });
    return { json: r, text: `Publisher ${r.publisher_id} added.` };
  },
};

export const publisherList: CommandSpec = {
  path: ['vendor', 'publisher', 'list'],
  summary: 'list publishers',
  flags: {},
  async run({ flags, io }) {
    const publishers = openVendor(flags, io).listPublishers();
    return {
      json: { publishers },
      text: table([['ID', 'NAME', 'ADDED'], ...publishers.map((p) => [p.id, p.name, iso(p.created_at)])]),
    };
  },
};

export const appSubmit: CommandSpec = {
  path: ['vendor', 'app', 'submit'],
  summary: 'submit an app (or a new version of one) for review',
  flags: {
    publisher: { type: 'string', description: 'publisher id', value: 'ID' },
    name: { type: 'string', description: 'the app’s name as users see it', value: 'NAME' },
    scopes: { type: 'string', description: 'comma-separated scopes the app asks for', value: 'A,B' },
    app: { type: 'string', description: 'resubmit: the existing app id', value: 'APP_ID' },
    version: { type: 'string', description: 'software version (default 1)', value: 'V' },
    notes: { type: 'string', description: 'notes for the reviewer', value: 'TEXT' },
    'web-origin': {
      type: 'string',
      multiple: true,
      description: 'a web origin the app runs at (repeatable)',
      value: 'URL',
    },
    'android-package': { type: 'string', description: 'Android package name', value: 'ID' },
    'android-cert-sha256': {
      type: 'string',
      multiple: true,
      description: 'SHA-256 of an Android signing certificate (repeatable)',
      value: 'HEX',
    },
    'ios-team-id': { type: 'string', description: 'Apple team id', value: 'T' },
    'ios-bundle-id': { type: 'string', description: 'iOS bundle id', value: 'B' },
    server: { type: 'boolean', description: 'the publisher’s backend calls the API' },
    attestation: {
      type: 'string',
      description: 'required (default) or optional, for android and ios',
      value: 'POLICY',
    },
  },
  async run({ flags, io }) {
    const attestation = optionalFlag(flags, 'attestation');
    if (attestation !== undefined && attestation !== 'required' && attestation !== 'optional') {
      throw new UsageError('--attestation is required or optional');
    }
    const r = openVendor(flags, io).submitApp({
      publisherId: requireFlag(flags, 'publisher'),
      name: requireFlag(flags, 'name'),
      scopes: csv(requireFlag(flags, 'scopes')),
      appId: optionalFlag(flags, 'app'),
      version: optionalFlag(flags, 'version'),
      notes: optionalFlag(flags, 'notes'),
      webOrigins: listFlag(flags, 'web-origin'),
      androidPackage: optionalFlag(flags, 'android-package'),
      androidCertSha256: listFlag(flags, 'android-cert-sha256'),
      iosTeamId: optionalFlag(flags, 'ios-team-id'),
      iosBundleId: optionalFlag(flags, 'ios-bundle-id'),
      server: flags.server === true,
      attestation,
    });
    return { json: r, text: `Submission ${r.submission_id} for app ${r.app_id} is waiting for review.` };
  },
};

export const appApprove: CommandSpec = {
  path: ['vendor', 'app', 'approve'],
  summary: 'approve a submission and write its charter',
  positionals: [{ name: 'SUBMISSION_ID', required: true, description: 'the submission to approve' }],
  flags: { ttl: { type: 'string', description: 'charter validity, e.g. 180d', value: 'DURATION' }, out },
  async run({ flags, positionals, io }) {
    const ttlS = ttlFlag(flags, 'ttl');
    const file = requireFlag(flags, 'out');
    const r = await openVendor(flags, io).approve({ submissionId: positionals[0] as string, ttlS });
    writeArtifact(file, r.charter);
    return {
      json: { charter_id: r.charter_id, app_id: r.app_id, exp: r.exp, file },
      text: `Approved. Charter ${r.charter_id} for app ${r.app_id}, valid until ${iso(r.exp)}, written to ${file}.`,
    };
  },
};

export const appReject: CommandSpec = {
  path: ['vendor', 'app', 'reject'],
  summary: 'reject a submission, with a reason for the publisher',
  positionals: [{ name: 'SUBMISSION_ID', required: true, description: 'the submission to reject' }],
  flags: { reason: { type: 'string', description: 'why', value: 'TEXT' } },
  async run({ flags, positionals, io }) {
    const r = openVendor(flags, io).reject({
      submissionId: positionals[0] as string,
      reason: requireFlag(flags, 'reason'),
    });
    return { json: r, text: `Submission ${r.submission_id} rejected.` };
  },
};

export const appList: CommandSpec = {
  path: ['vendor', 'app', 'list'],
  summary: 'list apps with their review status and latest charter',
  flags: {},
  async run({ flags, io }) {
    const apps = openVendor(flags, io).listApps();
    return {
      json: { apps },
      text: table([
        ['APP', 'NAME', 'PUBLISHER', 'STATUS', 'CHARTER', 'EXPIRES'],
        ...apps.map((a) => [
          a.app_id,
          a.name,
          a.publisher,
          a.revoked ? 'revoked' : a.status,
          a.charter_id,
          iso(a.charter_exp),
        ]),
      ]),
    };
  },
};

export const appShow: CommandSpec = {
  path: ['vendor', 'app', 'submissions'],
  summary: 'list submissions (optionally only pending, approved or rejected)',
  flags: { status: { type: 'string', description: 'pending, approved or rejected', value: 'STATUS' } },
  async run({ flags, io }) {
    const status = optionalFlag(flags, 'status');
    if (status && !['pending', 'approved', 'rejected'].includes(status))
      throw new UsageError('--status is pending, approved or rejected');
    const submissions = openVendor(flags, io).listSubmissions(status);
    return {
      json: { submissions },
      text: table([
        ['SUBMISSION', 'APP', 'NAME', 'VERSION', 'STATUS', 'BY', 'DECIDED BY', 'REASON'],
        ...submissions.map((s) => [
          s.id,
          s.app_id,
          s.name,
          s.version,
          s.status,
          s.submitted_by,
          s.decided_by,
          s.reason,
        ]),
      ]),
    };
  },
};

export const vendorRevoke: CommandSpec = {
  path: ['vendor', 'revoke'],
  summary: 'revoke a charter, an app or an instance in every license issued from now on',
  flags: {
    charter: { type: 'string', description: 'charter id', value: 'ID' },
    app: { type: 'string', description: 'app id', value: 'ID' },
    instance: { type: 'string', description: 'instance id', value: 'ID' },
    reason: { type: 'string', description: 'why', value: 'TEXT' },
  },
  async run({ flags, io }) {
    const given = (['charter', 'app', 'instance'] as const).filter((k) => typeof flags[k] === 'string');
    if (given.length !== 1) throw new UsageError('name exactly one of --charter, --app or --instance');
    const kind = given[0] as 'charter' | 'app' | 'instance';
    const vendor = openVendor(flags, io);
    const r = vendor.revoke({
      kind,
      target: flags[kind] as string,
      reason: requireFlag(flags, 'reason'),
    });
    // Every site with a license is behind now: say, per site, exactly what carries the revocation there.
    const sites = vendor.revocationStatus().filter((s) => s.behind);
    const home = homeArg(flags);
    const steps = sites.map(
      (s) =>
        `  charter vendor revocations issue${home} --site ${s.site_id} --out ${s.site_id}.revocations   # ${s.name}: at once\n` +
        `  charter vendor license issue${home} --site ${s.site_id} --out ${s.site_id}.license           # or renew: same apps minus revoked ones`,
    );
    const text =
      `Revoked ${r.kind} ${r.target}.` +
      (sites.length === 0
        ? ' No site has a license yet; every license issued from now on carries it.'
        : ` It reaches a site when the site installs a revocation update or a renewed license. Run, for each of the ${sites.length} site(s):\n${steps.join('\n')}\n` +
          'then at the site: charter gateway license install --home G FILE (running gateways apply it within a second).');
    return {
      json: { ...r, sites: sites.map((s) => s.site_id) },
      text,
    };
  },
};

export const siteAdd: CommandSpec = {
  path: ['vendor', 'site', 'add'],
  summary: 'add a customer site',
  flags: { name: { type: 'string', description: 'the site’s name', value: 'NAME' } },
  async run({ flags, io }) {
    const r = openVendor(flags, io).addSite({ name: requireFlag(flags, 'name') });
    return { json: r, text: `Site ${r.site_id} added.` };
  },
};

export const siteList: CommandSpec = {
  path: ['vendor', 'site', 'list'],
  summary: 'list sites with their latest license',
  flags: {},
  async run({ flags, io }) {
    const sites = openVendor(flags, io).listSites();
    return {
      json: { sites },
      text: table([
        ['SITE', 'NAME', 'LICENSES', 'SERIAL', 'EXPIRES'],
        ...sites.map((s) => [s.site_id, s.name, s.licenses, s.latest_serial, iso(s.latest_exp)]),
      ]),
    };
  },
};

export const licenseIssue: CommandSpec = {
  path: ['vendor', 'license', 'issue'],
  summary: 'issue the next license of a site',
  flags: {
    site: { type: 'string', description: 'site id', value: 'ID' },
    apps: {
      type: 'string',
      description: 'comma-separated app ids to admit; leave out to renew the latest license',
      value: 'A1,A2',
    },
    ttl: {
      type: 'string',
      description: 'license validity, e.g. 365d (a renewal keeps the latest one’s by default)',
      value: 'DURATION',
    },
    mode: {
      type: 'string',
      description: 'enforce (default; a renewal keeps its mode) or monitor',
      value: 'MODE',
    },
    'token-ttl': {
      type: 'string',
      description: 'access token lifetime at the site (default 300s)',
      value: 'DURATION',
    },
    'proof-skew': { type: 'string', description: 'DPoP proof iat window (default 60s)', value: 'DURATION' },
    'attestation-root': {
      type: 'string',
      multiple: true,
      description: 'PEM file of an extra attestation root the site trusts (repeatable)',
      value: 'FILE',
    },
    'android-revoked': {
      type: 'string',
      multiple: true,
      description: 'a revoked Android attestation certificate serial, hex (repeatable)',
      value: 'HEX',
    },
    'require-verified-boot': {
      type: 'boolean',
      description: 'Android: require verified boot and a locked bootloader',
    },
    'min-security-level': {
      type: 'string',
      description: 'Android: TRUSTED_ENVIRONMENT or STRONG_BOX',
      value: 'LEVEL',
    },
    'allow-development-attestation': {
      type: 'boolean',
      description: 'iOS: accept App Attest development keys',
    },
    'attestation-source': {
      type: 'string',
      description:
        'who attests instances at registration: on_prem (the gateway, default), attester (the vendor attester) or either',
      value: 'SOURCE',
    },
    'attester-url': {
      type: 'string',
      description: 'where devices reach the vendor attester (carried in the license for SDKs)',
      value: 'URL',
    },
    'clock-tolerance': {
      type: 'string',
      description: 'how far the site clock may fall behind its time high-water mark (default 1h)',
      value: 'DURATION',
    },
    'on-clock-rollback': {
      type: 'string',
      description: 'refuse (license_invalid) or warn (default) when it falls further',
      value: 'POLICY',
    },
    grace: {
      type: 'string',
      description: 'the site keeps working this long after expiry (default 0)',
      value: 'DURATION',
    },
    'rate-per-instance': { type: 'string', description: 'requests per minute per instance', value: 'N' },
    'rate-per-app': { type: 'string', description: 'requests per minute per app', value: 'N' },
    'register-rate-per-charter': {
      type: 'string',
      description: 'registrations per minute per charter (default 60)',
      value: 'N',
    },
    'register-rate-per-address': {
      type: 'string',
      description: 'registrations per minute per source address (default 20)',
      value: 'N',
    },
    activation: {
      type: 'string',
      description: 'bind to the installation of this activation request',
      value: 'FILE',
    },
    report: {
      type: 'string',
      multiple: true,
      description: 'a usage report from the site (repeatable)',
      value: 'FILE',
    },
    'require-unbroken-chain': {
      type: 'boolean',
      description: 'refuse unless the reports form an unbroken chain',
    },
    out,
  },
  help:
    'Without --apps, renews the site’s latest license: the same apps minus revoked ones (possibly none:\n' +
    'the gateway then refuses every app with app_not_admitted), the same policy, attestation and binding\n' +
    '(flags given override them), a higher serial and every revocation in force.',
  async run({ flags, io }) {
    const mode = optionalFlag(flags, 'mode');
    if (mode !== undefined && mode !== 'enforce' && mode !== 'monitor')
      throw new UsageError('--mode is enforce or monitor');
    const appsFlag = optionalFlag(flags, 'apps');
    const appIds = appsFlag === undefined ? undefined : csv(appsFlag);
    if (appIds !== undefined && appIds.length === 0)
      throw new UsageError('--apps takes app ids (A1,A2); leave it out to renew the latest license');
    const file = requireFlag(flags, 'out');
    const activationFile = optionalFlag(flags, 'activation');
    const reportFiles = listFlag(flags, 'report');
    const tokenTtl = optionalFlag(flags, 'token-ttl') ? ttlFlag(flags, 'token-ttl') : undefined;
    const proofSkew = optionalFlag(flags, 'proof-skew') ? ttlFlag(flags, 'proof-skew') : undefined;
    if (tokenTtl !== undefined && (tokenTtl < 10 || tokenTtl > 86400))
      throw new UsageError('--token-ttl must be from 10s to 1d');
    if (proofSkew !== undefined && proofSkew > 600) throw new UsageError('--proof-skew must be at most 600s');
    const clockTolerance = optionalFlag(flags, 'clock-tolerance')
      ? ttlFlag(flags, 'clock-tolerance')
      : undefined;
    if (clockTolerance !== undefined && (clockTolerance < 60 || clockTolerance > 30 * 86400))
      throw new UsageError('--clock-tolerance must be from 60s to 30d');
    const onRollback = optionalFlag(flags, 'on-clock-rollback');
    if (onRollback !== undefined && onRollback !== 'refuse' && onRollback !== 'warn')
      throw new UsageError('--on-clock-rollback is refuse or warn');
    const grace = optionalFlag(flags, 'grace') ? ttlFlag(flags, 'grace') : undefined;
    if (grace !== undefined && grace > 90 * 86400) throw new UsageError('--grace must be at most 90d');
    const r = await openVendor(flags, io).issueLicense({
      siteId: requireFlag(flags, 'site'),
      appIds,
      ttlS:
        appIds === undefined && optionalFlag(flags, 'ttl') === undefined ? undefined : ttlFlag(flags, 'ttl'),
      mode,
      tokenTtlS: tokenTtl,
      proofSkewS: proofSkew,
      ratePerInstancePerMin: intFlag(flags, 'rate-per-instance', 1, 1_000_000),
      ratePerAppPerMin: intFlag(flags, 'rate-per-app', 1, 100_000_000),
      registerPerCharterPerMin: intFlag(flags, 'register-rate-per-charter', 1, 1_000_000),
      registerPerAddressPerMin: intFlag(flags, 'register-rate-per-address', 1, 1_000_000),
      activation: activationFile === undefined ? undefined : readFileSync(activationFile, 'utf8').trim(),
      reports: reportFiles.map((f) => readFileSync(f, 'utf8')),
      requireUnbrokenChain: flags['require-unbroken-chain'] === true,
      attestation: attestationPolicy(flags),
      clockToleranceS: clockTolerance,
      onClockRollback: onRollback,
      graceS: grace,
    });
    writeArtifact(file, r.license);
    const renewed =
      r.renewed_from === null
        ? ''
        : ` Renewed from serial ${r.renewed_from}${r.dropped.length > 0 ? `, without revoked app(s) ${r.dropped.join(', ')}` : ''}.`;
    const none = r.apps.length === 0 ? ' It admits no apps: the site’s gateways will refuse every app.' : '';
    return {
      json: {
        license_id: r.license_id,
        serial: r.serial,
        exp: r.exp,
        file,
        apps: r.apps,
        renewed_from: r.renewed_from,
        dropped: r.dropped,
      },
      text: `License ${r.license_id} (serial ${r.serial}) valid until ${iso(r.exp)}, written to ${file}.${renewed}${none}`,
    };
  },
};

/** ` --home DIR` when the command was given one, for commands it prints for the user to run. */
function homeArg(flags: Flags): string {
  const home = optionalFlag(flags, 'home');
  return home ? ` --home ${/^[\w./~-]+$/.test(home) ? home : JSON.stringify(home)}` : '';
}

export const revocationsIssue: CommandSpec = {
  path: ['vendor', 'revocations', 'issue'],
  summary: 'issue a signed revocation update (charter-revocations+jwt) for a site, or every site behind',
  flags: {
    site: { type: 'string', description: 'site id', value: 'ID' },
    all: { type: 'boolean', description: 'every site whose latest license or update lacks a revocation' },
    ttl: {
      type: 'string',
      description: 'how long it may still be installed (default 7d, at most 30d)',
      value: 'DURATION',
    },
    out: {
      type: 'string',
      description: 'file to write (with --all: a folder, one SITE.revocations each)',
      value: 'FILE',
    },
  },
  help:
    'The full current revocation set, with the next serial of the site (shared with its licenses), on\n' +
    'top of its latest license; the license’s terms do not change. Install it at the site like a license:\n' +
    '`charter gateway license install --home G FILE`. Once installed it stays in force until a newer\n' +
    'license replaces it; a gateway refuses one that is older, for another site, or revokes less.',
  async run({ flags, io }) {
    const file = requireFlag(flags, 'out');
    const ttlS = optionalFlag(flags, 'ttl') ? ttlFlag(flags, 'ttl') : undefined;
    const vendor = openVendor(flags, io);
    const site = optionalFlag(flags, 'site');
    if ((site === undefined) === (flags.all !== true)) throw new UsageError('name --site ID or --all');
    const issued =
      site !== undefined
        ? [await vendor.issueRevocations({ siteId: site, ...(ttlS ? { ttlS } : {}) })]
        : await vendor.issueRevocationsToBehind(ttlS);
    const files: string[] = [];
    if (site !== undefined) {
      writeArtifact(file, (issued[0] as { token: string }).token);
      files.push(file);
    } else {
      mkdirSync(file, { recursive: true });
      for (const u of issued) {
        const f = join(file, `${u.site_id}.revocations`);
        writeArtifact(f, u.token);
        files.push(f);
      }
    }
    const rows = issued.map((u, i) => ({
      revocations_id: u.revocations_id,
      site_id: u.site_id,
      serial: u.serial,
      license_serial: u.license_serial,
      exp: u.exp,
      file: files[i],
    }));
    return {
      json: site !== undefined ? { ...rows[0] } : { updates: rows },
      text:
        rows.length === 0
          ? 'Every site’s latest license or update already carries every revocation; nothing issued.'
          : rows
              .map(
                (u) =>
                  `Revocation update ${u.revocations_id} for site ${u.site_id} (serial ${u.serial}, on license ${u.license_serial}), installable until ${iso(u.exp)}, written to ${u.file}.`,
              )
              .join('\n') + '\nAt the site: charter gateway license install --home G FILE',
    };
  },
};

export const revocationsStatus: CommandSpec = {
  path: ['vendor', 'revocations', 'status'],
  summary: 'which sites are behind on revocations, and which have installed their latest update',
  flags: {},
  async run({ flags, io }) {
    const sites = openVendor(flags, io).revocationStatus();
    return {
      json: { sites },
      text: table([
        ['SITE', 'NAME', 'LICENSE', 'BEHIND', 'UPDATE', 'INSTALLED (REPORTS)'],
        ...sites.map((s) => [
          s.site_id,
          s.name,
          s.latest_license_serial,
          s.behind ? `yes (${s.missing})` : 'no',
          s.update ? s.update.serial : '-',
          s.installed === null
            ? '-'
            : s.installed
              ? 'yes'
              : `not yet (reported ${s.reported_serial ?? 'nothing'})`,
        ]),
      ]),
    };
  },
};

export const licenseList: CommandSpec = {
  path: ['vendor', 'license', 'list'],
  summary: 'list licenses issued (optionally for one site)',
  flags: { site: { type: 'string', description: 'site id', value: 'ID' } },
  async run({ flags, io }) {
    const licenses = openVendor(flags, io).listLicenses(optionalFlag(flags, 'site'));
    return {
      json: { licenses },
      text: table([
        ['LICENSE', 'SITE', 'SERIAL', 'MODE', 'EXPIRES', 'APPS'],
        ...licenses.map((l) => [l.license_id, l.site_id, l.serial, l.mode, iso(l.exp), l.apps.join(',')]),
      ]),
    };
  },
};

export const vendorLog: CommandSpec = {
  path: ['vendor', 'log'],
  summary: 'show the record of every decision: who did what, when',
  flags: {},
  async run({ flags, io }) {
    const events = openVendor(flags, io).listEvents();
    return {
      json: { events },
      text: table([
        ['#', 'AT', 'ACTOR', 'ACTION', 'SUBJECT'],
        ...events.map((e) => [e.seq, iso(e.at), e.actor, e.action, e.subject]),
      ]),
    };
  },
};

export const reportVerify: CommandSpec = {
  path: ['vendor', 'report', 'verify'],
  summary: 'check usage reports: signatures, installation, gaps, forks, edits; print per-app usage',
  positionals: [{ name: 'FILE…', required: true, description: 'report files, in any order' }],
  variadic: true,
  flags: {
    'attester-db': {
      type: 'string',
      description:
        'the vendor attester’s records (sqlite:PATH or postgres://…; default HOME/attester.db when it exists): list admitted instances it never vouched for',
      value: 'URL',
    },
  },
  async run({ flags, positionals, io }) {
    const tokens = positionals.map((f) => readFileSync(f, 'utf8'));
    const records = attesterRecordsOf(flags, io);
    let v: Awaited<ReturnType<ReturnType<typeof openVendor>['verifyReports']>>;
    try {
      v = await openVendor(flags, io).verifyReports(tokens, records);
    } finally {
      await records?.close();
    }
    const lines = [
      v.ok
        ? `OK: ${v.reports.length} reports, unbroken.`
        : (v.unvouched ?? []).some((u) => u.source === 'attester')
          ? 'NOT OK: the site admitted instances the vendor attester never vouched for (see below).'
          : v.suspect_instances.length > 0 && v.gaps.length + v.forks.length + v.backwards.length === 0
            ? 'NOT OK: instances whose evidence does not hold up (rows written into the gateway store by hand?).'
            : 'NOT OK: the reports do not form one unbroken chain.',
      ...v.reports
        .filter((r) => r.status !== 'ok')
        .map((r) => `  ${positionals[r.file]}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`),
      ...v.gaps.map((g) => `  gap at site ${g.site}: missing report(s) ${g.missing.join(', ')}`),
      ...v.forks.map(
        (f) =>
          `  fork at site ${f.site}: ${f.hashes.length} reports share ${f.seq !== undefined ? `seq ${f.seq}` : 'one prev'}`,
      ),
      ...v.backwards.map((b) => `  at site ${b.site}, report ${b.seq}: ${b.what}`),
      ...v.reactivations.map(
        (r) => `  site ${r.site} was activated on ${r.installations.length} installations`,
      ),
      ...v.suspect_instances.map(
        (s) => `  suspect instance ${s.instance_id} (app ${s.app_id}) at site ${s.site}: ${s.problem}`,
      ),
      ...(v.unvouched ?? []).map(
        (u) =>
          `  never vouched for by the attester: instance ${u.instance_id} of ${u.app_id} at site ${u.site}${u.jkt ? ` (key ${u.jkt})` : ''}${u.source === 'either' ? ' (the site also accepts on-site attestation)' : ''}`,
      ),
      '',
      table([
        ['APP', 'ADMITTED', 'DENIED', 'INSTANCES', 'UNATTESTED'],
        ...Object.entries(v.apps).map(([app, u]) => [
          app,
          u.admitted,
          Object.values(u.denied).reduce((a, b) => a + b, 0),
          u.instances,
          u.unattested_instances,
        ]),
      ]),
    ];
    return { json: v as unknown as Record<string, unknown>, text: lines.join('\n'), exitCode: v.ok ? 0 : 1 };
  },
};

export const vendorTrace: CommandSpec = {
  path: ['vendor', 'trace'],
  summary: 'trace a charter, app or instance id to its publisher, approval and admitting sites',
  positionals: [{ name: 'ID', required: true, description: 'a charter id, app id or instance id' }],
  flags: {},
  async run({ flags, positionals, io }) {
    const t = openVendor(flags, io).trace(positionals[0] as string);
    const lines = [
      `${t.kind} ${t.id}`,
      `  app        ${t.app_id} (${t.app})`,
      `  publisher  ${t.publisher_id} (${t.publisher})`,
      `  submission ${t.submission_id ?? '-'} by ${t.submitted_by ?? '-'}, approved by ${t.approved_by ?? '-'}`,
      `  charters   ${t.charter_ids.join(', ') || '-'}`,
      `  sites      ${t.sites.map((s) => `${s.name} (${s.site_id}, serial ${s.serial})`).join('; ') || 'none admit it'}`,
      ...(t.revoked.length > 0
        ? [`  revoked    ${t.revoked.map((r) => `${r.kind} ${r.target}: ${r.reason}`).join('; ')}`]
        : []),
      ...(t.seen_at
        ? [`  seen at    ${t.seen_at.map((s) => `${s.site} (report ${s.report_seq})`).join('; ')}`]
        : []),
    ];
    return { json: t as unknown as Record<string, unknown>, text: lines.join('\n') };
  },
};

/** Every vendor command, in help order. */
export const vendorCommands: CommandSpec[] = [
  vendorInit,
  vendorExportTrust,
  vendorKeysRotate,
  vendorKeysList,
  vendorKeysExportRoot,
  vendorKeysImportRoot,
  publisherAdd,
  publisherList,
  appSubmit,
  appApprove,
  appReject,
  appList,
  appShow,
  vendorRevoke,
  siteAdd,
  siteList,
  licenseIssue,
  licenseList,
  revocationsIssue,
  revocationsStatus,
  reportVerify,
  vendorTrace,
  vendorLog,
];
