/** Uploaded APK and IPA inspection: real structures read right, and hostile bytes only ever refused cleanly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharterError } from '@charter/core';
import fc from 'fast-check';
import { compareBinary, inspectBinary } from '../src/inspect.ts';
import { parseBinaryPlist, parseXmlPlist } from '../src/plist.ts';
import { apk, axml, binaryPlist, cms, ipa, selfSignedCert, xmlPlist, zip } from '../src/testing.ts';

const manifest = { package: 'com.beta.orders', versionCode: 42, versionName: '2.1.0' };

test('an APK yields its package, version and the v2 signing certificate digest', async () => {
  const cert = selfSignedCert();
  const facts = inspectBinary(apk(manifest, cert.der));
  assert.deepEqual(facts, {
    kind: 'apk',
    package_name: 'com.beta.orders',
    version_code: '42',
    version_name: '2.1.0',
    signing_cert_sha256: [cert.sha256],
    signature_schemes: ['v2'],
  });
  const checks = compareBinary(facts, {
    platforms: { android: { package_name: 'com.beta.orders', signing_cert_sha256: ['ab'.repeat(32)] } },
    version: '2.1.0',
  });
  assert.deepEqual(
    checks.map((c) => [c.field, c.match]),
    [
      ['android package', true],
      ['signing certificate SHA-256', false],
      ['version', true],
    ],
  );
});

test('an APK signed only with v1 (META-INF/*.RSA PKCS#7) yields the certificate digest', async () => {
  const cert = selfSignedCert('Legacy');
  const file = zip([
    { name: 'AndroidManifest.xml', data: axml(manifest) },
    { name: 'META-INF/CERT.RSA', data: cms(undefined, [cert.der]) },
  ]);
  const facts = inspectBinary(file);
  assert.equal(facts.kind, 'apk');
  assert.deepEqual(facts.kind === 'apk' && facts.signing_cert_sha256, [cert.sha256]);
  assert.deepEqual(facts.kind === 'apk' && facts.signature_schemes, ['v1']);
});

test('an IPA yields bundle id, version and team id, with a binary or an XML Info.plist', () => {
  for (const binary of [true, false]) {
    const facts = inspectBinary(
      ipa({ bundleId: 'com.beta.orders', version: '3.0', teamId: 'ABCDE12345', binary }),
    );
    assert.deepEqual(facts, {
      kind: 'ipa',
      bundle_id: 'com.beta.orders',
      version: '3.0',
      team_id: 'ABCDE12345',
      profile_name: 'Orders AppStore',
    });
  }
});

test('IPA facts are compared with the declared team and bundle id', () => {
  const facts = inspectBinary(
    ipa({ bundleId: 'com.beta.orders', version: '3.0', teamId: 'ABCDE12345', binary: true }),
  );
  const checks = compareBinary(facts, {
    platforms: { ios: { team_id: 'ZZZZZ99999', bundle_id: 'com.beta.orders' } },
    version: '3.0',
  });
  assert.deepEqual(
    checks.map((c) => [c.field, c.declared, c.found, c.match]),
    [
      ['ios bundle id', 'com.beta.orders', 'com.beta.orders', true],
      ['ios team id', 'ZZZZZ99999', 'ABCDE12345', false],
      ['version', '3.0', '3.0', true],
    ],
  );
});

test('plists round-trip their strings (binary and XML), entities decoded', () => {
  assert.deepEqual(
    { ...(parseBinaryPlist(binaryPlist({ a: 'b', longer_key_here: 'x'.repeat(40) })) as object) },
    {
      a: 'b',
      longer_key_here: 'x'.repeat(40),
    },
  );
  assert.deepEqual(
    { ...(parseXmlPlist(xmlPlist({ k: 'a&b<c', arr: ['1', '2'] }).toString()) as object) },
    {
      k: 'a&b<c',
      arr: ['1', '2'],
    },
  );
});

/** The input must be refused, with the catalogued code and a message: accepting it fails the test. */
function refusedCleanly(f: () => unknown): void {
  let accepted = false;
  try {
    f();
    accepted = true;
  } catch (e) {
    assert.ok(e instanceof CharterError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.equal(e.code, 'invalid_request');
    assert.ok(e.message.length > 0);
  }
  assert.equal(accepted, false, 'the input was accepted');
}

/** Either refused cleanly or accepted (a flipped byte inside stored data can leave a valid file). */
function refusedCleanlyOrAccepted(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CharterError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.equal(e.code, 'invalid_request');
    assert.ok(e.message.length > 0);
  }
}

test('garbage and truncated archives are refused with a clear error; bit-flipped ones never crash', async () => {
  const cert = selfSignedCert();
  const good = [
    apk(manifest, cert.der),
    ipa({ bundleId: 'com.b.c', version: '1', teamId: 'ABCDE12345', binary: true }),
  ];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) =>
      refusedCleanly(() => inspectBinary(Buffer.from(bytes))),
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...good), fc.nat(), (file, cut) =>
      refusedCleanly(() => inspectBinary(file.subarray(0, cut % file.length))),
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...good),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      (file, flips) => {
        const copy = Buffer.from(file);
        for (const [at, v] of flips) copy[at % copy.length] = v;
        refusedCleanlyOrAccepted(() => inspectBinary(copy));
      },
    ),
    { numRuns: 1000 },
  );
});

test('plist parsers refuse arbitrary input cleanly; a mutated manifest never crashes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const b = Buffer.concat([Buffer.from('bplist00'), Buffer.from(bytes)]);
      refusedCleanly(() => parseBinaryPlist(b));
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => refusedCleanly(() => parseXmlPlist(`<plist>${s}`))),
    { numRuns: 500 },
  );
  const m = axml(manifest);
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, v) => {
      const copy = Buffer.from(m);
      copy[at % copy.length] = v;
      refusedCleanlyOrAccepted(() => inspectBinary(zip([{ name: 'AndroidManifest.xml', data: copy }])));
    }),
    { numRuns: 1000 },
  );
});
