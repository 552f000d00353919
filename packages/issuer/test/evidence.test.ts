/** The vendor's evidence: activation binding, report chains (gaps, forks, edits, foreign reports), tracing. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  artifactHash,
  type CharterError,
  installationJkt,
  KeyRing,
  type ReportClaims,
  signInstallationArtifact,
  trustFromDocument,
  verifyLicense,
} from '@charter/core';
import { openVendorDb, Vendor } from '@charter/issuer';

const now = () => Math.floor(Date.now() / 1000);

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'charter-vendor-'));
  const vendor = new Vendor(openVendorDb(join(dir, 'vendor.db')), { name: 'tester' });
  await vendor.init({ vendorId: 'acme', name: 'Acme', passphrase: 'a test passphrase' });
  const { publisher_id } = vendor.addPublisher({ name: 'Beta' });
  const sub = vendor.submitApp({
    publisherId: publisher_id,
    name: 'Orders',
    scopes: ['orders:read'],
    server: true,
  });
  const approved = await vendor.approve({ submissionId: sub.submission_id, ttlS: 86400 });
  const { site_id } = vendor.addSite({ name: 'Hospital A' });
  return {
    vendor,
    publisher_id,
    app_id: sub.app_id,
    submission_id: sub.submission_id,
    charter_id: approved.charter_id,
    site_id,
  };
}

async function activation(key: KeyObject, site: string, over: Record<string, unknown> = {}): Promise<string> {
  const jkt = await installationJkt(key);
  return signInstallationArtifact(
    'activation',
    {
      iss: jkt,
      sub: site,
      jti: `act_${Math.random().toString(36).slice(2)}`,
      iat: now(),
      exp: now() + 86400,
      installation: { jkt },
      gateway_version: '0.1.0',
      integrity: 'unsealed',
      ...over,
    },
    key,
  );
}

/** A chain of `n` reports from one installation. */
async function reports(
  key: KeyObject,
  site: string,
  n: number,
  app: string,
  extra: Partial<ReportClaims> = {},
): Promise<string[]> {
  const jkt = await installationJkt(key);
  const out: string[] = [];
  let prev: string | undefined;
  for (let seq = 1; seq <= n; seq++) {
    const claims: ReportClaims = {
      iss: jkt,
      jti: `rep_${seq}`,
      iat: now(),
      site,
      seq,
      ...(prev ? { prev } : {}),
      period: { from: 1000 * seq, to: 1000 * (seq + 1) },
      license_serial: 1,
      integrity: 'unsealed',
      clock: { rollback_events: 0 },
      apps: { [app]: { admitted: 10, denied: { rate_limited: 1 }, instances: 2, unattested_instances: 0 } },
      unknown: { invalid_charter: 3 },
      ...extra,
    };
    const token = await signInstallationArtifact('report', claims, key);
    out.push(token);
    prev = artifactHash(token);
  }
  return out;
}

test('a license issued with an activation is bound to that installation, and re-activation is recorded', async () => {
  const s = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  const lic = await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(key, s.site_id),
  });
  const trust = await trustFromDocument(s.vendor.trustDocument());
  const verified = await verifyLicense(lic.license, new KeyRing(trust));
  assert.equal(verified.claims.installation?.jkt, await installationJkt(key));

  const other = generateKeyPairSync('ed25519').privateKey;
  await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(other, s.site_id),
  });
  const events = s.vendor.listEvents().filter((e) => e.action === 'site.activate');
  assert.deepEqual(
    events.map((e) => e.detail.reactivation),
    [false, true],
  );

  await assert.rejects(
    s.vendor.issueLicense({
      siteId: s.site_id,
      appIds: [s.app_id],
      ttlS: 86400,
      activation: await activation(key, 'site_other'),
    }),
    (e: CharterError) => e.detail === 'ERR_ACTIVATION_SITE',
  );
  const forged = (await activation(key, s.site_id)).replace(/\.[^.]+$/, `.${'A'.repeat(86)}`);
  await assert.rejects(
    s.vendor.issueLicense({ siteId: s.site_id, appIds: [s.app_id], ttlS: 86400, activation: forged }),
    (e: CharterError) => e.detail === 'ERR_SIGNATURE',
  );
});

