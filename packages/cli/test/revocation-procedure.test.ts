/**
 * The procedure in docs/attestation.md for bringing Google's current Android revocation list in a license, run
 * exactly as written (the shell block under `<!-- procedure: android-revoked -->`), against a local
 * copy of the status list served over HTTP; and `license inspect` showing the bundled snapshot's age.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { KeyRing, parseTrustFile, verifyLicense } from '@charter/core';
import { cli, ROOT, tempDir } from './run.ts';

const GOOGLE_STATUS_URL = 'https://android.googleapis.com/attestation/status';

/** The shell block of the documented procedure, dedented. */
function procedure(): string {
  const readme = readFileSync(join(ROOT, 'docs', 'attestation.md'), 'utf8');
  const start = readme.indexOf('<!-- procedure: android-revoked -->');
  assert.ok(start > 0, 'docs/attestation.md has the procedure');
  const open = readme.indexOf('```sh\n', start) + '```sh\n'.length;
  const close = readme.indexOf('```', open);
  return readme
    .slice(open, close)
    .split('\n')
    .map((l) => l.replace(/^ {2}/, ''))
    .join('\n');
}

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, `charter ${args.join(' ')}: ${r.stderr}`);
  return r.json;
}

test('the procedure in docs/attestation.md brings every REVOKED and SUSPENDED serial of the status list into a license', async () => {
  const dir = tempDir('charter-revocation-');
  const V = join(dir, 'V');
  await ok(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme']);
  const { publisher_id } = await ok(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta']);
  const sub = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id as string,
    '--name',
    'Orders',
    '--scopes',
    'orders:read',
    '--android-package',
    'com.beta.orders',
    '--android-cert-sha256',
    'ab'.repeat(32),
  ]);
  await ok([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '90d',
    '--out',
    join(dir, 'a.charter'),
  ]);
  const { site_id } = await ok(['vendor', 'site', 'add', '--home', V, '--name', 'Hospital A']);
  await ok(['vendor', 'export-trust', '--home', V, '--out', join(dir, 'trust.json')]);

  // Google's format: serials as BigInteger.toString(16) (some all digits), REVOKED or SUSPENDED.
  const sample = JSON.parse(
    readFileSync(
      new URL('../../attest/test/fixtures/android-keyattest-googleaka-revocation-1.json', import.meta.url),
      'utf8',
    ),
  ) as { raw: { status_list: { entries: Record<string, { status: string }> } } };
  const status = {
    entries: {
      ...sample.raw.status_list.entries,
      '1ab2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4': { status: 'REVOKED', reason: 'SOFTWARE_FLAW' },
    },
  };
  const expected = Object.keys(status.entries).sort();
  const server = createServer((req, res) => {
    if (req.url !== '/attestation/status') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const script = procedure();
    assert.ok(script.includes(GOOGLE_STATUS_URL), 'the procedure fetches Google’s list');
    const local = script.replace(GOOGLE_STATUS_URL, `http://127.0.0.1:${port}/attestation/status`);
    writeFileSync(join(dir, 'procedure.sh'), `set -euo pipefail\n${local}`);
    // Asynchronously: the status list is served by this very process.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', [join(dir, 'procedure.sh')], {
        cwd: dir,
        env: {
          ...process.env,
          PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
          CHARTER_PASSPHRASE: 'test passphrase 123',
          CHARTER_ACTOR: 'tester',
          VENDOR_HOME: V,
          SITE_ID: site_id as string,
          APP_IDS: sub.app_id as string,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      readFileSync(join(dir, 'android-revoked.txt'), 'utf8').trim().split('\n').sort(),
      expected,
    );
    // Step 4's report: it verifies, counts the serials and says how old the bundled snapshot is.
    assert.match(r.stdout, /Signature: verifies against the trust file/);
    assert.match(
      r.stdout,
      new RegExp(`bundled snapshot of 2019-08-14, \\d+ days old; the license adds ${expected.length} serial`),
    );
    const trust = await parseTrustFile(readFileSync(join(dir, 'trust.json'), 'utf8'));
    const license = await verifyLicense(readFileSync(join(dir, 'site.license'), 'utf8'), new KeyRing(trust));
    assert.deepEqual([...(license.claims.attestation?.android_revoked ?? [])].sort(), expected);
  } finally {
    server.close();
    dir && spawnSync('rm', ['-rf', dir]);
  }
});

test('license inspect shows the age of the bundled snapshot, and says when the license adds nothing', async () => {
  const dir = tempDir('charter-revocation-');
  const V = join(dir, 'V');
  await ok(['vendor', 'init', '--home', V, '--vendor-id', 'acme', '--name', 'Acme']);
  const { publisher_id } = await ok(['vendor', 'publisher', 'add', '--home', V, '--name', 'Beta']);
  const sub = await ok([
    'vendor',
    'app',
    'submit',
    '--home',
    V,
    '--publisher',
    publisher_id as string,
    '--name',
    'Orders',
    '--scopes',
    'orders:read',
    '--web-origin',
    'https://orders.beta.example',
  ]);
  await ok([
    'vendor',
    'app',
    'approve',
    '--home',
    V,
    sub.submission_id as string,
    '--ttl',
    '90d',
    '--out',
    join(dir, 'a.charter'),
  ]);
  const { site_id } = await ok(['vendor', 'site', 'add', '--home', V, '--name', 'Hospital A']);
  const file = join(dir, 'a.license');
  await ok([
    'vendor',
    'license',
    'issue',
    '--home',
    V,
    '--site',
    site_id as string,
    '--apps',
    sub.app_id as string,
    '--ttl',
    '30d',
    '--out',
    file,
  ]);
  const ageDays = Math.floor((Date.now() - Date.parse('2019-08-14T00:00:00Z')) / 86_400_000);
  const json = await ok(['license', 'inspect', file]);
  assert.equal(json.bundled_revocation_snapshot, '2019-08-14');
  assert.equal(json.bundled_revocation_snapshot_age_days, ageDays);
  assert.equal(json.android_revoked_serials, 0);
  const text = await cli(['license', 'inspect', file]);
  assert.match(
    text.stdout,
    new RegExp(
      `bundled snapshot of 2019-08-14, ${ageDays} days old; the license adds 0 serial\\(s\\) \\(certificates Google revoked since the snapshot are not refused\\)`,
    ),
  );
  spawnSync('rm', ['-rf', dir]);
});
