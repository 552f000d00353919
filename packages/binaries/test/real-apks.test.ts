/**
 * Real third-party APKs (test/fixtures/PROVENANCE.md): what real toolchains emit, read right. The
 * expected certificate digests come from openssl over each APK's META-INF/*.RSA, not from this parser.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareBinary, inspectBinary } from '../src/index.ts';

const fixture = (name: string): Buffer => readFileSync(join(import.meta.dirname, 'fixtures', name));

const REAL: { file: string; sha256: string; facts: object }[] = [
  {
    file: 'appium-unlock-2.0.0.apk',
    sha256: '889ca0225e2db5ba5e3e273b481bce2355e7a08e76b25a12a4a56332d05fa572',
    facts: {
      kind: 'apk',
      package_name: 'io.appium.unlock',
      version_code: '2',
      version_name: '2.0.0',
      signing_cert_sha256: ['59523512a57b29c2b23b29c09227314f941b2ea6d7e7e89ddb1ad1e83bcda8dc'],
      signature_schemes: ['v1'],
    },
  },
  {
    file: 'appium-android-ime-2.0.0.apk',
    sha256: 'ea4480f3d619196f0031cc99dc2b82828f1ce668014b864012536e315fedbc10',
    facts: {
      kind: 'apk',
      package_name: 'io.appium.android.ime',
      version_code: '1',
      version_name: '1.0',
      signing_cert_sha256: ['a65e578cd19d65754d5012bf1701d9142917abfd514017621634a7da3f4808dc'],
      signature_schemes: ['v1'],
    },
  },
  {
    // A current Gradle build: v2 and v3 blocks (v1 too, which inspection does not need then), and a
    // manifest without versionCode/versionName.
    file: 'appium-uiautomator2-server-10.6.6-androidTest.apk',
    sha256: 'e6f729287d72351388fd66597c35b69988b9091a7011954bf92a55d416cb1e1c',
    facts: {
      kind: 'apk',
      package_name: 'io.appium.uiautomator2.server.test',
      version_code: null,
      version_name: null,
      signing_cert_sha256: ['a40da80a59d170caa950cf15c18c454d47a39b26989d8b640ecd745ba71bf5dc'],
      signature_schemes: ['v2', 'v3'],
    },
  },
];

for (const r of REAL) {
  test(`real APK ${r.file}: package, version and signing certificate digest`, () => {
    const bytes = fixture(r.file);
    // The fixture is the file PROVENANCE.md describes, byte for byte.
    assert.equal(createHash('sha256').update(bytes).digest('hex'), r.sha256);
    assert.deepEqual({ ...inspectBinary(bytes) }, r.facts);
  });
}

test('a real APK compared with a submission: the right digest matches, another does not', () => {
  const facts = inspectBinary(fixture('appium-unlock-2.0.0.apk'));
  const digest = '59523512a57b29c2b23b29c09227314f941b2ea6d7e7e89ddb1ad1e83bcda8dc';
  const checks = (certs: string[]) =>
    compareBinary(facts, {
      platforms: { android: { package_name: 'io.appium.unlock', signing_cert_sha256: certs } },
      version: '2.0.0',
    }).map((c) => [c.field, c.match]);
  assert.deepEqual(checks([digest]), [
    ['android package', true],
    ['signing certificate SHA-256', true],
    ['version', true],
  ]);
  assert.deepEqual(checks(['00'.repeat(32)])[1], ['signing certificate SHA-256', false]);
});
