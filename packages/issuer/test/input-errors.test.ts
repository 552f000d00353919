/**
 * Bad input is `invalid_request`, whatever the vendor's records say; `conflict` is kept for refusals
 * that depend on those records (decided already, revoked already, no license to renew, a chain the
 * reports show broken). Each case here was reported as `conflict` before the issuer was split.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CharterError, installationJkt, signInstallationArtifact } from '@charter/core';
import { openVendorDb, Users, Vendor } from '@charter/issuer';

const now = () => Math.floor(Date.now() / 1000);

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'charter-input-errors-'));
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta' });
  const sub = vendor.submitApp({
    publisherId: publisher_id,
    name: 'Orders',
    scopes: ['orders:read'],
    server: true,
  });
  await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 });
  const pending = vendor.submitApp({
    publisherId: publisher_id,
    name: 'Billing',
    scopes: ['b:read'],
    server: true,
  });
  const { site_id } = vendor.addSite({ name: 'Hospital A' });
  return { dir, vendor, publisher_id, app_id: sub.app_id, pending: pending.submission_id, site_id };
}

/** Refused with exactly this code and detail: anything else, or acceptance, fails. */
async function refused(what: string, f: () => unknown, code: string, detail: string): Promise<void> {
  let accepted = false;
  try {
    await f();
    accepted = true;
  } catch (e) {
    assert.ok(e instanceof CharterError, `${what}: threw ${(e as Error)?.message}`);
    assert.deepEqual([e.code, e.detail], [code, detail], `${what}: ${e.message}`);
  }
  assert.equal(accepted, false, `${what}: accepted`);
}

test('malformed fields of a submission, publisher, site, rejection or revocation are invalid_request', async () => {
  const { vendor, publisher_id, app_id, pending } = await setup();
  const base = { publisherId: publisher_id, name: 'X', scopes: ['a:read'], server: true };
  const cases: [string, () => unknown, string][] = [
    ['empty app name', () => vendor.submitApp({ ...base, name: '  ' }), 'ERR_NAME'],
    ['no scopes', () => vendor.submitApp({ ...base, scopes: [] }), 'ERR_SCOPES'],
    ['bad scope', () => vendor.submitApp({ ...base, scopes: ['bad scope!'] }), 'ERR_SCOPES'],
    ['bad origin', () => vendor.submitApp({ ...base, webOrigins: ['ftp://x'] }), 'ERR_ORIGIN'],
    [
      'bad android package',
      () => vendor.submitApp({ ...base, androidPackage: 'no', androidCertSha256: ['ab'.repeat(32)] }),
      'ERR_ANDROID_PACKAGE',
    ],
    ['no android cert', () => vendor.submitApp({ ...base, androidPackage: 'com.b.c' }), 'ERR_ANDROID_CERT'],
    [
      'bad android cert',
      () => vendor.submitApp({ ...base, androidPackage: 'com.b.c', androidCertSha256: ['zz'] }),
      'ERR_ANDROID_CERT',
    ],
    [
      'bad team id',
      () => vendor.submitApp({ ...base, iosTeamId: 'x', iosBundleId: 'com.b.c' }),
      'ERR_IOS_TEAM',
    ],
    [
      'bad bundle id',
      () => vendor.submitApp({ ...base, iosTeamId: 'ABCDE12345', iosBundleId: '' }),
      'ERR_IOS_BUNDLE',
    ],
    ['no platform', () => vendor.submitApp({ ...base, server: false }), 'ERR_PLATFORMS'],
    ['version too long', () => vendor.submitApp({ ...base, version: 'v'.repeat(65) }), 'ERR_VERSION'],
    ['empty publisher name', () => vendor.addPublisher({ name: ' ' }), 'ERR_NAME'],
    ['empty site name', () => vendor.addSite({ name: '' }), 'ERR_NAME'],
    ['rejection without reason', () => vendor.reject({ submissionId: pending, reason: ' ' }), 'ERR_REASON'],
    [
      'revocation without reason',
      () => vendor.revoke({ kind: 'app', target: app_id, reason: '' }),
      'ERR_REASON',
    ],
  ];
  for (const [what, f, detail] of cases) await refused(what, f, 'invalid_request', detail);
});

