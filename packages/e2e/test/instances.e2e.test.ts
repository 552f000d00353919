/**
 * Identity comes from the instance, not from the token alone (issue 10, items 2, 3, 7, 8), played
 * against the real `charter gateway start` process with the real `charter vendor` commands:
 * - tokens minted with the token key read out of the gateway's own database (no registration, a
 *   scope the charter never had, a ten-year lifetime, an instance row written by hand) are refused,
 *   and the row written by hand shows in the usage report that `vendor report verify` flags, and
 *   that the portal's Usage reports screen lists (in Chromium, against `charter vendor serve`);
 * - clones that registered only because the license said monitor are refused once it says enforce,
 *   until they register again;
 * - a license revoking an attestation certificate cuts off the device registered under it at once;
 * - one key is one instance; a revoked instance's key cannot register again; registrations are
 *   rate-limited per address and per charter.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestAttestationAuthority } from '@charter/attest/testing';
import { runCaptured } from '@charter/cli';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { type InstanceKeys, makeInstanceKey, makeProof, SpecClient } from '../../gateway/test/helpers.ts';
import { launchChromium, signIn, text } from '../../portal/test/browser-helpers.ts';
import { run, type Started, startGatewayProcess, startPortalProcess } from './processes.ts';
import { charter, makeWorld, type World } from './world.ts';

const PACKAGE = 'com.beta.ward';
const PASSWORD = 'correct horse battery staple';
const DIGEST = createHash('sha256').update('beta ward release certificate').digest('hex');
const device = createTestAttestationAuthority();

let world: World;
let ward: { app_id: string; charter: string; charter_id: string };
/** A second server app of the same publisher. */
let other: { app_id: string; charter: string };
const running: Started[] = [];

