/**
 * The vendor portal in a real browser (Debian's Chromium through playwright-core): a publisher submits
 * with an APK, a reviewer approves and rejects, the publisher downloads a charter that verifies, an
 * admin issues a license and reads usage reports; lockout, cross-origin CSRF and role checks from the
 * page itself. Screenshots of the main screens go to test-artifacts/portal/.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { apk, selfSignedCert } from '@charter/binaries/testing';
import { main } from '@charter/cli';
import {
  artifactHash,
  installationJkt,
  KeyRing,
  type ReportClaims,
  signInstallationArtifact,
  trustFromDocument,
  verifyCharter,
  verifyLicense,
  verifyRevocations,
} from '@charter/core';
import { openVendorDb, Vendor } from '@charter/issuer';
import { type Portal, startPortal } from '@charter/portal';
import { ensureBuilt } from '@charter/web';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, signIn as signInAt, text } from './browser-helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHOTS = join(ROOT, 'test-artifacts', 'portal');
const PASSWORD = 'correct horse battery staple';
const now = () => Math.floor(Date.now() / 1000);

async function cli(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await main([...args, '--json'], {
    stdout,
    stderr,
    stdin: Readable.from([]),
    env: { ...process.env, CHARTER_PASSPHRASE: 'browser test passphrase', CHARTER_ACTOR: 'setup', ...env },
    note: () => {},
  });
  assert.equal(code, 0, `charter ${args.join(' ')} → ${code}: ${err}`);
  return JSON.parse(out.trim().split('\n').pop() as string);
}

let dir: string;
let V: string;
let portal: Portal;
let browser: Browser;
let evil: Server;
let evilUrl: string;
let vendor: Vendor;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'charter-browser-'));
  V = join(dir, 'V');
  await cli(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme Health']);
  const { publisher_id } = await cli(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps']);
  const pw = { CHARTER_PASSWORD: PASSWORD };
  await cli(
    [
      'vendor',
      'user',
      'add',
      '--home',
      V,
      '--email',
      'pub@beta.example',
      '--role',
      'publisher',
      '--publisher',
      publisher_id as string,
    ],
    pw,
  );
  await cli(
    ['vendor', 'user', 'add', '--home', V, '--email', 'reviewer@acme.example', '--role', 'reviewer'],
    pw,
  );
  await cli(['vendor', 'user', 'add', '--home', V, '--email', 'admin@acme.example', '--role', 'admin'], pw);
  await cli(
    ['vendor', 'user', 'add', '--home', V, '--email', 'locked@acme.example', '--role', 'reviewer'],
    pw,
  );
  const staticDir = await ensureBuilt('portal');
  vendor = new Vendor(openVendorDb(join(V, 'vendor.db')), { name: 'test reader' });
  portal = await startPortal({ db: join(V, 'vendor.db'), listen: '127.0.0.1:0', staticDir });
  // Another origin on the same machine: a page there tries to post to the portal.
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title><p>another origin</p>');
  });
  await new Promise<void>((done) => evil.listen(0, '127.0.0.1', done));
  const a = evil.address();
  evilUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await portal?.close();
  vendor?.db.close();
  await new Promise((done) => evil?.close(done));
});

async function newPage(
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  // Any CSP violation or script error is a bug: collect them.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) cspErrors.push(m.text());
  });
  page.on('pageerror', (e) => cspErrors.push(String(e)));
  return { context, page };
}
const cspErrors: string[] = [];

/** Sign in to this portal through the form (browser-helpers.ts). */
const signIn = (page: Page, email: string, password = PASSWORD, expectRefusal = false) =>
  signInAt(page, portal.url, email, password, expectRefusal);

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Every visible form control has a label (the accessibility floor). */
async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea'))
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
}

