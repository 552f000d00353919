/** Renewals without the revoked app, licenses that admit nothing, and revocation updates in one serial sequence. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type CharterError,
  installationJkt,
  KeyRing,
  signInstallationArtifact,
  trustFromDocument,
  verifyLicense,
  verifyRevocations,
} from '@charter/core';
import { openVendorDb, Vendor } from '@charter/issuer';

const now = () => Math.floor(Date.now() / 1000);

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'charter-renewal-'));
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta' });
  const app = async (name: string) => {
    const sub = vendor.submitApp({ publisherId: publisher_id, name, scopes: ['orders:read'], server: true });
    await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 });
    return sub.app_id;
  };
  const a = await app('Orders');
  const b = await app('Billing');
  const { site_id } = vendor.addSite({ name: 'Hospital A' });
  const trust = await trustFromDocument(vendor.trustDocument());
  return { vendor, a, b, site: site_id, trust };
}

const code = (c: string, detail: string) => (e: CharterError) => e.code === c && e.detail === detail;

test('a renewal keeps apps, scopes, rates, policy, attestation and binding, drops revoked apps, raises the serial', async () => {
  const { vendor, a, b, site, trust } = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  const jkt = await installationJkt(key);
  const activation = await signInstallationArtifact(
    'activation',
    {
      iss: jkt,
      sub: site,
      jti: 'act_1',
      iat: now(),
      exp: now() + 3600,
      installation: { jkt },
      gateway_version: '0.1.0',
      integrity: 'unsealed',
    },
    key,
  );
  const first = await vendor.issueLicense({
    siteId: site,
    appIds: [a, b],
    ttlS: 10 * 86400,
    mode: 'monitor',
    tokenTtlS: 120,
    graceS: 3600,
    ratePerInstancePerMin: 30,
    attestation: { require_verified_boot: true },
    activation,
  });
  vendor.revoke({ kind: 'app', target: b, reason: 'contract ended' });
  const renewed = await vendor.issueLicense({ siteId: site });
  assert.equal(renewed.serial, first.serial + 1);
  assert.equal(renewed.renewed_from, 1);
  assert.deepEqual(renewed.dropped, [b]);
  const { claims } = await verifyLicense(renewed.license, new KeyRing(trust));
  assert.deepEqual(claims.apps, [{ app_id: a, rate: { per_instance_per_min: 30 } }]);
  assert.deepEqual(claims.policy, { mode: 'monitor', token_ttl_s: 120, grace_s: 3600 });
  assert.deepEqual(claims.attestation, { require_verified_boot: true });
  assert.equal(claims.installation?.jkt, jkt, 'a renewal stays bound to the activated installation');
  assert.deepEqual(claims.revoked.apps, [b]);
  assert.equal(claims.exp - claims.nbf, 10 * 86400, 'the same validity length');
  // Flags given override: mode, validity.
  const again = await vendor.issueLicense({ siteId: site, mode: 'enforce', ttlS: 86400 });
  const c2 = (await verifyLicense(again.license, new KeyRing(trust))).claims;
  assert.equal(c2.policy.mode, 'enforce');
  assert.equal(c2.policy.token_ttl_s, 120);
  assert.equal(c2.exp - c2.nbf, 86400);
});

test('the only app revoked: the renewal admits nothing; an explicit revoked app is refused with what to run', async () => {
  const { vendor, a, site, trust } = await setup();
  await vendor.issueLicense({ siteId: site, appIds: [a], ttlS: 86400 });
  vendor.revoke({ kind: 'app', target: a, reason: 'contract ended' });
  await assert.rejects(
    vendor.issueLicense({ siteId: site, appIds: [a], ttlS: 86400 }),
    (e: CharterError) =>
      e.detail === 'ERR_APP_REVOKED' &&
      e.message.includes(`charter vendor license issue --site ${site} --out FILE`) &&
      e.message.includes(`charter vendor revocations issue --site ${site} --out FILE`),
  );
  const r = await vendor.issueLicense({ siteId: site });
  assert.deepEqual(r.apps, []);
  const { claims } = await verifyLicense(r.license, new KeyRing(trust));
  assert.deepEqual(claims.apps, []);
  assert.deepEqual(claims.revoked.apps, [a]);
});

test('renewing a site without a license, or an explicit empty list, is refused', async () => {
  const { vendor, site } = await setup();
  await assert.rejects(vendor.issueLicense({ siteId: site }), code('conflict', 'ERR_APPS'));
  await assert.rejects(
    vendor.issueLicense({ siteId: site, appIds: [], ttlS: 86400 }),
    code('invalid_request', 'ERR_APPS'),
  );
  await assert.rejects(vendor.issueRevocations({ siteId: site }), code('conflict', 'ERR_NO_LICENSE'));
});

test('licenses and revocation updates share one serial sequence per site; status says who is behind', async () => {
  const { vendor, a, b, site, trust } = await setup();
  const { site_id: other } = vendor.addSite({ name: 'Hospital B' });
  await vendor.issueLicense({ siteId: site, appIds: [a, b], ttlS: 86400 });
  await vendor.issueLicense({ siteId: other, appIds: [a], ttlS: 86400 });
  assert.ok(vendor.revocationStatus().every((s) => !s.behind));
  vendor.revoke({ kind: 'app', target: b, reason: 'abuse' });
  assert.deepEqual(
    vendor.revocationStatus().map((s) => [s.site_id, s.behind, s.missing]),
    [
      [site, true, 1],
      [other, true, 1],
    ],
  );
  const u1 = await vendor.issueRevocations({ siteId: site });
  assert.equal(u1.serial, 2);
  assert.equal(u1.license_serial, 1);
  const v1 = await verifyRevocations(u1.token, new KeyRing(trust));
  assert.deepEqual(v1.claims.revoked, { apps: [b] });
  assert.ok(v1.claims.exp - v1.claims.nbf <= 7 * 86400);
  const renewal = await vendor.issueLicense({ siteId: site });
  assert.equal(renewal.serial, 3, 'the license sequence continues after the update');
  const u2 = await vendor.issueRevocations({ siteId: site });
  assert.deepEqual([u2.serial, u2.license_serial], [4, 3]);
  // One click: only the site still behind gets one.
  const issued = await vendor.issueRevocationsToBehind();
  assert.deepEqual(
    issued.map((u) => [u.site_id, u.serial, u.license_serial]),
    [[other, 2, 1]],
  );
  assert.ok(vendor.revocationStatus().every((s) => !s.behind));
  assert.deepEqual(await vendor.issueRevocationsToBehind(), []);
  await assert.rejects(
    vendor.issueRevocations({ siteId: site, ttlS: 31 * 86400 }),
    code('invalid_request', 'ERR_TTL'),
  );
  assert.match(vendor.revocationsToken(u2.revocations_id).token, /^ey/);
  assert.ok(
    vendor.listEvents().some((e) => e.action === 'revocations.issue' && e.subject === u2.revocations_id),
  );
});

test('a license larger than a gateway reads is refused when issued, and nothing is stored', async () => {
  const { vendor, a, site } = await setup();
  // 3 000 serials of 32 hex digits: about 100 KiB of claims, past the 64 KiB every verifier reads.
  const serials = Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(32, 'a'));
  await assert.rejects(
    vendor.issueLicense({
      siteId: site,
      appIds: [a],
      ttlS: 86400,
      attestation: { android_revoked: serials },
    }),
    (e: CharterError) =>
      code('invalid_request', 'ERR_SIZE')(e) &&
      /65536 a gateway reads .*3000 Android serials/.test(e.message),
  );
  assert.equal(vendor.listLicenses(site).length, 0);
  // The same site with a list that fits is issued, and verifies.
  const fits = await vendor.issueLicense({
    siteId: site,
    appIds: [a],
    ttlS: 86400,
    attestation: { android_revoked: serials.slice(0, 1000) },
  });
  assert.ok(fits.license.length <= 65536);
  assert.equal(vendor.listLicenses(site).length, 1);
});