test('an unbroken report chain verifies and sums usage per app', async () => {
  const s = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(key, s.site_id),
  });
  const chain = await reports(key, s.site_id, 3, s.app_id);
  const v = await s.vendor.verifyReports([chain[2], chain[0], chain[1]] as string[]);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.deepEqual(v.apps[s.app_id], {
    admitted: 30,
    denied: { rate_limited: 3 },
    instances: 6,
    unattested_instances: 0,
  });
  assert.deepEqual(v.unknown, { invalid_charter: 9 });
});

test('a missing report is a gap, an edited one is refused, a foreign one is named, a fork is seen across renewals', async () => {
  const s = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(key, s.site_id),
  });
  const chain = (await reports(key, s.site_id, 4, s.app_id)) as string[];

  const gap = await s.vendor.verifyReports([chain[0], chain[1], chain[3]] as string[]);
  assert.equal(gap.ok, false);
  assert.deepEqual(
    gap.gaps.map((g) => g.missing),
    [[3]],
  );

  const [h, p, sig] = (chain[3] as string).split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.apps[s.app_id].admitted = 1; // under-report usage
  const edited = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  const e = await s.vendor.verifyReports([chain[0], chain[1], chain[2], edited] as string[]);
  assert.equal(e.ok, false);
  assert.equal(e.reports.find((r) => r.file === 3)?.status, 'edited');

  const stranger = generateKeyPairSync('ed25519').privateKey;
  const foreign = await s.vendor.verifyReports(await reports(stranger, s.site_id, 1, s.app_id));
  assert.equal(foreign.ok, false);
  assert.equal(foreign.reports[0]?.status, 'foreign');

  // A restored backup produces a second report 3 with a different body: a fork against what was sent before.
  const fork = (await reports(key, s.site_id, 3, s.app_id, { license_serial: 1, unknown: {} }))[2] as string;
  const forked = await s.vendor.verifyReports([fork]);
  assert.equal(forked.ok, false);
  assert.ok(
    forked.forks.some((f) => f.seq === 3),
    JSON.stringify(forked.forks),
  );
});

test('a renewal can require an unbroken chain', async () => {
  const s = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(key, s.site_id),
  });
  const chain = (await reports(key, s.site_id, 3, s.app_id)) as string[];
  await assert.rejects(
    s.vendor.issueLicense({
      siteId: s.site_id,
      appIds: [s.app_id],
      ttlS: 86400,
      reports: [chain[0], chain[2]] as string[],
      requireUnbrokenChain: true,
    }),
    (e: CharterError) => e.detail === 'ERR_REPORT_CHAIN',
  );
  const ok = await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    reports: chain,
    requireUnbrokenChain: true,
  });
  assert.equal(ok.serial, 2);
});

test('trace finds publisher, submission, charters and sites from a charter, an app or an instance id', async () => {
  const s = await setup();
  const key = generateKeyPairSync('ed25519').privateKey;
  await s.vendor.issueLicense({
    siteId: s.site_id,
    appIds: [s.app_id],
    ttlS: 86400,
    activation: await activation(key, s.site_id),
  });
  const byCharter = s.vendor.trace(s.charter_id);
  assert.equal(byCharter.kind, 'charter');
  assert.equal(byCharter.publisher_id, s.publisher_id);
  assert.equal(byCharter.submission_id, s.submission_id);
  assert.deepEqual(
    byCharter.sites.map((x) => x.site_id),
    [s.site_id],
  );
  assert.equal(s.vendor.trace(s.app_id).kind, 'app');
  const [report] = await reports(key, s.site_id, 1, s.app_id, {
    instances: { ins_leaky: { app_id: s.app_id, charter_id: s.charter_id } },
  });
  await s.vendor.verifyReports([report as string]);
  const byInstance = s.vendor.trace('ins_leaky');
  assert.equal(byInstance.kind, 'instance');
  assert.deepEqual(byInstance.charter_ids, [s.charter_id]);
  assert.equal(byInstance.seen_at?.[0]?.site, s.site_id);
  assert.throws(
    () => s.vendor.trace('ins_unknown'),
    (e: CharterError) => e.code === 'not_found',
  );
});
