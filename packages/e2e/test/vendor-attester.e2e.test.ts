/**
 * The vendor's online attester end to end, every part a real process: `charter vendor attester serve`
 * checks an Android device's Key Attestation (test PKI of @charter/attest) and answers an attester
 * token; `charter gateway start`, under a license that requires the vendor attester, admits the device
 * with that token offline. Refused: a clone with the copied charter and no attested key (no token at
 * all), a token for another instance key, an expired one, one signed by an attester key the license
 * does not delegate, and a replayed one (also after a gateway restart). `vendor report verify` with the
 * attester's records lists an instance the gateway admitted that the attester never vouched for, and
 * so does the Usage reports page of `charter vendor serve` on the same vendor home (in Chromium).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestAttestationAuthority } from '@charter/attest/testing';
import { runCaptured } from '@charter/cli';
import {
  androidAttestationProvider,
  type CharterError,
  createCharterClient,
  MemoryKeyStore,
} from '@charter/client';
import { newId, signAttesterToken } from '@charter/core';
import { openVendorDb, type ReportVerdict, Vendor } from '@charter/issuer';
import { exportJWK, SignJWT } from 'jose';
import type { Browser } from 'playwright-core';
import { launchChromium, signIn, text } from '../../portal/test/browser-helpers.ts';
import { emulatedAndroid, memoryStorage } from './devices.ts';
import { ROOT, run, type Started, startGatewayProcess, startPortalProcess } from './processes.ts';
import { charter } from './world.ts';

const PACKAGE = 'com.beta.ward';
const ADMIN = 'admin@acme.example';
const PASSWORD = 'correct horse battery staple';
const DIGEST = createHash('sha256').update('beta release certificate').digest('hex');
const pixel = emulatedAndroid(PACKAGE, DIGEST);
const authority = createTestAttestationAuthority();

let dir: string;
let V: string;
let G: string;
let site: string;
let appId: string;
let wardCharter: string;
let license: string;
let api: Server;
let apiUrl: string;
let gw: Started;
let attester: { url: string; stop(): Promise<void> };
const stopping: (() => Promise<unknown>)[] = [];

/** Start `charter vendor attester serve`; resolves with its URL once it prints it. */
function startAttesterProcess(
  home: string,
): Promise<{ url: string; stop(): Promise<void>; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'packages', 'cli', 'bin', 'charter.js'),
      'vendor',
      'attester',
      'serve',
      '--home',
      home,
      '--listen',
      '127.0.0.1:0',
      '--json',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, CHARTER_PASSPHRASE: 'e2e passphrase' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (c) => {
      out += c;
      if (!out.includes('\n')) return;
      const info = JSON.parse(out.split('\n')[0] as string);
      resolve({
        url: info.url,
        child,
        async stop() {
          child.kill('SIGTERM');
          assert.equal(await exited, 0, `the attester stopped badly: ${err}`);
        },
      });
    });
    void exited.then((code) => reject(new Error(`attester exited ${code}: ${err}`)));
  });
}

const gatewayArgs = (lic: string) => [
  '--home',
  G,
  '--license',
  lic,
  '--upstream',
  apiUrl,
  '--listen',
  '127.0.0.1:0',
  '--trust',
  join(dir, 'trust.json'),
];

async function issueLicense(file: string, extra: string[]): Promise<string> {
  await charter(
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site,
    '--apps',
    appId,
    '--ttl',
    '30d',
    '--activation',
    join(dir, 'activation.jwt'),
    '--out',
    join(dir, file),
    '--attestation-root',
    join(dir, 'pixel-root.pem'),
    '--attestation-root',
    join(dir, 'test-root.pem'),
    ...extra,
  );
  return join(dir, file);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charter-e2e-vendor-attester-'));
  V = join(dir, 'V');
  G = join(dir, 'G');
  await charter('vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme');
  await charter('vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json'));
  const { publisher_id } = await charter('vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps');
  const sub = await charter(
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Beta Ward',
    '--scopes',
    'orders:read',
    '--android-package',
    PACKAGE,
    '--android-cert-sha256',
    DIGEST,
  );
  appId = sub.app_id;
  await charter(
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'ward.charter'),
  );
  wardCharter = readFileSync(join(dir, 'ward.charter'), 'utf8');
  writeFileSync(join(dir, 'pixel-root.pem'), pixel.rootPem);
  writeFileSync(join(dir, 'test-root.pem'), authority.rootPem);
  site = (await charter('vendor', 'site', 'add', '--home', V, '--name', 'Hospital A')).site_id;
  const act = run(['gateway', 'activate', '--home', G, '--site', site, '--out', join(dir, 'activation.jwt')]);
  assert.equal(act.code, 0, act.stderr);
  api = createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  license = await issueLicense('a.license', ['--attestation-source', 'attester']);
  attester = await startAttesterProcess(V);
  gw = await startGatewayProcess(gatewayArgs(license));
});