async function installationKeyArtifacts(siteId: string, appId: string) {
  const key = generateKeyPairSync('ed25519').privateKey;
  const jkt = await installationJkt(key);
  const activation = await signInstallationArtifact(
    'activation',
    {
      iss: jkt,
      sub: siteId,
      jti: `act_${Date.now()}`,
      iat: now(),
      exp: now() + 86400,
      installation: { jkt },
      gateway_version: '0.1.0',
      integrity: 'sealed',
    },
    key,
  );
  const report = async (
    k: KeyObject,
    seq: number,
    prev: string | undefined,
    admitted: number,
    extra: Partial<ReportClaims> = {},
  ) => {
    const claims: ReportClaims = {
      iss: await installationJkt(k),
      jti: `rep_${seq}_${admitted}`,
      iat: now(),
      site: siteId,
      seq,
      ...(prev ? { prev } : {}),
      period: { from: now() - 7200 + seq * 1000, to: now() - 7200 + (seq + 1) * 1000 },
      license_serial: 1,
      integrity: 'sealed',
      clock: { rollback_events: 0 },
      apps: { [appId]: { admitted, denied: { rate_limited: 4, insufficient_scope: 2 }, instances: 3 } },
      unknown: { invalid_charter: 5 },
      ...extra,
    };
    return signInstallationArtifact('report', claims, k);
  };
  return { key, activation, report };
}

