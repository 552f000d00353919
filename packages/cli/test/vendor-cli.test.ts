/** The vendor's command line end to end: the SPEC §4 main flow, exit codes, records, keys and revocations. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  KeyRing,
  openSealedKey,
  parseTrustFile,
  type SealedKey,
  verifyCharter,
  verifyLicense,
} from '@charter/core';
import { commands } from '../src/registry.ts';
import { cli, exe, tempDir } from './run.ts';

async function ok(
  args: string[],
  env?: Record<string, string | undefined>,
): Promise<Record<string, unknown>> {
  const r = await cli([...args, '--json'], env);
  assert.equal(r.code, 0, `charter ${args.join(' ')} → ${r.code}\n${r.stderr}`);
  return r.json;
}

async function vendorWithApp(dir: string) {
  const V = join(dir, 'V');
  await ok(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme']);
  const { publisher_id } = await ok(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta Apps']);
  const sub = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id as string,
    '--name',
    'Beta Orders',
    '--scopes',
    'orders:read,orders:write',
    '--web-origin',
    'https://orders.beta.example',
  ]);
  const approved = await ok([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '180d',
    '--out',
    join(dir, 'beta.charter'),
  ]);
  const { site_id } = await ok(['vendor', 'site', 'add', '--home', V, '--name', 'Hospital A']);
  return {
    V,
    publisher_id: publisher_id as string,
    app_id: sub.app_id as string,
    charter_id: approved.charter_id as string,
    site_id: site_id as string,
  };
}

test('the SPEC §4 main flow, run as the real executable, yields a charter and a license that verify', async () => {
  const dir = tempDir();
  const run = (args: string[]) => {
    const r = exe([...args, '--json'], { cwd: dir });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one JSON object on stdout');
    return r.json;
  };
  const init = run(['vendor', 'init', '--home', 'V', '--vendor-id', 'acme', '--name', 'Acme']);
  assert.deepEqual(Object.keys(init).sort(), ['root_kid', 'vendor_id']);
  assert.equal(run(['vendor', 'export-trust', '--home', 'V', '--out', 'trust.json']).root_kid, init.root_kid);
  const { publisher_id } = run(['vendor', 'publisher', 'add', '--home', 'V', '--name', 'Beta Apps']);
  const sub = run([
    'vendor',
    'app',
    'submit',
    '--home',
    'V',
    '--publisher',
    publisher_id as string,
    '--name',
    'Beta Orders',
    '--scopes',
    'orders:read,orders:write',
    '--web-origin',
    'https://orders.beta.example',
    '--web-origin',
    'http://localhost:5173',
    '--android-package',
    'com.beta.orders',
    '--android-cert-sha256',
    'AB:CD:'.repeat(16).slice(0, -1),
    '--android-cert-sha256',
    'ef'.repeat(32),
    '--ios-team-id',
    'ABCDE12345',
    '--ios-bundle-id',
    'com.beta.orders',
    '--server',
    '--attestation',
    'optional',
  ]);
  const approved = run([
    'vendor',
    'app',
    'approve',
    '--home',
    'V',
    sub.submission_id as string,
    '--ttl',
    '180d',
    '--out',
    'beta.charter',
  ]);
  assert.equal(approved.app_id, sub.app_id);
  const { site_id } = run(['vendor', 'site', 'add', '--home', 'V', '--name', 'Hospital A']);
  const lic = run([
    'vendor',
    'license',
    'issue',
    '--home',
    'V',
    '--site',
    site_id as string,
    '--apps',
    sub.app_id as string,
    '--ttl',
    '365d',
    '--out',
    'a.license',
  ]);
  assert.equal(lic.serial, 1);

  const trust = await parseTrustFile(readFileSync(join(dir, 'trust.json'), 'utf8'));
  const license = await verifyLicense(readFileSync(join(dir, 'a.license'), 'utf8'), new KeyRing(trust));
  // The approved charter's web origins come along: the gateway's CORS allow-list.
  assert.deepEqual(license.claims.apps, [
    { app_id: sub.app_id, web_origins: ['https://orders.beta.example', 'http://localhost:5173'] },
  ]);
  assert.equal(license.claims.policy.mode, 'enforce');
  const charterText = readFileSync(join(dir, 'beta.charter'), 'utf8');
  assert.match(
    charterText,
    /^[\w-]+\.[\w-]+\.[\w-]+$/,
    'a .charter file holds the compact JWS and nothing else',
  );
  const charter = await verifyCharter(charterText, new KeyRing(trust, license.claims.keys));
  assert.equal(charter.claims.jti, approved.charter_id);
  assert.equal(charter.claims.exp, approved.exp);
  assert.deepEqual(charter.claims.platforms.android, {
    package_name: 'com.beta.orders',
    signing_cert_sha256: ['abcd'.repeat(16), 'ef'.repeat(32)],
  });
  assert.deepEqual(charter.claims.attestation, { android: 'optional', ios: 'optional' });
  assert.deepEqual(charter.claims.platforms.server, {});
  assert.equal(charter.claims.publisher.name, 'Beta Apps');

  const inspect = exe(['license', 'inspect', 'a.license', '--trust', 'trust.json'], { cwd: dir });
  assert.equal(inspect.code, 0);
  assert.match(inspect.stdout, /Serial 1/);
  assert.match(inspect.stdout, /verifies against the trust file/);
});

test('npx charter --help and every command’s --help work', async () => {
  const r = exe(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /charter vendor init/);
  for (const c of commands) {
    const h = await cli([...c.path, '--help']);
    assert.equal(h.code, 0, c.path.join(' '));
    assert.match(h.stdout, new RegExp(`charter ${c.path.join(' ')}`));
  }
});

test('exit codes: 2 for usage errors, 1 with a code for refused input', async () => {
  const dir = tempDir();
  const { V, app_id } = await vendorWithApp(dir);
  const usage = [
    ['vendor', 'bogus'],
    ['vendor', 'site', 'add', '--home', V],
    ['vendor', 'site', 'add', '--home', V, '--name', 'X', '--unknown'],
    ['vendor', 'app', 'approve', '--home', V, 'sub_x', '--ttl', 'soon', '--out', join(dir, 'x')],
    ['vendor', 'revoke', '--home', V, '--app', app_id, '--charter', 'chr_x', '--reason', 'r'],
    [
      'vendor',
      'license',
      'issue',
      '--home',
      V,
      '--site',
      's',
      '--apps',
      app_id,
      '--ttl',
      '1d',
      '--mode',
      'off',
      '--out',
      'x',
    ],
  ];
  for (const args of usage) assert.equal((await cli(args)).code, 2, args.join(' '));

  const refused: [string[], string][] = [
    [
      [
        'vendor',
        'app',
        'submit',
        '--home',
        V,
        '--publisher',
        'pub_nobody',
        '--name',
        'X',
        '--scopes',
        'a',
        '--server',
      ],
      'not_found',
    ],
    [
      ['vendor', 'app', 'submit', '--home', V, '--publisher', 'pub_nobody', '--name', 'X', '--scopes', 'a'],
      'not_found',
    ],
    [
      ['vendor', 'app', 'approve', '--home', V, 'sub_nope', '--ttl', '1d', '--out', join(dir, 'x')],
      'not_found',
    ],
    [['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Again'], 'conflict'],
    [
      [
        'vendor',
        'license',
        'issue',
        '--home',
        V,
        '--site',
        'site_nope',
        '--apps',
        app_id,
        '--ttl',
        '1d',
        '--out',
        join(dir, 'x'),
      ],
      'not_found',
    ],
    [['vendor', 'site', 'list', '--home', join(dir, 'empty')], 'not_found'],
  ];
  for (const [args, code] of refused) {
    const r = await cli([...args, '--json']);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.json.error, code, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('submissions with malformed bindings are refused with a clear reason', async () => {
  const dir = tempDir();
  const { V, publisher_id } = await vendorWithApp(dir);
  const base = [
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'X',
    '--scopes',
    'a:b',
  ];
  const cases: [string[], RegExp][] = [
    [['--android-package', 'com.x.y', '--android-cert-sha256', 'abc'], /not a SHA-256 certificate digest/],
    [['--android-package', 'com.x.y'], /at least one --android-cert-sha256/],
    [['--android-cert-sha256', 'ab'.repeat(32)], /--android-package/],
    [['--ios-team-id', 'short', '--ios-bundle-id', 'com.x.y'], /team-id/],
    [['--web-origin', 'https://x.example/path'], /not a web origin/],
    [['--web-origin', 'javascript:alert(1)'], /not a web origin/],
    [[], /at least one platform/],
  ];
  for (const [extra, reason] of cases) {
    const r = await cli([...base, ...extra]);
    assert.equal(r.code, 1, extra.join(' '));
    assert.match(r.stderr, reason);
  }
  const noScopes = await cli([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'X',
    '--scopes',
    ' , ',
    '--server',
  ]);
  assert.equal(noScopes.code, 1);
});

test('a decided submission cannot be decided again, and every decision is recorded with its actor', async () => {
  const dir = tempDir();
  const { V, publisher_id } = await vendorWithApp(dir);
  const sub = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Clone',
    '--scopes',
    'a:b',
    '--server',
  ]);
  await ok(
    ['vendor', 'app', 'reject', '--home', V, sub.submission_id as string, '--reason', 'copies another app'],
    { CHARTER_ACTOR: 'reviewer-ann' },
  );
  const again = await cli([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '1d',
    '--out',
    join(dir, 'c'),
    '--json',
  ]);
  assert.equal(again.code, 1);
  assert.equal(again.json.error, 'conflict');
  assert.match(again.stderr, /already rejected by reviewer-ann/);
  const subs = (await ok(['vendor', 'app', 'submissions', '--home', V, '--status', 'rejected']))
    .submissions as Record<string, unknown>[];
  assert.equal(subs.length, 1);
  assert.equal(subs[0]?.reason, 'copies another app');
  const events = (await ok(['vendor', 'log', '--home', V])).events as { action: string; actor: string }[];
  assert.deepEqual(
    events.map((e) => e.action),
    ['vendor.init', 'publisher.add', 'app.submit', 'app.approve', 'site.add', 'app.submit', 'app.reject'],
  );
  assert.equal(events.at(-1)?.actor, 'reviewer-ann');
});

test('license serials strictly increase per site, and revocations appear in every later license of every site', async () => {
  const dir = tempDir();
  const { V, app_id, charter_id, site_id } = await vendorWithApp(dir);
  const { site_id: site2 } = await ok(['vendor', 'site', 'add', '--home', V, '--name', 'Hospital B']);
  const issue = (site: string, out: string) =>
    ok([
      'vendor',
      'license',
      'issue',
      '--home',
      V,
      '--site',
      site,
      '--apps',
      app_id,
      '--ttl',
      '30d',
      '--out',
      join(dir, out),
    ]);
  assert.equal((await issue(site_id, 'a1.license')).serial, 1);
  assert.equal((await issue(site_id, 'a2.license')).serial, 2);
  assert.equal((await issue(site2 as string, 'b1.license')).serial, 1);
  await ok(['vendor', 'revoke', '--home', V, '--charter', charter_id, '--reason', 'leaked in a public repo']);
  await ok(['vendor', 'revoke', '--home', V, '--instance', 'ins_stolen', '--reason', 'stolen phone']);
  assert.equal((await issue(site_id, 'a3.license')).serial, 3);
  assert.equal((await issue(site2 as string, 'b2.license')).serial, 2);
  const trust = await parseTrustFile(JSON.stringify(await exportTrust(V, dir)));
  for (const f of ['a3.license', 'b2.license']) {
    const l = await verifyLicense(readFileSync(join(dir, f), 'utf8'), new KeyRing(trust));
    assert.deepEqual(l.claims.revoked, { charters: [charter_id], instances: ['ins_stolen'] }, f);
  }
  const early = await verifyLicense(readFileSync(join(dir, 'a2.license'), 'utf8'), new KeyRing(trust));
  assert.deepEqual(early.claims.revoked, {});
  const dup = await cli([
    'vendor',
    'revoke',
    '--home',
    V,
    '--charter',
    charter_id,
    '--reason',
    'again',
    '--json',
  ]);
  assert.equal(dup.json.error, 'conflict');
  await ok(['vendor', 'revoke', '--home', V, '--app', app_id, '--reason', 'publisher contract ended']);
  const refused = await cli([
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site_id,
    '--apps',
    app_id,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'x'),
    '--json',
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /revoked/);
  const licenses = (await ok(['vendor', 'license', 'list', '--home', V, '--site', site_id])).licenses as {
    serial: number;
  }[];
  assert.deepEqual(
    licenses.map((l) => l.serial),
    [3, 2, 1],
  );
});

async function exportTrust(V: string, dir: string): Promise<unknown> {
  await ok(['vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json')]);
  return JSON.parse(readFileSync(join(dir, 'trust.json'), 'utf8'));
}

test('the root key is encrypted at rest; after export-root --remove approvals still work and rotation needs it back', async () => {
  const dir = tempDir();
  const { V, publisher_id } = await vendorWithApp(dir);
  const rootFile = join(dir, 'root.sealed.json');
  const exported = await ok(['vendor', 'keys', 'export-root', '--home', V, '--out', rootFile, '--remove']);
  assert.equal(exported.removed, true);
  const sealed = JSON.parse(readFileSync(rootFile, 'utf8')) as SealedKey;
  const der = openSealedKey(sealed, 'test passphrase 123');
  // The private seed (the last 32 bytes of the PKCS#8) appears nowhere in the home folder's database.
  const seed = der.subarray(der.length - 32);
  for (const f of ['vendor.db', 'vendor.db-wal']) {
    try {
      assert.equal(readFileSync(join(V, f)).indexOf(seed), -1, f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const sub = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Own App',
    '--scopes',
    'a:b',
    '--server',
  ]);
  await ok([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'own.charter'),
  ]);
  const rotate = await cli(['vendor', 'keys', 'rotate', '--home', V, '--json']);
  assert.equal(rotate.json.error, 'key_unavailable');
  await ok(['vendor', 'keys', 'import-root', '--home', V, rootFile]);
  const wrong = await cli(['vendor', 'keys', 'rotate', '--home', V, '--json'], {
    CHARTER_PASSPHRASE: 'not the passphrase',
  });
  assert.equal(wrong.json.error, 'wrong_passphrase');
  const none = await cli(['vendor', 'keys', 'rotate', '--home', V, '--json'], { CHARTER_PASSPHRASE: '' });
  assert.equal(none.json.error, 'passphrase_required');
  const rotated = await ok(['vendor', 'keys', 'rotate', '--home', V, '--use', 'charter']);
  const newKid = (rotated.keys as { kid: string }[])[0]?.kid;
  const sub2 = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id,
    '--name',
    'Own App 2',
    '--scopes',
    'a:b',
    '--server',
  ]);
  await ok([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub2.submission_id as string,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'own2.charter'),
  ]);
  // Old and new charters both verify through the keys of the next license.
  const { site_id } = await ok(['vendor', 'site', 'add', '--home', V, '--name', 'S']);
  await ok([
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site_id as string,
    '--apps',
    `${sub.app_id},${sub2.app_id}`,
    '--ttl',
    '30d',
    '--out',
    join(dir, 's.license'),
  ]);
  const trust = await parseTrustFile(JSON.stringify(await exportTrust(V, dir)));
  const license = await verifyLicense(readFileSync(join(dir, 's.license'), 'utf8'), new KeyRing(trust));
  const ring = new KeyRing(trust, license.claims.keys);
  assert.notEqual(
    (await verifyCharter(readFileSync(join(dir, 'own.charter'), 'utf8'), ring)).signer.kid,
    newKid,
  );
  assert.equal(
    (await verifyCharter(readFileSync(join(dir, 'own2.charter'), 'utf8'), ring)).signer.kid,
    newKid,
  );
});

test('license inspect says plainly when a license does not verify', async () => {
  const dir = tempDir();
  const { V, app_id, site_id } = await vendorWithApp(dir);
  await ok([
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site_id,
    '--apps',
    app_id,
    '--ttl',
    '30d',
    '--out',
    join(dir, 'a.license'),
  ]);
  const other = join(dir, 'other');
  await ok(['vendor', 'init', '--home', other, '--vendor-id', 'acme', '--name', 'Impostor']);
  await ok(['vendor', 'export-trust', '--home', other, '--out', join(dir, 'other-trust.json')]);
  const r = await cli([
    'license',
    'inspect',
    join(dir, 'a.license'),
    '--trust',
    join(dir, 'other-trust.json'),
    '--json',
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.json.verified, false);
  assert.equal(r.json.error, 'license_invalid');
  const missing = await cli(['license', 'inspect', join(dir, 'nope.license')]);
  assert.equal(missing.code, 1);
  // A compact JWS whose claims are not a license's (or a revocation update's) is refused by the
  // claims' shape, with or without --trust, never printed as a license of `undefined` fields.
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const [name, typ] of [
    ['empty.license', 'charter-license+jwt'],
    ['empty.revocations', 'charter-revocations+jwt'],
  ] as const) {
    writeFileSync(join(dir, name), `${b64({ typ, alg: 'EdDSA' })}.${b64({ hello: 'world' })}.AAAA`);
    const bad = await cli(['license', 'inspect', join(dir, name), '--json']);
    assert.equal(bad.code, 1, name);
    assert.equal(bad.json.error, 'license_invalid', name);
  }
});
