/**
 * The whole story in a real browser (Debian's Chromium through playwright-core): a publisher submits
 * in the vendor portal, a reviewer approves, an admin issues a license and downloads it; the real
 * `charter gateway start` process runs with it (and the trust from `vendor export-trust`); a client
 * registers and calls the API with @charter/client; an operator signs in to the admin console and
 * sees that app's traffic, the refusals, revokes the client's instance locally (its next call fails
 * with instance_revoked), installs a renewed license (the serial goes up; an older one is refused),
 * exports a usage report and verifies the audit chain. Plus: lockout, a cross-origin post, a phone.
 * Screenshots of the main screens go to test-artifacts/console/.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCaptured } from '@charter/cli';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import { type Portal, startPortal } from '@charter/portal';
import { ensureBuilt } from '@charter/web';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CHARTER_BIN = join(ROOT, 'packages', 'cli', 'bin', 'charter.js');
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const OPERATOR = 'ops@hospital-a.example';

async function cli(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const r = await runCaptured([...args, '--json'], {
    ...process.env,
    CHARTER_PASSPHRASE: 'browser test passphrase',
    CHARTER_ACTOR: 'setup',
    ...env,
  });
  assert.equal(r.code, 0, `charter ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.json;
}

let dir: string;
let V: string;
let G: string;
let portal: Portal;
let browser: Browser;
let upstream: Server;
let upstreamUrl: string;
let evil: Server;
let evilUrl: string;
let gateway: { child: ChildProcess; url: string; adminUrl: string; logs: string[] } | undefined;
const cspErrors: string[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'charter-console-'));
  V = join(dir, 'V');
  G = join(dir, 'G');
  await cli(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme Health']);
  const { publisher_id } = await cli(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps']);
  const pw = { CHARTER_PASSWORD: PASSWORD };
  await cli(
    ['vendor', 'user', 'add', '--home', V, '--email', 'pub@beta.example', '--role', 'publisher'].concat([
      '--publisher',
      publisher_id as string,
    ]),
    pw,
  );
  await cli(
    ['vendor', 'user', 'add', '--home', V, '--email', 'reviewer@acme.example', '--role', 'reviewer'],
    pw,
  );
  await cli(['vendor', 'user', 'add', '--home', V, '--email', 'admin@acme.example', '--role', 'admin'], pw);
  await cli(['vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json')]);
  const [portalDir] = await Promise.all([
    ensureBuilt('portal'),
    // Rebuilt here so the test always drives the current sources (the gateway serves what is built).
    ensureBuilt('console', { force: true }),
  ]);
  portal = await startPortal({ db: join(V, 'vendor.db'), listen: '127.0.0.1:0', staticDir: portalDir });
  upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url, app: req.headers['charter-app-id'] }));
  });
  upstreamUrl = await listen(upstream);
  evil = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title><p>another origin</p>');
  });
  evilUrl = await listen(evil);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  await portal?.close();
  if (gateway && gateway.child.exitCode === null) {
    const child = gateway.child;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  }
  await new Promise((done) => upstream?.close(done));
  await new Promise((done) => evil?.close(done));
});

/** `charter gateway start` as a real process; resolves with its URLs from the first JSON line. */
async function startGatewayProcess(license: string): Promise<NonNullable<typeof gateway>> {
  const child = spawn(
    process.execPath,
    [
      CHARTER_BIN,
      'gateway',
      'start',
      '--home',
      G,
      '--license',
      license,
      '--trust',
      join(dir, 'trust.json'),
      '--upstream',
      upstreamUrl,
      '--listen',
      '127.0.0.1:0',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHARTER_LOG_LEVEL: 'info' } },
  );
  const logs: string[] = [];
  child.stderr?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const info = await new Promise<{ url: string; admin_url: string }>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] as string));
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${logs.join('\n')}`)));
  });
  return { child, url: info.url, adminUrl: info.admin_url, logs };
}

async function newPage(
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) cspErrors.push(m.text());
  });
  page.on('pageerror', (e) => cspErrors.push(String(e)));
  return { context, page };
}

// Both wait for the signed-in shell: a sign-in that silently failed would let later asserts pass
// for the wrong reason. `expectRefusal` is for the attempts meant to fail.
async function portalSignIn(page: Page, email: string): Promise<void> {
  await page.goto(portal.url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 10_000 });
}

async function consoleSignIn(
  page: Page,
  email: string,
  password = PASSWORD,
  expectRefusal = false,
): Promise<void> {
  await page.goto((gateway as NonNullable<typeof gateway>).adminUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (!expectRefusal) await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 10_000 });
}

async function text(locator: Locator): Promise<string> {
  return (await locator.allInnerTexts()).join('\n');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea'))
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
}

async function downloadFrom(page: Page, link: Locator, to: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  await download.saveAs(to);
  return readFileSync(to, 'utf8');
}

/** Issue a license for Hospital A admitting Beta Orders from the signed-in admin page; returns its file. */
async function issueLicense(page: Page, serial: number): Promise<string> {
  await page.getByLabel('Beta Orders').check();
  await page.getByLabel('License validity').fill('365d');
  await page.getByRole('button', { name: 'Issue license' }).click();
  await page.getByText(`Serial ${serial} issued.`).waitFor();
  const file = join(dir, `hospital-a-${serial}.license`);
  await downloadFrom(page, page.getByRole('link', { name: 'Download the license' }), file);
  return file;
}

const outcome = (p: Promise<Response>) =>
  p.then(
    (r) => r.status,
    (e: { code?: string }) => e.code ?? String(e),
  );

test('the whole story: portal → license → gateway → client → console', async () => {
  // ---- vendor portal: submit, approve, issue ----
  const pub = await newPage();
  await portalSignIn(pub.page, 'pub@beta.example');
  await pub.page.getByRole('navigation').getByRole('link', { name: 'Submit an app' }).click();
  await pub.page.getByLabel('App name').fill('Beta Orders');
  await pub.page.getByLabel('Version').fill('1.0.0');
  await pub.page.getByLabel('Scopes').fill('orders:read, orders:write');
  await pub.page.getByLabel('Our backend server calls the API').check();
  await pub.page.getByRole('button', { name: 'Submit for review' }).click();
  await pub.page.getByRole('heading', { name: 'Submitted' }).waitFor();

  const rev = await newPage();
  await portalSignIn(rev.page, 'reviewer@acme.example');
  await rev.page.getByRole('link', { name: 'Review Beta Orders 1.0.0' }).click();
  await rev.page.getByLabel('Charter validity').fill('90d');
  await rev.page.getByRole('button', { name: 'Approve and sign the charter' }).click();
  await rev.page.getByText(/Approved Beta Orders 1\.0\.0: charter chr_/).waitFor();

  await pub.page.goto(`${portal.url}/#/apps`);
  await pub.page.reload();
  await pub.page.getByRole('heading', { name: 'Beta Orders' }).waitFor();
  const charter = await downloadFrom(
    pub.page,
    pub.page.getByRole('link', { name: /Download charter/ }),
    join(dir, 'beta-orders.charter'),
  );
  const appId = JSON.parse(Buffer.from(charter.split('.')[1] as string, 'base64url').toString())
    .sub as string;

  const adm = await newPage();
  await portalSignIn(adm.page, 'admin@acme.example');
  await adm.page.getByRole('heading', { name: 'Sites & licenses' }).waitFor();
  await adm.page.getByLabel('Site name').fill('Hospital A');
  await adm.page.getByRole('button', { name: 'Add site' }).click();
  await adm.page.getByText(/Site Hospital A added/).waitFor();
  const license1 = await issueLicense(adm.page, 1);

  // ---- the gateway, as `charter gateway start` ----
  gateway = await startGatewayProcess(license1);
  const gw = gateway;
  assert.equal(gw.adminUrl, `${gw.url}/charter/admin/`);
  // No operator yet: the console is not there, and the log says what to do.
  assert.equal((await fetch(gw.adminUrl)).status, 404);
  assert.ok(gw.logs.some((l) => /gateway user add/.test(l)));
  await cli(['gateway', 'user', 'add', '--home', G, '--email', OPERATOR], { CHARTER_PASSWORD: PASSWORD });
  await cli(['gateway', 'user', 'add', '--home', G, '--email', 'night@hospital-a.example'], {
    CHARTER_PASSWORD: PASSWORD,
  });

  // ---- a client registers and calls the API ----
  const client = createCharterClient({
    baseUrl: gw.url,
    charter,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  for (let i = 0; i < 5; i++) {
    const r = await client.fetch(`/orders/${i}`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { app: string }).app, appId);
  }
  const instanceId = client.instance?.instance_id as string;
  // Something refused: a request with no token at all.
  assert.equal((await fetch(`${gw.url}/orders/1`)).status, 401);

  // ---- the console: the operator sees that app's traffic ----
  const ops = await newPage();
  await consoleSignIn(ops.page, OPERATOR);
  await ops.page.getByRole('heading', { name: 'Overview' }).waitFor();
  await ops.page.locator('figure.line-chart svg[role=img]').waitFor();
  const overview = await text(ops.page.locator('main'));
  assert.match(overview, /Hospital A/);
  assert.match(overview, /Expires in 364 days/);
  // The age of the bundled Android revocation snapshot is in plain sight (issue 11).
  assert.match(
    await text(ops.page.getByTestId('android-revocation')),
    /Android revocation snapshot \d{4,} days old .*dated 2019-08-14 .*this license adds 0 serial/,
  );
  // Which web origins the license lets browsers call from (CORS), as enforced here.
  assert.match(overview, /Web origins browsers may call from \(CORS[^)]*\): (none|https?:\/\/)/);
  assert.equal(await ops.page.getByTestId('serial').textContent(), '1');
  const legend = await text(ops.page.locator('figure.line-chart figcaption'));
  const through = Number(new RegExp(`${appId}: (\\d+) let through`).exec(legend)?.[1]);
  assert.ok(through >= 5, `the chart shows the app's traffic: ${legend}`);
  assert.equal(await ops.page.locator(`figure.line-chart g[data-app="${appId}"] polyline`).count(), 1);
  await assertLabelled(ops.page);
  await shot(ops.page, 'overview-traffic');

  await ops.page.getByRole('link', { name: 'Refusals' }).click();
  await ops.page.getByRole('heading', { name: 'Latest refused requests' }).waitFor();
  assert.match(await text(ops.page.locator('main table').last()), /invalid_token/);
  await shot(ops.page, 'refusals');

  // ---- local revocation: the client's next call fails with instance_revoked ----
  await ops.page.getByRole('link', { name: 'Instances' }).click();
  await ops.page.getByLabel('Search instances').fill(instanceId.slice(0, 12));
  await ops.page.getByRole('button', { name: 'Search' }).click();
  await ops.page.getByRole('button', { name: `Revoke ${instanceId}` }).click();
  await ops.page.getByLabel('Reason').fill('Tablet reported stolen');
  await assertLabelled(ops.page);
  await ops.page.getByRole('button', { name: 'Revoke instance' }).click();
  await ops.page
    .getByRole('status')
    .filter({ hasText: `Instance ${instanceId} revoked on this gateway.` })
    .waitFor();
  await ops.page.getByText(`revoked here by ${OPERATOR}`).waitFor();
  await shot(ops.page, 'instances-revoked');
  assert.equal(await outcome(client.fetch('/orders/99')), 'instance_revoked');

  // ---- a renewed license, installed through the console: the serial goes up ----
  const license2 = await issueLicense(adm.page, 2);
  await ops.page.getByRole('link', { name: 'License & reports' }).click();
  await ops.page.getByLabel('License file (.license)').setInputFiles(license2);
  await ops.page.getByRole('button', { name: 'Install license' }).click();
  await ops.page
    .getByRole('status')
    .filter({ hasText: /License serial 2 installed \(was 1\)/ })
    .waitFor();
  // The older one is refused, with the install path's reason.
  await ops.page.getByLabel('License file (.license)').setInputFiles(license1);
  await ops.page.getByRole('button', { name: 'Install license' }).click();
  await ops.page
    .getByRole('alert')
    .filter({ hasText: /License refused: .*serial/ })
    .waitFor();
  await shot(ops.page, 'license-refused-older');
  const wk = (await (await fetch(`${gw.url}/.well-known/charter`)).json()) as { license_serial: number };
  assert.equal(wk.license_serial, 2);
  // The local revocation outlives the new license (it only ever tightens).
  assert.equal(await outcome(client.fetch('/orders/100')), 'instance_revoked');

  // ---- usage report export ----
  await ops.page.getByRole('button', { name: 'Export a usage report' }).click();
  const report = await downloadFrom(
    ops.page,
    ops.page.getByRole('link', { name: /Download report 1/ }),
    join(dir, 'report-1.jwt'),
  );
  assert.match(report, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  await shot(ops.page, 'license-and-report');

  // ---- the audit chain ----
  await ops.page.getByRole('link', { name: 'Audit log' }).click();
  await ops.page.getByRole('button', { name: 'Verify the whole chain' }).click();
  await ops.page.getByText(/✓ Verified: \d+ entries link up\./).waitFor();
  const audit = await text(ops.page.locator('main'));
  for (const action of [
    'instance.revoke',
    'license.install',
    'license.refused',
    'report.export',
    'auth.signin',
  ])
    assert.match(audit, new RegExp(`${OPERATOR.replace(/\./g, '\\.')}\\s+${action.replace('.', '\\.')}`));
  await shot(ops.page, 'audit-verified');

  await ops.page.getByRole('link', { name: 'Overview' }).click();
  await ops.page.getByTestId('serial').filter({ hasText: '2' }).waitFor();

  // ---- on a phone ----
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  const p = await phone.newPage();
  p.on('pageerror', (e) => cspErrors.push(String(e)));
  await p.goto(gw.adminUrl);
  await p.getByLabel('Email').fill(OPERATOR);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.locator('figure.line-chart svg').waitFor();
  // The header names the site by its id, 26 random characters: its width varied from run to run
  // and overflowed a phone when they were wide ones. The widest the id can be is checked here.
  const brand = p.locator('.brand .muted');
  assert.match((await brand.textContent()) ?? '', /· site site_[a-z0-9]{26}$/);
  await brand.evaluate((el) => {
    el.textContent = `gateway console · site site_${'m'.repeat(26)}`;
  });
  const wide = await p.evaluate(() =>
    Array.from(document.querySelectorAll('body *'))
      .filter(
        (el) =>
          el.getBoundingClientRect().right > 391 && !el.closest('.table-wrap') && !el.closest('.sr-only'),
      )
      .map((el) => `${el.tagName}.${el.className}`),
  );
  assert.deepEqual(wide, [], 'nothing but scrollable tables is wider than a phone');
  assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scrolling');
  await shot(p, 'phone-overview');
  await phone.close();

  assert.deepEqual(cspErrors, [], 'no CSP violation or page error');
  await Promise.all([pub.context.close(), rev.context.close(), adm.context.close(), ops.context.close()]);
});