test('the portal end to end in Chromium', async () => {
  // ---- the publisher submits an app with its APK ----
  const pub = await newPage();
  await signIn(pub.page, 'pub@beta.example');
  await pub.page.getByRole('heading', { name: 'My apps' }).waitFor();
  await pub.page.getByRole('navigation').getByRole('link', { name: 'Submit an app' }).click();
  const form = pub.page;
  await form.getByLabel('App name').fill('Beta Orders');
  await form.getByLabel('Version').fill('2.1.0');
  await form.getByLabel('Scopes').fill('orders:read, orders:write');
  await form.getByLabel('Web origins').fill('https://orders.beta.example');
  await form.getByLabel('Android package').fill('com.beta.orders');
  // The publisher types a digest that is not the APK's certificate: the portal must flag it.
  await form.getByLabel('Android signing certificate SHA-256').fill('AB:'.repeat(31) + 'AB');
  await form.getByLabel('Notes for the reviewer').fill('Our order-taking app for ward nurses.');
  const cert = selfSignedCert('Beta Apps Release');
  await form.getByLabel('Binary (APK or IPA, optional)').setInputFiles({
    name: 'beta-orders-2.1.0.apk',
    mimeType: 'application/vnd.android.package-archive',
    buffer: apk({ package: 'com.beta.orders', versionCode: 210, versionName: '2.1.0' }, cert.der),
  });
  await assertLabelled(form);
  await form.getByRole('button', { name: 'Submit for review' }).click();
  const binary = form.getByRole('region', { name: 'What beta-orders-2.1.0.apk says' });
  await binary.waitFor();
  const binText = await text(binary);
  assert.match(binText, /com\.beta\.orders/);
  assert.ok(binText.includes(cert.sha256), 'the certificate digest read from the v2 signing block is shown');
  assert.match(binText, /1 mismatch/);
  assert.match(binText, /✗ Mismatch/);
  assert.match(await text(form.getByRole('status')), /Submitted for review/);
  await shot(form, 'publisher-submitted-with-apk');

  // A second app, which the reviewer will reject.
  await form.getByRole('navigation').getByRole('link', { name: 'Submit an app' }).click();
  await form.getByLabel('App name').fill('Beta Notes');
  await form.getByLabel('Scopes').fill('notes:read, patients:write');
  await form.getByLabel('Our backend server calls the API').check();
  await form.getByRole('button', { name: 'Submit for review' }).click();
  await form.getByRole('heading', { name: 'Submitted' }).waitFor();

  // ---- the reviewer approves one and rejects the other ----
  const rev = await newPage();
  await signIn(rev.page, 'reviewer@acme.example');
  await rev.page.getByRole('heading', { name: 'Review queue' }).waitFor();
  await shot(rev.page, 'reviewer-queue');
  await rev.page.getByRole('link', { name: 'Review Beta Orders 2.1.0' }).click();
  await rev.page.getByRole('heading', { name: 'What changed' }).waitFor();
  const detail = await text(rev.page.locator('main'));
  assert.match(detail, /First approval of this app/);
  assert.match(detail, /orders:write/);
  assert.match(detail, /Our order-taking app for ward nurses/);
  assert.match(detail, /✗ Mismatch/);
  await shot(rev.page, 'reviewer-submission');
  await rev.page.getByLabel('Charter validity').fill('90d');
  await rev.page.getByRole('button', { name: 'Approve and sign the charter' }).click();
  await rev.page.getByText(/Approved Beta Orders 2\.1\.0: charter chr_/).waitFor();
  await rev.page.getByRole('link', { name: 'Review Beta Notes 1' }).click();
  await rev.page
    .getByLabel('Reason for the publisher')
    .fill('patients:write is not needed for notes; ask for notes:write.');
  await rev.page.getByRole('button', { name: 'Reject' }).click();
  await rev.page.getByText('Rejected Beta Notes 1.').waitFor();

  // ---- the publisher sees both outcomes and downloads the charter ----
  await pub.page.goto(`${portal.url}/#/apps`);
  await pub.page.reload();
  await pub.page.getByRole('heading', { name: 'Beta Orders' }).waitFor();
  const apps = await text(pub.page.locator('main'));
  assert.match(apps, /approved/);
  assert.match(apps, /Rejected: .*patients:write is not needed for notes/);
  await shot(pub.page, 'publisher-apps');
  const [download] = await Promise.all([
    pub.page.waitForEvent('download'),
    pub.page.getByRole('link', { name: /Download charter/ }).click(),
  ]);
  const charterText = readFileSync((await download.path()) as string, 'utf8');
  assert.match(download.suggestedFilename(), /^app_[a-z0-9]+\.charter$/);

  // ---- the admin adds a site, issues a license with an activation, reads reports ----
  const adm = await newPage();
  // Keyboard only: Tab to the fields, Enter to submit.
  await adm.page.goto(portal.url);
  await adm.page.getByLabel('Email').waitFor();
  await adm.page.keyboard.press('Tab');
  for (
    let i = 0;
    i < 5 && !(await adm.page.getByLabel('Email').evaluate((el) => el === document.activeElement));
    i++
  )
    await adm.page.keyboard.press('Tab');
  await adm.page.keyboard.type('admin@acme.example');
  await adm.page.keyboard.press('Tab');
  await adm.page.keyboard.type(PASSWORD);
  await adm.page.keyboard.press('Enter');
  await adm.page.getByRole('heading', { name: 'Sites & licenses' }).waitFor();
  await adm.page.getByLabel('Site name').fill('Hospital A');
  await adm.page.getByRole('button', { name: 'Add site' }).click();
  await adm.page.getByText(/Site Hospital A added/).waitFor();
  const site = vendor.listSites().find((s) => s.name === 'Hospital A');
  const app = vendor.listApps().find((a) => a.name === 'Beta Orders');
  assert.ok(site && app);
  const inst = await installationKeyArtifacts(site.site_id, app.app_id);
  await adm.page.getByLabel('Beta Orders').check();
  await adm.page.getByLabel('License validity').fill('365d');
  await adm.page.getByLabel('Activation request (optional)').fill(inst.activation);
  await assertLabelled(adm.page);
  await adm.page.getByRole('button', { name: 'Issue license' }).click();
  await adm.page.getByText('Serial 1 issued.').waitFor();
  await shot(adm.page, 'admin-sites-licenses');
  const [licDownload] = await Promise.all([
    adm.page.waitForEvent('download'),
    adm.page.getByRole('link', { name: 'Download the license' }).click(),
  ]);
  const licenseText = readFileSync((await licDownload.path()) as string, 'utf8');

  // The downloaded artifacts verify: the license against the vendor's trust, the charter with the
  // delegations the license carries (exactly what a gateway does).
  const trust = await trustFromDocument(vendor.trustDocument());
  const license = await verifyLicense(licenseText, new KeyRing(trust));
  assert.deepEqual(
    license.claims.apps.map((a) => a.app_id),
    [app.app_id],
  );
  assert.equal(license.claims.installation?.jkt, await installationJkt(inst.key));
  const charter = await verifyCharter(charterText, new KeyRing(trust, license.claims.keys));
  assert.equal(charter.claims.sub, app.app_id);
  assert.deepEqual(charter.claims.scopes, ['orders:read', 'orders:write']);
  assert.equal(charter.claims.platforms.android?.signing_cert_sha256[0], 'ab'.repeat(32));

  // Usage reports: an unbroken chain of two plus one from an installation never activated.
  const r1 = await inst.report(inst.key, 1, undefined, 120);
  const r2 = await inst.report(inst.key, 2, artifactHash(r1), 80);
  const foreign = await inst.report(generateKeyPairSync('ed25519').privateKey, 1, undefined, 999);
  const files = [r1, r2, foreign].map((t, i) => {
    const f = join(dir, `report-${i + 1}.jwt`);
    writeFileSync(f, t);
    return f;
  });
  await adm.page.getByRole('link', { name: 'Usage reports' }).click();
  await adm.page.getByLabel('Report files (charter-report+jwt)').setInputFiles(files);
  await adm.page.getByRole('button', { name: 'Verify reports' }).click();
  await adm.page.getByRole('heading', { name: 'Report chain problems' }).waitFor();
  const reports = await text(adm.page.locator('main'));
  assert.match(reports, /report-3\.jwt: foreign/);
  assert.equal(await adm.page.locator('figure.chart svg[role=img]').count(), 2);
  assert.match(await adm.page.locator('figure.chart').first().locator('svg').innerHTML(), /Hospital A/);
  assert.match(
    await adm.page.locator('figure.chart').nth(1).locator('svg').innerHTML(),
    />200</,
    '120 + 80 admitted',
  );
  await shot(adm.page, 'admin-usage-reports');

  await adm.page.getByRole('link', { name: 'Record' }).click();
  await adm.page.getByRole('cell', { name: 'app.approve' }).waitFor();
  const record = await text(adm.page.locator('main'));
  assert.match(record, /reviewer@acme\.example \(reviewer\)\s+app\.approve/);
  assert.match(record, /reviewer@acme\.example \(reviewer\)\s+app\.reject/);
  assert.match(record, /admin@acme\.example \(admin\)\s+license\.issue/);
  assert.match(record, /pub@beta\.example \(publisher\)\s+app\.submit/);
  await shot(adm.page, 'admin-record');

  // ---- a new version: the reviewer sees what changed since the approved charter ----
  await pub.page.getByRole('link', { name: 'Submit a new version of Beta Orders' }).click();
  await pub.page.getByLabel('Version').fill('2.2.0');
  await pub.page.getByLabel('Scopes').fill('orders:read, orders:write, orders:refund');
  await pub.page.getByRole('button', { name: 'Submit for review' }).click();
  await pub.page.getByRole('heading', { name: 'Submitted' }).waitFor();
  await rev.page.goto(`${portal.url}/#/queue`);
  await rev.page.reload();
  await rev.page.getByRole('link', { name: 'Review Beta Orders 2.2.0' }).click();
  await rev.page.getByText(/Since version 2\.1\.0, approved in charter/).waitFor();
  const changes = await text(rev.page.locator('ul.changes'));
  assert.match(changes, /changed version: 2\.1\.0 → 2\.2\.0/);
  assert.match(changes, /added scope: orders:refund/);
  await shot(rev.page, 'reviewer-new-version-diff');

  // ---- on a phone ----
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  const p = await phone.newPage();
  await p.goto(portal.url);
  await p.getByLabel('Email').fill('pub@beta.example');
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Beta Orders' }).waitFor();
  const wide = await p.evaluate(() =>
    Array.from(document.querySelectorAll('body *'))
      .filter((el) => el.getBoundingClientRect().right > 391 && !el.closest('.table-wrap'))
      .map((el) => `${el.tagName}.${el.className}`),
  );
  assert.deepEqual(wide, [], 'nothing but scrollable tables is wider than a phone');
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scrolling');
  await shot(p, 'phone-publisher-apps');
  await phone.close();

  assert.deepEqual(cspErrors, [], 'no CSP violation or page error');
  await Promise.all([pub.context.close(), rev.context.close(), adm.context.close()]);
});

