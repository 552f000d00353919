/**
 * The web platform in a real browser (Debian's Chromium through playwright-core): the Charter web
 * client, served from `http://localhost:PORT` with the SDK's browser bundle, registers, gets a token
 * and calls the API through the real `charter gateway start` process on `http://127.0.0.1:PORT2`
 * (another origin, so every step goes through a CORS preflight the license decides). The instance
 * key is non-extractable and survives a reload (IndexedDB); after the reload the gateway asks for a
 * server nonce (`--require-token-nonce`) and the SDK's `use_dpop_nonce` retry works, which needs
 * `DPoP-Nonce` exposed. A page on an origin the charter does not list is refused: by the preflight
 * when no admitted app lists it, at registration when another app does. Screenshots go to
 * test-artifacts/web/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CharterError, createCharterClient, MemoryKeyStore } from '@charter/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningWebClient, reservePort, serveWebClient } from '../../client/demo/server.ts';
import { ROOT, type Started, startGatewayProcess } from './processes.ts';
import { charter } from './world.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-artifacts', 'web');

let dir: string;
let browser: Browser;
let gateway: Started;
let gatewayUrl: string;
let upstream: Server;
const upstreamSaw: { method: string; url: string; app: string | undefined; origin: string | undefined }[] =
  [];
let ward: RunningWebClient;
let beta: RunningWebClient;
let clone: RunningWebClient;
let wardCharter: string;
let wardAppId: string;

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(gateway.info.metrics_url)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

// biome-ignore lint/suspicious/noExplicitAny: the page's result object.
async function outcome(page: Page): Promise<any> {
  // The module sets charterDemo after fetching its config, possibly after the load event.
  await page.waitForFunction(() => 'charterDemo' in window);
  return page.evaluate(
    () => (window as unknown as { charterDemo: { done: Promise<unknown> } }).charterDemo.done,
  );
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'charter-web-'));
  // The pages' origins must be known before the vendor approves the charters that name them.
  const wardServer = await reservePort();
  const betaServer = await reservePort();
  const cloneServer = await reservePort();
  const origin = (s: Server) => `http://localhost:${(s.address() as AddressInfo).port}`;

  const V = join(dir, 'V');
  await charter('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme Health');
  await charter('vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json'));
  const pub = (await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Acme Health'))
    .publisher_id;
  const approve = async (name: string, webOrigin: string) => {
    const s = await charter(
      'vendor',
      'app',
      'submit',
      '--home',
      V,
      '--publisher',
      pub,
      '--name',
      name,
      '--scopes',
      'orders:read',
      '--web-origin',
      webOrigin,
    );
    const file = join(dir, `${name}.charter`);
    await charter('vendor', 'app', 'approve', '--home', V, s.submission_id, '--ttl', '30d', '--out', file);
    return { app_id: s.app_id as string, charter: readFileSync(file, 'utf8').trim() };
  };
  const w = await approve('Acme Ward', origin(wardServer));
  const b = await approve('Beta Orders', origin(betaServer));
  wardCharter = w.charter;
  wardAppId = w.app_id;
  const site = (await charter('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A')).site_id;
  const license = join(dir, 'site.license');
  await charter(
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site,
    '--apps',
    `${w.app_id},${b.app_id}`,
    '--ttl',
    '30d',
    '--out',
    license,
  );

  upstream = createServer((req, res) => {
    const app = req.headers['charter-app-id'] as string | undefined;
    upstreamSaw.push({ method: req.method ?? '', url: req.url ?? '', app, origin: req.headers.origin });
    // The API's own CORS is wide open: the gateway must replace it, not pass it on.
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end(JSON.stringify({ orders: [{ id: 1, item: 'saline 0.9%', qty: 40 }], served_to: app }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  gateway = await startGatewayProcess([
    '--home',
    join(dir, 'G'),
    '--license',
    license,
    '--trust',
    join(dir, 'trust.json'),
    '--upstream',
    `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    '--listen',
    '127.0.0.1:0',
    '--require-token-nonce',
    // Metrics live on the operations listener only (issue 10 item 13).
    '--metrics-listen',
    '127.0.0.1:0',
  ]);
  gatewayUrl = gateway.info.url;
  assert.match(gatewayUrl, /^http:\/\/127\.0\.0\.1:\d+$/);

  const page = (title: string, role: 'app' | 'clone', intro: string) => ({
    gateway: gatewayUrl,
    charter: w.charter,
    charterOrigins: [origin(wardServer)],
    title,
    role,
    intro,
  });
  ward = await serveWebClient(
    wardServer,
    page('Acme Ward', 'app', 'The approved web app, on the origin its charter names.'),
  );
  beta = await serveWebClient(
    betaServer,
    page(
      'Acme Ward, copied to Beta’s origin',
      'clone',
      'Acme Ward’s charter on the origin of another admitted app.',
    ),
  );
  clone = await serveWebClient(
    cloneServer,
    page(
      'Acme Ward (clone)',
      'clone',
      'A clone that copied Acme Ward’s charter, on an origin no charter lists.',
    ),
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  for (const p of [ward, beta, clone]) await p?.close();
  upstream?.close();
});

test('a web app on its own origin registers, gets a token and calls the API through the gateway, and keeps its key across a reload', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(ward.url);
  assert.equal(await page.evaluate(() => location.origin), ward.url);
  const first = await outcome(page);
  assert.ok(first.registration?.instance_id, JSON.stringify(first));
  assert.equal(first.registration.app_id, wardAppId);
  assert.equal(first.registration.restored, false);
  assert.equal(first.key.restored, false);
  assert.equal(first.key.extractable, false, 'the private key is non-extractable');
  assert.equal(first.key.exportable, false, 'exportKey is refused');
  assert.equal(first.key.matches, true, 'the registered key is the stored one');
  assert.equal(first.token.scope, 'orders:read');
  assert.equal(first.call.status, 200, JSON.stringify(first.call));
  assert.equal(first.call.body.served_to, wardAppId);
  assert.equal(first.admitted, true);
  assert.deepEqual(
    first.traffic.map(
      (t: { method: string; path: string; status: number }) => `${t.method} ${t.path} ${t.status}`,
    ),
    [
      'POST /charter/v1/challenge 200',
      'POST /charter/v1/register 200',
      'POST /charter/v1/token 200',
      'GET /orders 200',
    ],
  );
  await page.getByText('Admitted: the gateway let this app call the API.').waitFor();
  await page.screenshot({ path: join(SHOTS, 'web-client-admitted.png'), fullPage: true });
  // Every step was cross-origin, so the browser asked first, and the gateway said yes.
  assert.ok((await metric('charter_cors_preflights_total', 'outcome="allowed"')) >= 4);
  assert.equal(await metric('charter_refusals_total', 'code="use_dpop_nonce"'), 0);
  const last = upstreamSaw.at(-1);
  assert.deepEqual(
    [last?.method, last?.url, last?.app, last?.origin],
    ['GET', '/orders', wardAppId, ward.url],
  );

  // A reload: a new page, a new client object, the same key and registration from IndexedDB.
  await page.reload();
  const second = await outcome(page);
  assert.equal(second.registration.instance_id, first.registration.instance_id, JSON.stringify(second));
  assert.equal(second.registration.restored, true);
  assert.equal(second.key.restored, true);
  assert.equal(second.key.jkt, first.key.jkt);
  assert.equal(second.key.extractable, false);
  assert.equal(second.call.status, 200);
  // The fresh client had no nonce yet: the gateway answered use_dpop_nonce with a DPoP-Nonce, which
  // the page could read only because the gateway exposes it, and the SDK retried once.
  assert.deepEqual(
    second.traffic.map(
      (t: { method: string; path: string; status: number; error?: string }) =>
        `${t.method} ${t.path} ${t.status}${t.error ? ` ${t.error}` : ''}`,
    ),
    ['POST /charter/v1/token 401 use_dpop_nonce', 'POST /charter/v1/token 200', 'GET /orders 200'],
  );
  assert.equal(await metric('charter_refusals_total', 'code="use_dpop_nonce"'), 1);
  assert.equal(await metric('charter_registrations_total', 'platform="web"'), 1, 'one instance, not two');
  await page.getByText('restored from IndexedDB').waitFor();
  await page.screenshot({ path: join(SHOTS, 'web-client-after-reload.png'), fullPage: true });
  // The browser logs the one 401 (use_dpop_nonce) it saw; nothing else went wrong on the page.
  assert.deepEqual(consoleErrors, [
    'Failed to load resource: the server responded with a status of 401 (Unauthorized)',
  ]);
  await context.close();
});

test('a clone page on an origin no admitted charter lists is refused at the preflight, and reaches nothing', async () => {
  const refusedBefore = await metric(
    'charter_cors_preflights_total',
    'outcome="refused",code="platform_mismatch"',
  );
  const registrationsBefore = await metric('charter_registrations_total', 'platform="web"');
  const calls = upstreamSaw.length;
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  await page.goto(clone.url);
  const result = await outcome(page);
  assert.equal(result.admitted, false);
  assert.equal(result.registration.error, 'unavailable', JSON.stringify(result));
  assert.match(result.traffic[0].error, /blocked by the browser/);
  assert.equal(result.traffic.length, 1, 'the SDK stopped at the first blocked call');
  assert.equal(result.traffic[0].path, '/charter/v1/challenge');
  assert.ok(
    (await metric('charter_cors_preflights_total', 'outcome="refused",code="platform_mismatch"')) >
      refusedBefore,
    'the gateway refused and counted the preflight',
  );
  assert.equal(await metric('charter_registrations_total', 'platform="web"'), registrationsBefore);
  assert.equal(upstreamSaw.length, calls, 'nothing reached the upstream');
  await page.getByText(/^Refused:/).waitFor();
  await page.screenshot({ path: join(SHOTS, 'web-clone-refused.png'), fullPage: true });
  await context.close();

  // Outside a browser, a clone can send any Origin it likes: registration itself refuses it.
  const copied = createCharterClient({
    baseUrl: gatewayUrl,
    charter: wardCharter,
    platform: 'web',
    keyStore: new MemoryKeyStore(),
    fetch: (input, init) => {
      const request = new Request(input, init);
      const headers = new Headers(request.headers);
      headers.set('origin', clone.url);
      return fetch(new Request(request, { headers }));
    },
  });
  await assert.rejects(
    copied.ensureRegistered(),
    (e) => e instanceof CharterError && e.code === 'platform_mismatch' && e.status === 403,
  );
});

test('the copied charter on another admitted app’s origin passes the preflight and is refused at registration', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  await page.goto(beta.url);
  const result = await outcome(page);
  assert.equal(result.admitted, false);
  // CORS let the page read the refusal (Beta's origin is allowed), and the charter's origin check refused it.
  assert.equal(result.registration.error, 'platform_mismatch', JSON.stringify(result));
  assert.deepEqual(
    result.traffic.map((t: { path: string; status: number; error?: string }) =>
      `${t.path} ${t.status} ${t.error ?? ''}`.trim(),
    ),
    ['/charter/v1/challenge 200', '/charter/v1/register 403 platform_mismatch'],
  );
  await page.screenshot({ path: join(SHOTS, 'web-copied-charter-refused.png'), fullPage: true });
  await context.close();
});