test('console: six wrong passwords lock the operator, even against the right one', async () => {
  const { context, page } = await newPage();
  for (let i = 0; i < 6; i++) {
    await consoleSignIn(page, 'night@hospital-a.example', `not the password ${i}`, true);
    await page.locator('form [role=alert]').filter({ hasText: /.+/ }).waitFor();
  }
  await consoleSignIn(page, 'night@hospital-a.example', PASSWORD, true);
  const alert = page.locator('form [role=alert]');
  await alert.filter({ hasText: /locked/ }).waitFor();
  assert.match(await text(alert), /too many failed sign-ins/);
  await shot(page, 'sign-in-locked');
  await context.close();
});

test('console: a page on another origin cannot post to the console API', async () => {
  const gw = gateway as NonNullable<typeof gateway>;
  const { context, page } = await newPage();
  await consoleSignIn(page, OPERATOR);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  // Same host, other port: the same site, so SameSite=Strict alone would let the cookie through.
  await page.goto(evilUrl);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${gw.url}/charter/admin/api/`)),
    page.evaluate((url) => {
      const f = document.createElement('form');
      f.method = 'POST';
      f.action = `${url}/charter/admin/api/license`;
      f.enctype = 'text/plain';
      const i = document.createElement('input');
      i.name = '{"license":"a.b.c","x":"';
      i.value = '"}';
      f.append(i);
      document.body.append(f);
      f.submit();
    }, gw.url),
  ]);
  assert.equal(res.status(), 403);
  assert.equal(((await res.json()) as { error: string }).error, 'forbidden');
  // And from the console's own page without the session's CSRF token: refused as well.
  await page.goto(gw.adminUrl);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const status = await page.evaluate(async () => {
    const r = await fetch('/charter/admin/api/report', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return [r.status, ((await r.json()) as { error: string }).error];
  });
  assert.deepEqual(status, [403, 'forbidden']);
  await context.close();
});