test('a bad vendor id, license validity, app list or report requirement is invalid_request', async () => {
  const { dir, vendor, app_id, site_id } = await setup();
  const fresh = new Vendor(openVendorDb(join(dir, 'other.db')), { name: 'tester' });
  await refused(
    'vendor id with a space',
    () => fresh.init({ vendorId: 'a b', name: 'A', passphrase: 'a test passphrase' }),
    'invalid_request',
    'ERR_VENDOR_ID',
  );
  await refused(
    'explicit empty app list',
    () => vendor.issueLicense({ siteId: site_id, appIds: [], ttlS: 86400 }),
    'invalid_request',
    'ERR_APPS',
  );
  await refused(
    'no validity',
    () => vendor.issueLicense({ siteId: site_id, appIds: [app_id] }),
    'invalid_request',
    'ERR_TTL',
  );
  await refused(
    'unbroken chain required, no report given',
    () => vendor.issueLicense({ siteId: site_id, appIds: [app_id], ttlS: 86400, requireUnbrokenChain: true }),
    'invalid_request',
    'ERR_REPORT_CHAIN',
  );
  await vendor.issueLicense({ siteId: site_id, appIds: [app_id], ttlS: 86400 });
  for (const ttlS of [59, 31 * 86400, 1.5])
    await refused(
      `revocation update valid ${ttlS}s`,
      () => vendor.issueRevocations({ siteId: site_id, ttlS }),
      'invalid_request',
      'ERR_TTL',
    );
});

test('an activation request for another site, or expired, is invalid_request', async () => {
  const { vendor, app_id, site_id } = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  const jkt = await installationJkt(key);
  const activation = (sub: string, exp: number) =>
    signInstallationArtifact(
      'activation',
      {
        iss: jkt,
        sub,
        jti: `act_${exp}`,
        iat: exp - 3600,
        exp,
        installation: { jkt },
        gateway_version: '0.1.0',
        integrity: 'unsealed',
      },
      key,
    );
  const issue = async (token: string) =>
    vendor.issueLicense({ siteId: site_id, appIds: [app_id], ttlS: 86400, activation: token });
  const other = await activation('site_other', now() + 3600);
  await refused('activation for another site', () => issue(other), 'invalid_request', 'ERR_ACTIVATION_SITE');
  const expired = await activation(site_id, now() - 60);
  await refused('expired activation', () => issue(expired), 'invalid_request', 'ERR_ACTIVATION_EXPIRED');
});

test('a portal account with a bad role or publisher binding is invalid_request', async () => {
  const { vendor, publisher_id } = await setup();
  const users = new Users(vendor.db);
  const add = (role: string, publisherId?: string) => () =>
    users.add({
      email: 'x@acme.example',
      role,
      password: 'a long enough password',
      actor: 'tester',
      ...(publisherId ? { publisherId } : {}),
    });
  await refused('unknown role', add('root'), 'invalid_request', 'ERR_ROLE');
  await refused('publisher without publisher', add('publisher'), 'invalid_request', 'ERR_PUBLISHER');
  await refused(
    'reviewer with a publisher',
    add('reviewer', publisher_id),
    'invalid_request',
    'ERR_PUBLISHER',
  );
});

test('refusals that depend on the records stay conflict', async () => {
  const { vendor, app_id, site_id, pending } = await setup();
  await refused(
    'renewal with nothing to renew',
    () => vendor.issueLicense({ siteId: site_id }),
    'conflict',
    'ERR_APPS',
  );
  await refused(
    'update before any license',
    () => vendor.issueRevocations({ siteId: site_id }),
    'conflict',
    'ERR_NO_LICENSE',
  );
  vendor.reject({ submissionId: pending, reason: 'no' });
  await refused(
    'decided twice',
    () => vendor.reject({ submissionId: pending, reason: 'again' }),
    'conflict',
    'ERR_DECIDED',
  );
  vendor.revoke({ kind: 'app', target: app_id, reason: 'abuse' });
  await refused(
    'revoked twice',
    () => vendor.revoke({ kind: 'app', target: app_id, reason: 'again' }),
    'conflict',
    'ERR_REVOKED',
  );
});