test('revocation updates in one click from the revocation screen; reports show which sites installed them', async () => {
  const app = vendor.listApps().find((a) => a.name === 'Beta Orders');
  assert.ok(app);
  // A second site, bound to an installation whose reports the vendor will read.
  const { site_id: siteB } = vendor.addSite({ name: 'Hospital B' });
  const instB = await installationKeyArtifacts(siteB, app.app_id);
  await vendor.issueLicense({
    siteId: siteB,
    appIds: [app.app_id],
    ttlS: 30 * 86400,
    activation: instB.activation,
  });
  const adm = await newPage();
  await signIn(adm.page, 'admin@acme.example');
  await adm.page.getByRole('heading', { name: 'Sites & licenses' }).waitFor();
  const updates = adm.page.getByRole('region', { name: 'Revocation updates' });
  // Nothing is revoked yet: nobody is behind, and the button says so.
  assert.ok(await updates.getByRole('button', { name: /to 0 site\(s\) behind/ }).isDisabled());

  await adm.page.getByLabel('Kind').selectOption('app');
  await adm.page.getByLabel('Id to revoke').fill(app.app_id);
  await adm.page.getByLabel('Reason').fill('contract ended');
  await adm.page.getByRole('button', { name: 'Revoke', exact: true }).click();
  await adm.page.getByText(/issue revocation updates below/).waitFor();
  const sites = vendor.revocationStatus().filter((x) => x.latest_license_serial !== null);
  assert.ok(sites.length >= 2 && sites.every((x) => x.behind), 'every licensed site is behind');
  const button = updates.getByRole('button', {
    name: `Issue revocation updates to ${sites.length} site(s) behind`,
  });
  await button.click();
  await adm.page.getByText(`Revocation updates issued for ${sites.length} site(s).`).waitFor();
  await updates.getByRole('button', { name: /to 0 site\(s\) behind/ }).waitFor();
  assert.match(await text(updates.getByTestId(`installed-${siteB}`)), /not yet \(reported nothing\)/);
  await shot(adm.page, 'admin-revocation-updates');

  // The download is a revocation update for that site that verifies to the vendor root.
  const [download] = await Promise.all([
    adm.page.waitForEvent('download'),
    updates.getByRole('link', { name: 'Download revocation update for Hospital B' }).click(),
  ]);
  const token = readFileSync((await download.path()) as string, 'utf8');
  const trust = await trustFromDocument(vendor.trustDocument());
  const u = await verifyRevocations(token, new KeyRing(trust));
  assert.equal(u.claims.sub, siteB);
  assert.equal(u.claims.license_serial, 1);
  assert.equal(u.claims.serial, 2);
  assert.deepEqual(u.claims.revoked.apps, [app.app_id]);

  // Hospital B's gateway reports it installed; Hospital A has not (its last report said serial 1).
  const report = await instB.report(instB.key, 1, undefined, 10, { revocations_serial: u.claims.serial });
  const file = join(dir, 'report-b-1.jwt');
  writeFileSync(file, report);
  await adm.page.getByRole('link', { name: 'Usage reports' }).click();
  await adm.page.getByLabel('Report files (charter-report+jwt)').setInputFiles([file]);
  await adm.page.getByRole('button', { name: 'Verify reports' }).click();
  await adm.page.getByText('1 reports verified: unbroken.').first().waitFor();
  await adm.page.getByRole('link', { name: 'Sites & licenses' }).click();
  await updates.getByTestId(`installed-${siteB}`).getByText('installed', { exact: true }).waitFor();
  const siteA = vendor.listSites().find((x) => x.name === 'Hospital A');
  assert.ok(siteA);
  assert.match(
    await text(updates.getByTestId(`installed-${siteA.site_id}`)),
    /not yet \(reported serial 1\)/,
  );
  await shot(adm.page, 'admin-revocation-updates-installed');
  await adm.context.close();
});