after(async () => {
  for (const s of stopping) await s().catch(() => undefined);
  await gw?.stop().catch(() => undefined);
  await attester?.stop().catch(() => undefined);
  api?.close();
});

/** An Android-like device made by hand: a P-256 key attested by the test PKI for a challenge. */
async function device(challengeNonce: string, packageName = PACKAGE) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x5c } = authority.attest({
    publicKey: pair.publicKey,
    challenge: createHash('sha256').update(challengeNonce, 'ascii').digest(),
    packageName,
    signingCertDigests: [DIGEST],
  });
  return { ...pair, x5c, jwk: await exportJWK(pair.publicKey) };
}

async function proof(key: { privateKey: KeyObject; publicKey: KeyObject }, url: string, nonce: string) {
  const { kty, crv, x, y } = await exportJWK(key.publicKey);
  return new SignJWT({ htm: 'POST', htu: url, nonce, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } as never })
    .setIssuedAt()
    .sign(key.privateKey);
}

async function post(url: string, body: unknown, dpop?: string) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(dpop ? { dpop } : {}) },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers.
  return { status: r.status, body: (await r.json()) as any };
}

/** A genuine device's attester token, by the attester's own protocol. */
async function attesterToken(attesterUrl = attester.url) {
  const c = await post(`${attesterUrl}/attester/v1/challenge`, {});
  assert.equal(c.status, 200);
  const d = await device(c.body.nonce);
  const url = `${attesterUrl}/attester/v1/attest`;
  const r = await post(
    url,
    {
      charter: wardCharter,
      site_id: site,
      platform: 'android',
      attestation: { fmt: 'android-key', x5c: d.x5c },
    },
    await proof(d, url, c.body.nonce),
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { token: r.body.attester_token as string, key: d };
}

/** Register at the gateway with `key`, carrying `token`. */
async function register(
  key: { privateKey: KeyObject; publicKey: KeyObject },
  token: string | undefined,
  base = gw.info.url,
) {
  const c = await post(`${base}/charter/v1/challenge`, {});
  assert.equal(c.status, 200);
  const url = `${base}/charter/v1/register`;
  return post(
    url,
    { charter: wardCharter, platform: 'android', ...(token ? { attester_token: token } : {}) },
    await proof(key, url, c.body.nonce),
  );
}

test('a device registers through the SDK with an attester token at a gateway that requires it', async () => {
  const client = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
    attester: { url: attester.url, siteId: site },
  });
  const res = await client.fetch('/orders');
  assert.equal(res.status, 200);
  assert.ok(client.instance?.instance_id);
  // The same device without the attester's token is refused: the license requires it.
  const bare = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
  });
  await assert.rejects(bare.fetch('/orders'), (e: CharterError) => e.code === 'attestation_required');
});

test('a clone with a copied charter and no attested key gets no token and cannot register', async () => {
  const clone = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    keyStore: new MemoryKeyStore(),
    attester: { url: attester.url, siteId: site },
  });
  await assert.rejects(clone.fetch('/orders'), (e: CharterError) => {
    assert.equal(e.code, 'attestation_required');
    assert.equal(e.detail, 'ERR_CLIENT_ATTESTER_REFUSED');
    return true;
  });
  // Another package's attested key gets no token either.
  const c = await post(`${attester.url}/attester/v1/challenge`, {});
  const d = await device(c.body.nonce, 'com.clone.ward');
  const url = `${attester.url}/attester/v1/attest`;
  const r = await post(
    url,
    {
      charter: wardCharter,
      site_id: site,
      platform: 'android',
      attestation: { fmt: 'android-key', x5c: d.x5c },
    },
    await proof(d, url, c.body.nonce),
  );
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'invalid_attestation');
  // And straight at the gateway, without a token, it is refused.
  const direct = await register(generateKeyPairSync('ec', { namedCurve: 'P-256' }), undefined);
  assert.equal(direct.status, 403);
  assert.equal(direct.body.error, 'attestation_required');
});

