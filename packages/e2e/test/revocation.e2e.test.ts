/**
 * Revocation reaches a running site at once, with real processes: `charter gateway start` (two
 * replicas on one home), the real `charter vendor` and `charter gateway license install` commands,
 * and a real client. Revoking a site's only app and installing the renewal (no --apps) or a revocation
 * update (`charter-revocations+jwt`) cuts off registered instances and their live tokens; older
 * updates, updates for another site, signed by another key, or revoking less are refused.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import {
  generateVendorKey,
  importPrivateKey,
  type RevocationsClaims,
  signKeyDelegation,
  signRevocations,
} from '@charter/core';
import Database from 'better-sqlite3';
import { run, type Started, startGatewayProcess } from './processes.ts';
import { charter, makeWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await makeWorld(['orders', 'billing', 'third', 'fourth']);
});
after(() => world.close());

const trustArgs = () => ['--trust', join(world.dir, 'trust.json')];
const startArgs = (G: string, license: string) => [
  '--home',
  G,
  '--license',
  license,
  '--upstream',
  world.api.url,
  '--listen',
  '127.0.0.1:0',
  ...trustArgs(),
];

/** A new site whose license admits only `app`; returns its id and first license file. */
async function siteWith(name: string, app: string): Promise<{ site: string; license: string; G: string }> {
  const { site_id } = await charter('vendor', 'site', 'add', '--home', world.V, '--name', name);
  const license = join(world.dir, `${name}-1.license`);
  await charter(
    'vendor',
    'license',
    'issue',
    '--home',
    world.V,
    '--site',
    site_id,
    '--apps',
    world.apps[app]?.app_id as string,
    '--ttl',
    '30d',
    '--out',
    license,
  );
  return { site: site_id, license, G: join(world.dir, `${name}-G`) };
}