test('the admin adds a publisher and its account in the browser; that publisher signs in', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'admin@acme.example');
  await page.getByRole('link', { name: 'People' }).click();
  await page.getByLabel('Publisher name').fill('Epsilon Care');
  await page.getByRole('button', { name: 'Add publisher' }).click();
  await page.getByText(/Publisher Epsilon Care added/).waitFor();
  await page.getByLabel('Email').fill('dev@epsilon.example');
  await page.getByLabel('Role').selectOption('publisher');
  await page.getByLabel('Publisher', { exact: true }).selectOption({ label: 'Epsilon Care' });
  await page.getByLabel(/Initial password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Add account' }).click();
  await page.getByText(/Account dev@epsilon.example \(publisher\) added/).waitFor();
  await page.getByRole('cell', { name: 'dev@epsilon.example' }).waitFor();
  await assertLabelled(page);
  await shot(page, 'admin-people');
  await context.close();
  const second = await newPage();
  await signIn(second.page, 'dev@epsilon.example');
  await second.page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Submit an app' })
    .waitFor();
  await second.context.close();
});

test('six wrong passwords lock the account, even against the right one', async () => {
  const { context, page } = await newPage();
  for (let i = 0; i < 6; i++) {
    await signIn(page, 'locked@acme.example', `not the password ${i}`, true);
    await page.getByRole('alert').filter({ hasText: /.+/ }).first().waitFor();
  }
  await signIn(page, 'locked@acme.example', PASSWORD, true);
  const alert = page.locator('form [role=alert]');
  await alert.filter({ hasText: /locked/ }).waitFor();
  assert.match(await text(alert), /too many failed sign-ins/);
  await shot(page, 'sign-in-locked');
  assert.ok(vendor.listEvents().some((e) => e.action === 'auth.lockout'));
  await context.close();
});