test('a token for another instance key is refused', async () => {
  const { token } = await attesterToken();
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const r = await register(other, token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'invalid_attestation');
});

test('an expired token is refused', async () => {
  // Signed with the vendor's real attester key, dated five minutes ago.
  const vendor = new Vendor(openVendorDb(join(V, 'vendor.db')), { name: 'e2e' });
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const t = Math.floor(Date.now() / 1000) - 300;
  const { claims: charterClaims } = JSON.parse(
    JSON.stringify({
      claims: JSON.parse(Buffer.from(wardCharter.split('.')[1] as string, 'base64url').toString()),
    }),
  );
  const token = await signAttesterToken(
    {
      iss: 'acme',
      sub: appId,
      jti: newId('att'),
      iat: t,
      nbf: t,
      exp: t + 120,
      cnf: { jwk: await exportJWK(key.publicKey) },
      charter: {
        site_id: site,
        charter_id: charterClaims.jti,
        platform: 'android',
        attested: true,
        evidence: 'android-key',
      },
    },
    vendor.attesterKey(),
  );
  vendor.db.close();
  const r = await register(key, token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'invalid_attestation');
  // The same token dated now is admitted: the refusal was the expiry.
  const fresh = await signAttesterToken(
    {
      iss: 'acme',
      sub: appId,
      jti: newId('att'),
      iat: t + 300,
      nbf: t + 300,
      exp: t + 420,
      cnf: { jwk: await exportJWK(key.publicKey) },
      charter: {
        site_id: site,
        charter_id: charterClaims.jti,
        platform: 'android',
        attested: true,
        evidence: 'android-key',
      },
    },
    new Vendor(openVendorDb(join(V, 'vendor.db')), { name: 'e2e' }).attesterKey(),
  );
  assert.equal((await register(key, fresh)).status, 200);
});

test('a token signed by an attester key the license does not delegate is refused', async () => {
  // A copy of the vendor home makes a new attester key after the license was issued: genuine root,
  // genuine delegation, but not one of the license's keys.
  const V2 = join(dir, 'V2');
  cpSync(V, V2, { recursive: true });
  const rot = run(['vendor', 'keys', 'rotate', '--home', V2, '--use', 'attester']);
  assert.equal(rot.code, 0, rot.stderr);
  const second = await startAttesterProcess(V2);
  stopping.push(() => second.stop());
  const { token, key } = await attesterToken(second.url);
  const r = await register(key, token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'invalid_attestation');
});

test('a replayed token is refused, also after a gateway restart', async () => {
  const { token, key } = await attesterToken();
  const first = await register(key, token);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const again = await register(key, token);
  assert.equal(again.status, 403);
  assert.equal(again.body.error, 'invalid_attestation');
  const { token: t2, key: k2 } = await attesterToken();
  assert.equal((await register(k2, t2)).status, 200);
  await gw.stop();
  gw = await startGatewayProcess(gatewayArgs(license));
  const replayed = await register(k2, t2);
  assert.equal(replayed.status, 403);
  assert.equal(replayed.body.error, 'invalid_attestation');
});

/**
 * Sign in to a running portal as the admin, open Usage reports, upload `files` and verify them; the
 * page and the `POST /api/admin/reports` answer (which must be 200), for the caller to read.
 */