before(async () => {
  world = await makeWorld(['orders']);
  const { publisher_id } = await charter(
    'vendor',
    'publisher',
    'add',
    '--home',
    world.V,
    '--name',
    'Ward Apps',
  );
  const sub = await charter(
    'vendor',
    'app',
    'submit',
    '--home',
    world.V,
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
  const file = join(world.dir, 'ward.charter');
  const a = await charter(
    'vendor',
    'app',
    'approve',
    '--home',
    world.V,
    sub.submission_id,
    '--ttl',
    '30d',
    '--out',
    file,
  );
  ward = { app_id: sub.app_id, charter: readFileSync(file, 'utf8'), charter_id: a.charter_id };
  const sub2 = await charter(
    'vendor',
    'app',
    'submit',
    '--home',
    world.V,
    '--publisher',
    publisher_id,
    '--name',
    'Beta Other',
    '--scopes',
    'orders:read',
    '--server',
  );
  const file2 = join(world.dir, 'other.charter');
  await charter(
    'vendor',
    'app',
    'approve',
    '--home',
    world.V,
    sub2.submission_id,
    '--ttl',
    '30d',
    '--out',
    file2,
  );
  other = { app_id: sub2.app_id, charter: readFileSync(file2, 'utf8') };
  writeFileSync(join(world.dir, 'device-root.pem'), device.rootPem);
  writeFileSync(
    join(world.dir, 'routes.json'),
    JSON.stringify([
      { method: 'GET', path: '/orders*', scope: 'orders:read' },
      { method: 'POST', path: '/orders*', scope: 'orders:write' },
      { method: 'GET', path: '/admin*', scope: 'orders:admin' },
    ]),
  );
});

after(async () => {
  for (const g of running) await g.stop().catch(() => {});
  await world.close();
});

const orders = () => world.apps.orders as { app_id: string; charter: string; charter_id: string };

/** A fresh site (bound to the activation of its gateway home) and a way to issue its licenses. */
async function site(name: string) {
  const G = join(world.dir, `${name}-G`);
  const { site_id } = await charter('vendor', 'site', 'add', '--home', world.V, '--name', name);
  const request = join(world.dir, `${name}-request.jwt`);
  const act = run(['gateway', 'activate', '--home', G, '--site', site_id, '--out', request]);
  assert.equal(act.code, 0, act.stderr);
  let n = 0;
  const issue = async (extra: string[] = []) => {
    n += 1;
    const file = join(world.dir, `${name}-${n}.license`);
    await charter(
      'vendor',
      'license',
      'issue',
      '--home',
      world.V,
      '--site',
      site_id,
      '--apps',
      `${orders().app_id},${ward.app_id},${other.app_id}`,
      '--ttl',
      '30d',
      '--activation',
      request,
      '--attestation-root',
      join(world.dir, 'device-root.pem'),
      '--out',
      file,
      ...extra,
    );
    return file;
  };
  const start = async (license: string) => {
    const gw = await startGatewayProcess([
      '--home',
      G,
      '--license',
      license,
      '--upstream',
      world.api.url,
      '--listen',
      '127.0.0.1:0',
      '--trust',
      join(world.dir, 'trust.json'),
      '--routes',
      join(world.dir, 'routes.json'),
    ]);
    running.push(gw);
    return gw;
  };
  const install = async (license: string, gw: Started) => {
    const r = run([
      'gateway',
      'license',
      'install',
      '--home',
      G,
      license,
      '--trust',
      join(world.dir, 'trust.json'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const payload = readFileSync(license, 'utf8').split('.')[1] as string;
    const serial = JSON.parse(Buffer.from(payload, 'base64url').toString()).serial as number;
    // The running gateway picks it up from the store within a second.
    for (let i = 0; i < 50; i++) {
      const wk = (await (await fetch(`${gw.info.url}/.well-known/charter`)).json()) as {
        license_serial: number;
      };
      if (wk.license_serial === serial) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('the running gateway did not pick up the license');
  };
  return { G, site_id, issue, start, install };
}

/** An Android instance key attested by the test device for the ward app, registered through `base`. */
async function androidInstance(base: string, opts: { attest?: boolean; origin?: string } = {}) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, x, y } = pair.publicKey.export({ format: 'jwk' });
  const key: InstanceKeys = {
    alg: 'ES256',
    privateKey: pair.privateKey as unknown as CryptoKey,
    jwk: { kty: 'EC', crv: crv as string, x: x as string, y: y as string },
  };
  const client = new SpecClient(base, key);
  const register = async () => {
    const nonce = await client.challenge();
    const body: Record<string, unknown> = { charter: ward.charter, platform: 'android' };
    if (opts.attest !== false) {
      const { x5c } = device.attest({
        publicKey: pair.publicKey,
        challenge: createHash('sha256').update(nonce, 'ascii').digest(),
        packageName: PACKAGE,
        signingCertDigests: [DIGEST],
      });
      body.attestation = { fmt: 'android-key', x5c };
    }
    const proof = await makeProof(key, { htm: 'POST', htu: `${base}/charter/v1/register`, nonce });
    return client.register(ward.charter, 'android', { proof, body });
  };
  return { client, key, register };
}

/** Sign an access token with the site token key read out of the gateway's database, as its owner can. */
function forge(G: string, gw: Started, site_id: string) {
  const db = new Database(join(G, 'gateway.db'), { readonly: true });
  const row = db.prepare("SELECT value FROM secrets WHERE name = 'token-key'").get() as { value: Buffer };
  db.close();
  const key = createPrivateKey({ key: row.value, format: 'der', type: 'pkcs8' });
  return (claims: Record<string, unknown>) =>
    new SignJWT({
      iss: gw.info.public_url,
      aud: `urn:charter:site:${site_id}`,
      jti: `at_${randomUUID()}`,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86400,
      ...claims,
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .sign(key);
}

async function jktOf(key: InstanceKeys): Promise<string> {
  const { calculateJwkThumbprint } = await import('jose');
  return calculateJwkThumbprint(key.jwk, 'sha256');
}

test('item 2: tokens minted from the gateway database are refused unless the instance behind them holds up', async () => {
  const s = await site('forge');
  const gw = await s.start(await s.issue());
  const base = gw.info.url as string;
  const sign = forge(s.G, gw, s.site_id);
  const attacker = await makeInstanceKey('ES256');
  const clone = new SpecClient(base, attacker);
  const claimsFor = async (over: Record<string, unknown>) => ({
    sub: 'ins_forged',
    client_id: orders().app_id,
    app_id: orders().app_id,
    publisher_id: 'pub_x',
    charter_id: 'chr_none',
    scope: 'orders:read orders:write orders:admin',
    cnf: { jkt: await jktOf(attacker) },
    ...over,
  });
  const seenBefore = world.api.seen.length;

  // No charter, no registration, a scope the charter never had, ten years: all refused.
  const noInstance = await clone.call('GET', '/admin/users', { token: await sign(await claimsFor({})) });
  assert.equal(noInstance.status, 401, JSON.stringify(noInstance.body));
  assert.equal(noInstance.body.error, 'invalid_token');

  // The attacker registers a genuine instance of the app, then widens its own token.
  assert.equal((await clone.register(orders().charter, 'server')).status, 200);
  const own = { sub: clone.instanceId, charter_id: orders().charter_id, publisher_id: undefined as unknown };
  const db = new Database(join(s.G, 'gateway.db'), { readonly: true });
  own.publisher_id = (
    db.prepare('SELECT publisher_id FROM instances WHERE instance_id = ?').get(clone.instanceId) as {
      publisher_id: string;
    }
  ).publisher_id;
  db.close();
  const soon = () => Math.floor(Date.now() / 1000) + 200;
  const widened = await clone.call('GET', '/admin/users', {
    token: await sign(await claimsFor({ ...own, exp: soon() })),
  });
  assert.equal(widened.status, 401, 'a scope the charter never had');
  assert.equal(widened.body.error, 'invalid_token');
  const tenYears = await clone.call('GET', '/orders/1', {
    token: await sign(await claimsFor({ ...own, scope: 'orders:read' })),
  });
  assert.equal(tenYears.status, 401, 'a lifetime past the license token TTL');
  // Someone else's key in cnf, on the attacker's instance: refused too.
  const other = await makeInstanceKey('ES256');
  const foreignKey = await new SpecClient(base, other).call('GET', '/orders/1', {
    token: await sign(
      await claimsFor({
        ...own,
        scope: 'orders:read',
        exp: Math.floor(Date.now() / 1000) + 200,
        cnf: { jkt: await jktOf(other) },
      }),
    ),
  });
  assert.equal(foreignKey.status, 401);
  // The same token shape with the scope and lifetime the gateway would have issued: that one is
  // indistinguishable from a real one, and the instance is genuine.
  const fair = await clone.call('GET', '/orders/1', {
    token: await sign(
      await claimsFor({
        ...own,
        scope: 'orders:read orders:write',
        exp: Math.floor(Date.now() / 1000) + 200,
      }),
    ),
  });
  assert.equal(fair.status, 200, JSON.stringify(fair.body));
  const upstreamSaw = world.api.seen.slice(seenBefore);
  assert.equal(upstreamSaw.length, 1, 'only the fair request reached upstream');
  assert.equal(upstreamSaw[0]?.headers['charter-scope'], 'orders:read orders:write');

  // A row written into the store by hand: an android instance of the ward app claiming attestation,
  // with no evidence, for the attacker's key — refused per request.
  const rw = new Database(join(s.G, 'gateway.db'));
  const insert = rw.prepare(
    `INSERT INTO instances (instance_id, app_id, charter_id, publisher_id, platform, jkt, scopes, attested, charter_exp, created_at, attestation_state, charter, waived, evidence)
     VALUES (?, ?, ?, ?, 'android', ?, '["orders:read"]', 1, ?, ?, ?, ?, NULL, ?)`,
  );
  const wardClaims = JSON.parse(Buffer.from(ward.charter.split('.')[1] as string, 'base64url').toString());
  const t = Math.floor(Date.now() / 1000);
  insert.run(
    'ins_handmade',
    ward.app_id,
    ward.charter_id,
    wardClaims.publisher.id,
    await jktOf(attacker),
    wardClaims.exp,
    t,
    null,
    ward.charter,
    null,
  );
  const other2 = await makeInstanceKey('ES256');
  insert.run(
    'ins_handmade2',
    ward.app_id,
    ward.charter_id,
    wardClaims.publisher.id,
    await jktOf(other2),
    wardClaims.exp,
    t,
    '{"fmt":"android-key"}',
    ward.charter,
    'A'.repeat(43),
  );
  rw.prepare(
    `INSERT INTO instances (instance_id, app_id, charter_id, publisher_id, platform, jkt, scopes, attested, charter_exp, created_at)
     VALUES ('ins_nocharter', ?, ?, ?, 'server', ?, '["orders:read"]', 0, ?, ?)`,
  ).run(orders().app_id, orders().charter_id, own.publisher_id, 'x'.repeat(43), t + 86400, t);
  rw.close();
  const wardToken = (sub: string, jkt: string) =>
    sign({
      sub,
      client_id: ward.app_id,
      app_id: ward.app_id,
      publisher_id: wardClaims.publisher.id,
      charter_id: ward.charter_id,
      scope: 'orders:read',
      cnf: { jkt },
      exp: t + 200,
    });
  const handmade = await clone.call('GET', '/orders/1', {
    token: await wardToken('ins_handmade', await jktOf(attacker)),
  });
  assert.equal(handmade.status, 403, JSON.stringify(handmade.body));
  assert.equal(handmade.body.error, 'invalid_attestation');
  const noCharter = await clone.call('GET', '/orders/1', {
    token: await sign({
      ...(await claimsFor({ ...own, sub: 'ins_nocharter', scope: 'orders:read', exp: t + 200 })),
      cnf: { jkt: 'x'.repeat(43) },
    }),
  });
  assert.equal(noCharter.status, 401);
  // With a made-up digest and verdict the row gets through here (forging rows is detected, not
  // prevented)…
  const faked = await new SpecClient(base, other2).call('GET', '/orders/1', {
    token: await wardToken('ins_handmade2', await jktOf(other2)),
  });
  assert.equal(faked.status, 200, JSON.stringify(faked.body));

  // …and both rows reach the vendor in the usage report, where `report verify` flags them.
  assert.equal(await gw.stop(), 0);
  running.splice(running.indexOf(gw), 1);
  const reportFile = join(world.dir, 'forge-report.jwt');
  const exported = run(['gateway', 'report', 'export', '--home', s.G, '--out', reportFile]);
  assert.equal(exported.code, 0, exported.stderr);
  const verify = run(['vendor', 'report', 'verify', '--home', world.V, reportFile]);
  assert.equal(verify.code, 1, verify.stdout);
  const suspects = verify.json.suspect_instances as {
    instance_id: string;
    app_id: string;
    problem: string;
  }[];
  assert.ok(
    suspects.some((x) => x.instance_id === 'ins_handmade' && /no attestation evidence/.test(x.problem)),
    JSON.stringify(suspects),
  );
  assert.ok(
    suspects.some((x) => x.instance_id === 'ins_handmade2' && /verdict is incomplete/.test(x.problem)),
    JSON.stringify(suspects),
  );
  assert.ok(!suspects.some((x) => x.instance_id === clone.instanceId), 'the genuine instance is not flagged');

  // The same report file uploaded on the portal's Usage reports screen, in Chromium: the page lists
  // each suspect instance with its problem (site and app by name), under a heading that says so.
  const added = await runCaptured(
    [
      'vendor',
      'user',
      'add',
      '--home',
      world.V,
      '--email',
      'admin@acme.example',
      '--role',
      'admin',
      '--json',
    ],
    {
      ...process.env,
      CHARTER_PASSPHRASE: 'e2e passphrase',
      CHARTER_ACTOR: 'e2e',
      CHARTER_PASSWORD: PASSWORD,
    },
  );
  assert.equal(added.code, 0, added.stderr);
  const portal = await startPortalProcess(world.V);
  const browser = await launchChromium();
  let stopped: number | undefined;
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await signIn(page, portal.url, 'admin@acme.example', PASSWORD);
    await page.getByRole('link', { name: 'Usage reports' }).click();
    await page.getByLabel('Report files (charter-report+jwt)').setInputFiles([reportFile]);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${portal.url}/api/admin/reports`),
      page.getByRole('button', { name: 'Verify reports' }).click(),
    ]);
    assert.equal(answer.status(), 200, await answer.text());
    const { verdict } = (await answer.json()) as { verdict: { ok: boolean; suspect_instances: unknown[] } };
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.suspect_instances, suspects, 'the portal reads the report as the CLI does');
    // The verdict's heading says which kind of problem it is (as `vendor report verify` does).
    const heading = page.locator('#verdict-h');
    await heading.waitFor({ timeout: 10_000 });
    assert.equal(await text(heading), 'Instances whose evidence does not hold up');
    const region = page.getByRole('region', { name: 'Instances whose evidence does not hold up' });
    const listed = await region.getByRole('listitem').allInnerTexts();
    for (const x of suspects) {
      const name =
        x.app_id === ward.app_id ? 'Beta Ward' : x.app_id === orders().app_id ? 'orders' : x.app_id;
      assert.ok(
        listed.includes(`Suspect instance ${x.instance_id} of ${name} at forge: ${x.problem}`),
        `${x.instance_id} is listed with its problem, by site and app name: ${JSON.stringify(listed)}`,
      );
    }
    assert.ok(
      listed.includes(
        'Suspect instance ins_handmade of Beta Ward at forge: it claims hardware attestation but carries no attestation evidence',
      ),
      JSON.stringify(listed),
    );
    assert.ok(!listed.some((l) => l.includes(clone.instanceId)), 'the genuine instance is not listed');
    assert.match(await text(region), /written into the gateway’s store by hand/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    stopped = await portal.stop();
  }
  assert.equal(stopped, 0, `the portal stopped cleanly: ${portal.stderr()}`);
});

test('item 3: clones registered under a monitor license are refused once it says enforce, until they register again', async () => {
  const s = await site('pilot');
  const gw = await s.start(await s.issue(['--mode', 'monitor']));
  const base = gw.info.url as string;
  const androidClone = await androidInstance(base, { attest: false });
  assert.equal((await androidClone.register()).status, 200, 'monitor lets the unattested clone register');
  const webClone = new SpecClient(base, await makeInstanceKey('ES256'));
  assert.equal(
    (await webClone.register(orders().charter, 'web', { origin: 'https://clone.example' })).status,
    200,
  );
  const honest = new SpecClient(base, await makeInstanceKey('ES256'));
  assert.equal(
    (await honest.register(orders().charter, 'web', { origin: 'https://app.example' })).status,
    200,
  );
  for (const c of [androidClone.client, webClone, honest]) {
    assert.equal((await c.token()).status, 200);
    assert.equal((await c.call('GET', '/orders/1')).status, 200);
  }

  const enforce = await s.issue(['--mode', 'enforce']);
  await s.install(enforce, gw);
  // Per request, with the tokens they already hold…
  const a = await androidClone.client.call('GET', '/orders/1');
  assert.equal(a.status, 403, JSON.stringify(a.body));
  assert.equal(a.body.error, 'attestation_required');
  const w = await webClone.call('GET', '/orders/1');
  assert.equal(w.status, 403);
  assert.equal(w.body.error, 'platform_mismatch');
  // …and at the token endpoint.
  assert.equal((await androidClone.client.token()).body.error, 'attestation_required');
  assert.equal((await webClone.token()).body.error, 'platform_mismatch');
  // The honest instance is unaffected.
  assert.equal((await honest.call('GET', '/orders/1')).status, 200);
  assert.equal((await honest.token()).status, 200);

  // A restart changes nothing: the waivers are stored with the instances.
  assert.equal(await gw.stop(), 0);
  running.splice(running.indexOf(gw), 1);
  const again = await s.start(enforce);
  const base2 = again.info.url as string;
  const web2 = Object.assign(new SpecClient(base2, webClone.key), { instanceId: webClone.instanceId });
  assert.equal((await web2.token()).body.error, 'platform_mismatch');
  const android2 = Object.assign(new SpecClient(base2, androidClone.key), {
    instanceId: androidClone.client.instanceId,
  });
  assert.equal((await android2.token()).body.error, 'attestation_required');
  // Registering again, now under enforce, with what the charter asks: the same instance, admitted.
  const id = web2.instanceId;
  assert.equal(
    (await web2.register(orders().charter, 'web', { origin: 'https://clone.example' })).body.error,
    'platform_mismatch',
  );
  const reg = await web2.register(orders().charter, 'web', { origin: 'https://app.example' });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));
  assert.equal(reg.body.instance_id, id, 'one key is one instance');
  assert.equal((await web2.token()).status, 200);
  assert.equal((await web2.call('GET', '/orders/1')).status, 200);
});

test('item 7: a license revoking an attestation certificate cuts off the device registered under it at once', async () => {
  const s = await site('revoked-cert');
  const gw = await s.start(await s.issue());
  const base = gw.info.url as string;
  const phone = await androidInstance(base);
  const reg = await phone.register();
  assert.equal(reg.status, 200, JSON.stringify(reg.body));
  assert.equal((await phone.client.token()).status, 200);
  assert.equal((await phone.client.call('GET', '/orders/1')).status, 200);
  // Google revokes the device's attestation batch certificate; the vendor passes it on in the license.
  const { x5c } = device.attest({
    challenge: Buffer.alloc(32),
    packageName: PACKAGE,
    signingCertDigests: [DIGEST],
  });
  const batchSerial = new X509Certificate(Buffer.from(x5c[1] as string, 'base64')).serialNumber;
  await s.install(await s.issue(['--android-revoked', batchSerial.toLowerCase()]), gw);
  const cut = await phone.client.call('GET', '/orders/1');
  assert.equal(cut.status, 403, JSON.stringify(cut.body));
  assert.equal(cut.body.error, 'invalid_attestation');
  assert.equal((await phone.client.token()).body.error, 'invalid_attestation');
  // And a new registration with that chain is refused, as before.
  assert.equal((await (await androidInstance(base)).register()).body.error, 'invalid_attestation');
});

test('item 8: one key is one instance, a revoked key stays out, registrations are rate-limited', async () => {
  const s = await site('register');
  const gw = await s.start(await s.issue());
  const base = gw.info.url as string;
  const client = new SpecClient(base, await makeInstanceKey('ES256'));
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const r = await client.register(orders().charter, 'server');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids.add(r.body.instance_id as string);
  }
  assert.equal(ids.size, 1, 'five registrations of one key are one instance');
  // The vendor revokes that instance; its key cannot register its way back.
  await charter('vendor', 'revoke', '--home', world.V, '--instance', client.instanceId, '--reason', 'clone');
  await s.install(await s.issue(), gw);
  const back = await client.register(orders().charter, 'server');
  assert.equal(back.status, 403, JSON.stringify(back.body));
  assert.equal(back.body.error, 'instance_revoked');
  assert.equal(back.body.instance_id, undefined);
  // Nor as another app.
  const asOther = await client.register(other.charter, 'server');
  assert.equal(asOther.status, 403, JSON.stringify(asOther.body));
  assert.equal(asOther.body.error, 'instance_revoked');
  // A key that was never revoked registers as both apps: one instance per app.
  const both = new SpecClient(base, await makeInstanceKey('ES256'));
  const one = await both.register(orders().charter, 'server');
  const two = await both.register(other.charter, 'server');
  assert.equal(one.status, 200);
  assert.equal(two.status, 200);
  assert.notEqual(one.body.instance_id, two.body.instance_id);
});

test('item 8: registrations per charter are limited by the license', async () => {
  const s = await site('per-charter');
  const gw = await s.start(
    await s.issue(['--register-rate-per-charter', '3', '--register-rate-per-address', '1000']),
  );
  const base = gw.info.url as string;
  // Limits count per minute window of the gateway's (real) clock: start where the five
  // registrations cannot straddle a boundary, which would reset the count and let a fourth through.
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((r) => setTimeout(r, left + 200));
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++)
    statuses.push(
      (await new SpecClient(base, await makeInstanceKey()).register(orders().charter, 'server')).status,
    );
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  // Another charter still registers (the limit is per charter).
  const w = await androidInstance(base);
  assert.equal((await w.register()).status, 200);
});

test('item 8: thirty registrations in a row from one address hit the default limit', async () => {
  const s = await site('flood');
  const gw = await s.start(await s.issue());
  const base = gw.info.url as string;
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await new SpecClient(base, await makeInstanceKey()).register(orders().charter, 'server');
    statuses.push(r.status);
    if (r.status !== 200) assert.equal(r.body.error, 'rate_limited');
  }
  assert.ok(statuses.includes(429), statuses.join(' '));
  assert.ok(statuses.filter((x) => x === 200).length <= 20, statuses.join(' '));
});