test('a page on another origin cannot post to the portal, and a publisher cannot use reviewer APIs', async () => {
  const { context, page } = await newPage();
  await signIn(page, 'pub@beta.example');
  await page.getByRole('heading', { name: 'My apps' }).waitFor();
  const before = vendor.listSubmissions().length;

  // From another origin (same host, other port: same site, so SameSite=Strict alone would not stop it):
  // a classic form post reaches the server with the cookie and is refused. (A no-cors fetch is refused
  // the same way; its opaque answer is then also withheld from the page by Cross-Origin-Resource-Policy.)
  await page.goto(evilUrl);
  const [formRes] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${portal.url}/api/publisher/submissions`)),
    page.evaluate((url) => {
      const f = document.createElement('form');
      f.method = 'POST';
      f.action = `${url}/api/publisher/submissions`;
      f.enctype = 'text/plain';
      const i = document.createElement('input');
      i.name = '{"name":"Forged","scopes":["orders:read"],"server":true,"x":"';
      i.value = '"}';
      f.append(i);
      document.body.append(f);
      f.submit();
    }, portal.url),
  ]);
  assert.equal(formRes.status(), 403);
  assert.equal((await formRes.json()).error, 'forbidden');
  assert.equal(vendor.listSubmissions().length, before, 'nothing was submitted');

  // From the portal's own page, with the session's CSRF token: the role still decides.
  await page.goto(portal.url);
  await page.getByRole('heading', { name: 'My apps' }).waitFor();
  const sub = vendor.listSubmissions('pending')[0]?.id ?? 'sub_none';
  const answers = await page.evaluate(async (id) => {
    const s = await (await fetch('/api/session')).json();
    const queue = await fetch('/api/review/queue');
    const approve = await fetch(`/api/review/submissions/${id}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
      body: JSON.stringify({ ttl: '1d' }),
    });
    return [queue.status, approve.status, await approve.json()];
  }, sub);
  assert.deepEqual(answers, [
    403,
    403,
    { error: 'forbidden', error_description: 'this needs the reviewer role' },
  ]);
  assert.equal(vendor.submission(sub).status, 'pending');
  await context.close();
});