async function verifyOnPortal(browser: Browser, url: string, files: string[]) {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await signIn(page, url, ADMIN, PASSWORD);
  await page.getByRole('link', { name: 'Usage reports' }).click();
  await page.getByLabel('Report files (charter-report+jwt)').setInputFiles(files);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${url}/api/admin/reports` && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Verify reports' }).click(),
  ]);
  assert.equal(answer.status(), 200, await answer.text());
  const { verdict } = (await answer.json()) as { verdict: ReportVerdict };
  const heading = page.locator('#verdict-h');
  await heading.waitFor({ timeout: 10_000 });
  return { page, verdict, heading, pageErrors };
}

test('vendor report verify lists instances the gateway admitted that the attester never vouched for', async () => {
  // The site runs a monitor-mode license: its gateway admits a clone without an attester token
  // (noting the refusal), as a gateway patched or fed to admit clones would.
  await gw.stop();
  const monitor = await issueLicense('monitor.license', [
    '--attestation-source',
    'attester',
    '--mode',
    'monitor',
  ]);
  gw = await startGatewayProcess(gatewayArgs(monitor));
  const clone = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const admitted = await register(clone, undefined);
  assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
  const { token, key } = await attesterToken();
  const vouched = await register(key, token);
  assert.equal(vouched.status, 200);
  await gw.stop();
  const rep = join(dir, 'r1.report');
  const ex = run(['gateway', 'report', 'export', '--home', G, '--out', rep]);
  assert.equal(ex.code, 0, ex.stderr);
  const v = run(['vendor', 'report', 'verify', '--home', V, rep]);
  assert.equal(v.code, 1, v.stdout);
  const ids = v.json.unvouched.map((u: { instance_id: string }) => u.instance_id);
  assert.ok(ids.includes(admitted.body.instance_id), 'the clone is listed');
  assert.ok(!ids.includes(vouched.body.instance_id), 'the vouched device is not');
  assert.ok(v.json.unvouched.every((u: { site: string; jkt?: string }) => u.site === site && u.jkt));
  // The device registered with a genuine attester token carries the token's jti and signing key in
  // the report: its evidence holds up (it was flagged "verdict is incomplete" when they were left out).
  const suspects = v.json.suspect_instances.map((x: { instance_id: string }) => x.instance_id);
  assert.ok(!suspects.includes(vouched.body.instance_id), JSON.stringify(v.json.suspect_instances));
  // With other records (an empty file) the finding changes: it is the attester's.
  const plain = run([
    'vendor',
    'report',
    'verify',
    '--home',
    V,
    '--attester-db',
    `sqlite:${join(dir, 'empty-attester.db')}`,
    rep,
  ]);
  assert.equal(plain.code, 1, 'an empty record vouches for nobody');

  // The same report file uploaded on the Usage reports page of `charter vendor serve` on the same
  // vendor home, in Chromium: the portal reads the attester's records (HOME/attester.db, where the
  // attester writes, by default) and lists the same instances, under a heading that says so.
  const added = await runCaptured(
    ['vendor', 'user', 'add', '--home', V, '--email', ADMIN, '--role', 'admin', '--json'],
    {
      ...process.env,
      CHARTER_PASSPHRASE: 'e2e passphrase',
      CHARTER_ACTOR: 'e2e',
      CHARTER_PASSWORD: PASSWORD,
    },
  );
  assert.equal(added.code, 0, added.stderr);
  const browser = await launchChromium();
  try {
    const portal = await startPortalProcess(V);
    let stopped: number | undefined;
    try {
      const { verdict, heading, page, pageErrors } = await verifyOnPortal(browser, portal.url, [rep]);
      assert.equal(verdict.ok, false);
      assert.deepEqual(verdict.unvouched, v.json.unvouched, 'the portal lists what the CLI lists');
      const portalIds = (verdict.unvouched ?? []).map((u) => u.instance_id);
      assert.deepEqual(portalIds, ids);
      assert.ok(portalIds.includes(admitted.body.instance_id), 'the clone is listed');
      assert.ok(!portalIds.includes(vouched.body.instance_id), 'the vouched device is not');
      assert.ok((verdict.unvouched ?? []).every((u) => u.source === 'attester'));
      // The site requires the attester (`--attestation-source attester`): the heading says so.
      const title = 'The site admitted instances the vendor attester never vouched for';
      assert.equal(await text(heading), title);
      const region = page.getByRole('region', { name: title });
      const listed = await region.getByRole('listitem').allInnerTexts();
      // Only the unvouched lines (the report may show other findings too, each on its own line).
      assert.deepEqual(
        listed.filter((l) => l.startsWith('Never vouched for by the vendor attester')),
        (verdict.unvouched ?? []).map(
          (u) =>
            `Never vouched for by the vendor attester: instance ${u.instance_id} of Beta Ward at Hospital A (key ${u.jkt})`,
        ),
        'each unvouched instance is listed, by site and app name',
      );
      assert.ok(
        !listed.some((l) => l.startsWith('Never vouched') && l.includes(vouched.body.instance_id)),
        'the vouched device is not listed as unvouched',
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      stopped = await portal.stop();
    }
    assert.equal(stopped, 0, `the portal stopped cleanly: ${portal.stderr()}`);

    // `--attester-db` names other records: an empty one vouches for nobody, as with the CLI.
    const other = await startPortalProcess(V, ['--attester-db', `sqlite:${join(dir, 'empty-attester.db')}`]);
    try {
      const { verdict, pageErrors } = await verifyOnPortal(browser, other.url, [rep]);
      assert.deepEqual(verdict.unvouched, plain.json.unvouched, 'the portal reads the named records');
      assert.ok(
        (verdict.unvouched ?? []).some((u) => u.instance_id === vouched.body.instance_id),
        'the device the real attester vouched for is unvouched by the empty records',
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      stopped = await other.stop();
    }
    assert.equal(stopped, 0, `the portal stopped cleanly: ${other.stderr()}`);
  } finally {
    await browser.close();
  }
});

test('the SDK retries an unreachable or busy attester, then says so clearly', async () => {
  // A port nothing listens on, then an attester that answers 503 twice before it recovers.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
  await new Promise((r) => closed.close(r));
  const unreachable = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
    attester: { url: closedUrl, siteId: site, attempts: 3, retryDelayMs: 10 },
  });
  await assert.rejects(unreachable.fetch('/orders'), (e: CharterError) => {
    assert.equal(e.code, 'unavailable');
    assert.equal(e.detail, 'ERR_CLIENT_ATTESTER_UNREACHABLE');
    assert.match(e.message, /after 3 attempt/);
    return true;
  });
  let busy = 0;
  const flaky = createServer(async (req, res) => {
    if (busy++ < 2)
      return res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
    let body = '';
    for await (const c of req) body += c;
    const r = await fetch(`${attester.url}${req.url}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(req.headers.dpop ? { dpop: String(req.headers.dpop) } : {}),
      },
      body,
    });
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text());
  });
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  try {
    const port = (flaky.address() as { port: number }).port;
    // The proofs must name the attester's own URL, so the relay keeps the path and the attester its
    // public URL: the relay only delays. A proof naming the relay's URL is refused by the attester.
    const client = createCharterClient({
      baseUrl: gw.info.url,
      charter: wardCharter,
      platform: 'android',
      attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
      attester: { url: `http://127.0.0.1:${port}`, siteId: site, attempts: 3, retryDelayMs: 10 },
    });
    await assert.rejects(client.fetch('/orders'), (e: CharterError) => e.code === 'invalid_dpop_proof');
    assert.ok(busy >= 3, 'the busy answers were retried');
  } finally {
    flaky.close();
  }
});