function client(gw: Started, app: string) {
  return createCharterClient({
    baseUrl: gw.info.url,
    charter: world.apps[app]?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
}

/** What a protected call answers now: 200, or the refusal code (thrown or in the body). */
async function outcome(c: ReturnType<typeof client>): Promise<string> {
  try {
    const res = await c.fetch('/orders');
    if (res.status === 200) return '200';
    return ((await res.json()) as { error: string }).error;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** Wait until `check` holds (the gateways poll the store every second), at most 3 s. */
async function within3s(check: () => Promise<boolean>, what: string): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < 3000) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within 3 s: ${what}`);
}

/** A gateway log line: a protected request with a valid token and proof, refused for the revocation. */
const LIVE_TOKEN_REFUSED =
  /"endpoint":"protected"[^\n]*"outcome":"refused"[^\n]*"instance_id":"[^"]+"[^\n]*"code":"(charter_revoked|app_not_admitted)"/;

function install(G: string, file: string) {
  return run(['gateway', 'license', 'install', '--home', G, ...trustArgs(), file]);
}

test('a revocation update cuts the only app off at two running replicas at once, and survives a restart', async () => {
  const s = await siteWith('update', 'orders');
  // Metrics live on the operations listener only (issue 10 item 13).
  const a = await startGatewayProcess([...startArgs(s.G, s.license), '--metrics-listen', '127.0.0.1:0']);
  const b = await startGatewayProcess(startArgs(s.G, s.license));
  const ca = client(a, 'orders');
  const cb = client(b, 'orders');
  try {
    assert.equal(await outcome(ca), '200');
    assert.equal(await outcome(cb), '200');

    const revoked = await charter(
      'vendor',
      'revoke',
      '--home',
      world.V,
      '--app',
      world.apps.orders?.app_id as string,
      '--reason',
      'contract ended',
    );
    assert.ok(revoked.sites.includes(s.site), 'revoke names the sites that need it');
    const file = join(world.dir, 'update.revocations');
    const u = await charter(
      'vendor',
      'revocations',
      'issue',
      '--home',
      world.V,
      '--site',
      s.site,
      '--out',
      file,
    );
    assert.equal(u.serial, 2);
    assert.equal(u.license_serial, 1);
    const inspected = run(['license', 'inspect', file, ...trustArgs()]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.deepEqual(
      [inspected.json.kind, inspected.json.serial, inspected.json.verified],
      ['revocations', 2, true],
    );
    // Not installed yet: still admitted (so what follows is the update's doing).
    assert.equal(await outcome(ca), '200');
    const r = install(s.G, file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.kind, 'revocations');
    assert.equal(r.json.installed, true);
    await within3s(async () => (await outcome(ca)) === 'charter_revoked', 'replica A refuses');
    await within3s(async () => (await outcome(cb)) === 'charter_revoked', 'replica B refuses');
    // The refusals came on the API path with the token issued before the revocation (the proof and
    // token verified, then the revocation refused): live tokens stop at once, not when they expire.
    assert.match(a.stderr(), LIVE_TOKEN_REFUSED);
    assert.match(b.stderr(), LIVE_TOKEN_REFUSED);
    // A fresh registration is refused too.
    assert.equal(await outcome(client(a, 'orders')), 'charter_revoked');
    assert.match(a.stderr(), /admits no apps/);
    const metrics = await (await fetch(a.info.metrics_url)).text();
    assert.match(metrics, /charter_revocations_serial 2/);
    // Re-installing is a no-op; restarting with the old license file keeps the update in force.
    assert.equal(install(s.G, file).json.installed, false);
  } finally {
    await a.stop();
    await b.stop();
  }
  const again = await startGatewayProcess(startArgs(s.G, s.license));
  try {
    assert.equal(await outcome(client(again, 'orders')), 'charter_revoked');
  } finally {
    await again.stop();
  }
  // The next usage report says which update is installed.
  const rep = join(world.dir, 'update.report');
  assert.equal(run(['gateway', 'report', 'export', '--home', s.G, '--out', rep]).code, 0);
  const claims = JSON.parse(
    Buffer.from(readFileSync(rep, 'utf8').split('.')[1] as string, 'base64url').toString(),
  );
  assert.equal(claims.revocations_serial, 2);
  assert.equal(claims.license_serial, 1);
});

test('the renewal (license issue without --apps) drops the revoked only app and cuts it off at once', async () => {
  const s = await siteWith('renewal', 'billing');
  const gw = await startGatewayProcess(startArgs(s.G, s.license));
  const c = client(gw, 'billing');
  try {
    assert.equal(await outcome(c), '200');
    const app = world.apps.billing?.app_id as string;
    await charter('vendor', 'revoke', '--home', world.V, '--app', app, '--reason', 'contract ended');
    // Naming the revoked app stays refused, and says what to run instead.
    const named = run([
      'vendor',
      'license',
      'issue',
      '--home',
      world.V,
      '--site',
      s.site,
      '--apps',
      app,
      '--ttl',
      '30d',
      '--out',
      join(world.dir, 'x.license'),
    ]);
    assert.equal(named.code, 1);
    assert.match(named.stderr, new RegExp(`charter vendor license issue --site ${s.site} --out FILE`));
    assert.match(named.stderr, new RegExp(`charter vendor revocations issue --site ${s.site} --out FILE`));
    const next = join(world.dir, 'renewal-2.license');
    const r = await charter('vendor', 'license', 'issue', '--home', world.V, '--site', s.site, '--out', next);
    assert.equal(r.serial, 2);
    assert.deepEqual(r.apps, []);
    assert.deepEqual(r.dropped, [app]);
    const inspect = run(['license', 'inspect', next, ...trustArgs()]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const i = install(s.G, next);
    assert.equal(i.code, 0, i.stderr);
    await within3s(async () => (await outcome(c)) !== '200', 'the renewal cuts the app off');
    assert.ok(['charter_revoked', 'app_not_admitted'].includes(await outcome(c)));
    assert.match(gw.stderr(), LIVE_TOKEN_REFUSED);
    assert.match(gw.stderr(), /license in force admits no apps: every app is refused \(app_not_admitted\)/);
    const wk = await (await fetch(`${gw.info.url}/.well-known/charter`)).json();
    assert.equal(wk.license_serial, 2);
  } finally {
    await gw.stop();
  }
  // A gateway starts on a license that admits nothing, and refuses every app.
  const fresh = await startGatewayProcess(startArgs(`${s.G}-fresh`, join(world.dir, 'renewal-2.license')));
  try {
    assert.equal(await outcome(client(fresh, 'billing')), 'charter_revoked');
    assert.equal(await outcome(client(fresh, 'fourth')), 'app_not_admitted');
    assert.match(fresh.stderr(), /admits no apps/);
  } finally {
    await fresh.stop();
  }
});

test('refused: an older update, one for another site, one signed by another key, one that revokes less', async () => {
  const s = await siteWith('refusals', 'third');
  const other = await siteWith('refusals-other', 'fourth');
  assert.equal(install(s.G, s.license).code, 0);
  const issue = async (site: string, name: string) => {
    const f = join(world.dir, name);
    await charter('vendor', 'revocations', 'issue', '--home', world.V, '--site', site, '--out', f);
    return f;
  };
  const older = await issue(s.site, 'refusals-a.revocations');
  const newer = await issue(s.site, 'refusals-b.revocations');
  const foreign = await issue(other.site, 'refusals-other.revocations');
  assert.equal(install(s.G, newer).code, 0);

  const refused = (file: string, detail: RegExp) => {
    const r = install(s.G, file);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json.error, 'license_invalid');
    assert.match(r.stderr, detail);
  };
  refused(older, /older than what is installed here/);
  refused(foreign, /for another site/);

  // Another key: a well-formed update for this site, delegated by a root the gateway does not trust.
  const claimsOf = (f: string) =>
    JSON.parse(
      Buffer.from(readFileSync(f, 'utf8').split('.')[1] as string, 'base64url').toString(),
    ) as RevocationsClaims;
  const base = claimsOf(newer);
  const rogueRoot = await generateVendorKey();
  const rogue = await generateVendorKey();
  const t = Math.floor(Date.now() / 1000);
  const rogueDelegation = await signKeyDelegation(
    { vendorId: 'acme', jwk: rogue.publicJwk, use: ['license'], nbf: t - 60, exp: t + 86400 },
    { kid: rogueRoot.publicJwk.kid, privateKey: rogueRoot.privateKey },
  );
  const rogueFile = join(world.dir, 'refusals-rogue.revocations');
  writeFileSync(
    rogueFile,
    await signRevocations(
      { ...base, jti: 'rvu_rogue', serial: base.serial + 10, keys: [rogueDelegation] },
      { kid: rogue.publicJwk.kid, privateKey: rogue.privateKey },
    ),
  );
  refused(rogueFile, /license_invalid/);

  // Revokes less: signed with the vendor's real license key (read from its database), serial newer.
  const db = new Database(join(world.V, 'vendor.db'), { readonly: true });
  const row = db
    .prepare(
      "SELECT kid, private_pkcs8 FROM signing_keys WHERE use = 'license' ORDER BY created_at DESC LIMIT 1",
    )
    .get() as { kid: string; private_pkcs8: Buffer };
  db.close();
  const vendorKey = { kid: row.kid, privateKey: importPrivateKey(row.private_pkcs8) };
  const sign = async (name: string, c: RevocationsClaims) => {
    const f = join(world.dir, name);
    writeFileSync(f, await signRevocations(c, vendorKey));
    return f;
  };
  assert.ok((base.revoked.apps ?? []).length > 0, 'the installed state revokes something');
  const less = await sign('refusals-less.revocations', {
    ...base,
    jti: 'rvu_less',
    serial: base.serial + 10,
    revoked: { ...base.revoked, apps: (base.revoked.apps ?? []).slice(1) },
  });
  refused(less, /revokes less than is in force/);
  // Tampering is refused by the signature.
  const [h, , sig] = readFileSync(newer, 'utf8').split('.');
  const edited = join(world.dir, 'refusals-edited.revocations');
  const loosened = { ...base, serial: base.serial + 20, revoked: {} };
  writeFileSync(edited, `${h}.${Buffer.from(JSON.stringify(loosened)).toString('base64url')}.${sig}`);
  refused(edited, /signature/);
  // The same signer and shape with the full set and a newer serial is accepted: it was the content refused above.
  const full = await sign('refusals-full.revocations', {
    ...base,
    jti: 'rvu_full',
    serial: base.serial + 10,
    revoked: { ...base.revoked, instances: ['ins_extra'] },
  });
  const ok = install(s.G, full);
  assert.equal(ok.code, 0, ok.stderr);
});

test('an older license installed after an update cannot lift its revocations', async () => {
  const s = await siteWith('between', 'fourth');
  const second = join(world.dir, 'between-2.license');
  // Licence 2 is issued before the revocation, but reaches the site only after the update.
  await charter('vendor', 'license', 'issue', '--home', world.V, '--site', s.site, '--out', second);
  await charter(
    'vendor',
    'revoke',
    '--home',
    world.V,
    '--app',
    world.apps.fourth?.app_id as string,
    '--reason',
    'abuse',
  );
  const update = join(world.dir, 'between.revocations');
  const u = await charter(
    'vendor',
    'revocations',
    'issue',
    '--home',
    world.V,
    '--site',
    s.site,
    '--out',
    update,
  );
  assert.equal(u.serial, 3);
  assert.equal(u.license_serial, 2);
  const gw = await startGatewayProcess(startArgs(s.G, s.license));
  const c = client(gw, 'fourth');
  try {
    assert.equal(await outcome(c), '200');
    assert.equal(install(s.G, update).code, 0);
    await within3s(async () => (await outcome(c)) === 'charter_revoked', 'the update cuts the app off');
    const i = install(s.G, second);
    assert.equal(i.code, 0, i.stderr);
    await within3s(
      async () => (await (await fetch(`${gw.info.url}/.well-known/charter`)).json()).license_serial === 2,
      'license 2 is loaded',
    );
    assert.equal(await outcome(c), 'charter_revoked', 'license 2 does not lift the newer update');
    assert.equal(await outcome(client(gw, 'fourth')), 'charter_revoked');
  } finally {
    await gw.stop();
  }
});