test('the license decides who attests: "either" takes both, on_prem refuses attester tokens', async () => {
  await gw.stop();
  const either = await issueLicense('either.license', ['--attestation-source', 'either']);
  gw = await startGatewayProcess(gatewayArgs(either));
  const { token, key } = await attesterToken();
  assert.equal((await register(key, token)).status, 200);
  const onDevice = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
  });
  assert.equal((await onDevice.fetch('/orders')).status, 200);
  await gw.stop();
  const onPrem = await issueLicense('onprem.license', ['--attestation-source', 'on_prem']);
  gw = await startGatewayProcess(gatewayArgs(onPrem));
  const t = await attesterToken();
  const r = await register(t.key, t.token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'invalid_attestation');
});

test('an SDK not told of the attester finds it in /.well-known/charter, from the license', async () => {
  await gw.stop();
  const named = await issueLicense('named.license', [
    '--attestation-source',
    'attester',
    '--attester-url',
    attester.url,
  ]);
  gw = await startGatewayProcess(gatewayArgs(named));
  const wk = await (await fetch(`${gw.info.url}/.well-known/charter`)).json();
  assert.deepEqual(wk.attestation, { source: 'attester', attester_url: attester.url });
  const client = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    attestationProvider: androidAttestationProvider(pixel.module, memoryStorage()),
  });
  assert.equal((await client.fetch('/orders')).status, 200);
  // A clone finds the attester too, and the attester refuses it.
  const clone = createCharterClient({
    baseUrl: gw.info.url,
    charter: wardCharter,
    platform: 'android',
    keyStore: new MemoryKeyStore(),
  });
  await assert.rejects(
    clone.fetch('/orders'),
    (e: CharterError) => e.code === 'attestation_required' && e.detail === 'ERR_CLIENT_ATTESTER_REFUSED',
  );
});
