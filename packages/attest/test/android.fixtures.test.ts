/**
 * Every real Android sample of fixtures/ at its `valid_at`, with its source's negative checks. Where
 * this verifier deliberately differs from a source's policy, the test says so.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCertificate } from '../src/certificate.ts';
import {
  ANDROID_REVOCATION_SNAPSHOT,
  certificatesFromPem,
  GOOGLE_HARDWARE_ROOT_PEMS,
  googleHardwareRoots,
  KEY_DESCRIPTION_OID,
  loadTrustAnchors,
  normalizeSerial,
  parseKeyDescription,
  RevocationList,
  verifyAndroidKeyAttestation,
} from '../src/index.ts';
import { APPLE_APP_ATTESTATION_ROOT_PEM, androidSoftwareRoots } from '../src/roots.ts';
import { assertRefused, b64, type Fixture, fixture, fixtureNames, fixtureText } from './helpers.ts';

const chains = fixtureNames('android-keyattest-').filter(
  (n) => fixture(n).kind === 'android-key-attestation/certificate-chain',
);

function challengeOf(f: Fixture): Uint8Array | null {
  const c = f.inputs.expected_challenge_b64 ?? f.expected.attestation_challenge_b64;
  return typeof c === 'string' ? b64(c) : null;
}

function verifyFixture(f: Fixture, extra: Record<string, unknown> = {}) {
  return verifyAndroidKeyAttestation(f.raw.certificate_chain_der_b64, {
    expectedChallenge: challengeOf(f),
    at: new Date(f.valid_at),
    ...extra,
  });
}

describe('Android fixtures: verdicts at valid_at', () => {
  test('the collection is the one documented (7 chains)', () => {
    assert.equal(chains.length, 7);
  });

  for (const name of chains) {
    const f = fixture(name);
    test(`${name}: ${f.expected.verdict}`, () => {
      if (f.expected.verdict !== 'valid') {
        // -9: the leaf's TBS differs from what the intermediate signed. wardenroboto-3: emulator,
        // software keystore root (also: its leaf expires before it starts).
        const detail = name.endsWith('androidkeyattestation-9.json')
          ? 'ERR_ATTEST_CHAIN'
          : 'ERR_ATTEST_SOFTWARE';
        assertRefused(() => verifyFixture(f), detail);
        return;
      }
      const r = verifyFixture(f);
      const e = f.expected;
      assert.equal(r.root, 'google-rsa');
      assert.equal(
        r.securityLevel,
        e.attestation_security_level ?? f.observed_not_asserted_by_source?.attestation_security_level,
      );
      assert.deepEqual(Buffer.from(r.challenge), Buffer.from(challengeOf(f)!));
      if (e.attestation_version !== undefined) assert.equal(r.attestationVersion, e.attestation_version);
      if (e.keymint_version !== undefined) assert.equal(r.keymintVersion, e.keymint_version);
      if (e.keymint_security_level !== undefined)
        assert.equal(r.keymintSecurityLevel, e.keymint_security_level);
      const app = e.attestation_application_id;
      if (app) {
        assert.deepEqual(
          r.packages,
          app.packages.map((p: { name: string; version: string | number }) => ({
            name: p.name,
            version: Number(p.version),
          })),
        );
        assert.deepEqual(r.signatureDigests, app.signature_digests_sha256_hex);
      } else {
        assert.deepEqual(
          r.packages.map((p) => p.name),
          [e.package_name],
        );
        assert.deepEqual(r.signatureDigests, [e.signature_digest_sha256_hex]);
      }
      const observed = f.observed_not_asserted_by_source ?? {};
      assert.equal(r.verifiedBootState, e.verified_boot_state ?? observed.verified_boot_state);
      assert.equal(r.deviceLocked, e.device_locked ?? observed.device_locked);
      assert.equal(r.osVersion, Number(e.os_version ?? observed.os_version));
      assert.equal(r.osPatchLevel, Number(e.os_patch_level ?? observed.os_patch_level));
      const spki = e.leaf_public_key_spki_b64 ?? f.inputs.expected_leaf_public_key_spki_b64;
      if (spki) assert.equal(Buffer.from(r.leafSpki).toString('base64'), spki);
      if (e.creation_date_time_ms)
        assert.equal(r.keyDescription.creationDateTime, Number(e.creation_date_time_ms));
      assert.equal(r.keyDescription.origin, 0);
    });
  }

  test('wardenroboto-1 also passes its source policy: locked + verified, allowed package and digests', () => {
    const f = fixture('android-keyattest-wardenroboto-1.json');
    const r = verifyFixture(f, {
      expectedPackageName: f.inputs.allowed_package,
      expectedSigningCertDigests: f.inputs.allowed_signature_digests_b64.map((d: string) =>
        Buffer.from(d, 'base64').toString('hex'),
      ),
      requireVerifiedBoot: true,
    });
    assert.equal(r.verifiedBootState, 'VERIFIED');
  });

  test('the UNVERIFIED / unlocked development devices fail a verified-boot policy', () => {
    for (const name of [
      'android-keyattest-androidkeyattestation-1.json',
      'android-keyattest-googleaka-1.json',
    ]) {
      assertRefused(() => verifyFixture(fixture(name), { requireVerifiedBoot: true }), 'ERR_ATTEST_BOOT');
    }
    // Pixel 9 Pro, locked and verified: passes.
    verifyFixture(fixture('android-keyattest-androidkeyattestation-5.json'), { requireVerifiedBoot: true });
  });

  test('the ordering problem of androidkeyattestation-9 alone would not be refused; its signature is', () => {
    // The leaf's extension parses (tags re-sorted); the refusal comes from the broken signature.
    const f = fixture('android-keyattest-androidkeyattestation-9.json');
    const leaf = parseCertificate(b64(f.raw.certificate_chain_der_b64[0]));
    assert.ok(leaf.extensions.has('1.3.6.1.4.1.11129.2.1.17'));
    assertRefused(() => verifyFixture(f), 'ERR_ATTEST_CHAIN');
  });
});

describe('Android fixtures: negative checks from the sources', () => {
  const aka1 = fixture('android-keyattest-androidkeyattestation-1.json');
  const aka5 = fixture('android-keyattest-androidkeyattestation-5.json');
  const nokia = fixture('android-keyattest-wardenroboto-1.json');

  test('androidkeyattestation-1: another expected challenge is refused', () => {
    assertRefused(
      () => verifyFixture(aka1, { expectedChallenge: Buffer.from('wrong') }),
      'ERR_ATTEST_CHALLENGE',
    );
  });

  test('androidkeyattestation-1 at 2030: accepted, as Google does (factory chain, its intermediates ended 2028-07-20)', () => {
    const r = verifyFixture(aka1, { at: new Date('2030-01-01T00:00:00Z') });
    assert.equal(r.root, 'google-rsa');
    // Before its intermediates were issued (2018-07-23) it is refused: an issuer not yet valid.
    assertRefused(() => verifyFixture(aka1, { at: new Date('2018-01-01T00:00:00Z') }), 'ERR_ATTEST_EXPIRED');
  });

  test('androidkeyattestation-5 (RKP) at 2030: expired', () => {
    assertRefused(() => verifyFixture(aka5, { at: new Date('2030-01-01T00:00:00Z') }), 'ERR_ATTEST_EXPIRED');
  });

  test('wardenroboto-1: StrongBox required', () => {
    assertRefused(
      () => verifyFixture(nokia, { minSecurityLevel: 'STRONG_BOX' }),
      'ERR_ATTEST_SECURITY_LEVEL',
    );
  });

  test('wardenroboto-1: wrong package', () => {
    assertRefused(
      () => verifyFixture(nokia, { expectedPackageName: 'org.wrong.package.name' }),
      'ERR_ATTEST_APP_ID',
    );
  });

  test('wardenroboto-1: wrong signer digests', () => {
    const digests = [
      Buffer.from([0x00, 0x20, 0x37, 0x1d, 0x78, 0x16, 0x00]).toString('hex'),
      Buffer.from('LvfTC77F/uSecSfJDeLdxQ3gZrVLHX8+NNBp7AiUO0E=', 'base64').toString('hex'),
    ];
    assertRefused(() => verifyFixture(nokia, { expectedSigningCertDigests: digests }), 'ERR_ATTEST_APP_ID');
  });

  test('wardenroboto-1: app version, OS version, patch level and rollback resistance are reported for policy', () => {
    // These are the source's application policies, applied by callers on the returned values.
    const r = verifyFixture(nokia);
    assert.ok(r.packages[0]!.version < 20, 'min app version 20 fails');
    assert.ok(r.osVersion! < 200000, 'min OS version 200000 fails');
    assert.ok(r.osPatchLevel! < 203001, 'min patch level 2030-01 fails');
    assert.equal(r.keyDescription.rollbackResistant, false, 'rollback resistance required fails');
  });

  test('wardenroboto-1: verification time 30000 days before is refused; after, its factory chain is not', () => {
    // The source (warden-roboto) refuses both; Google's reference verifier, whose rule we follow,
    // ignores the expiry of factory-provisioned chains (the device cannot get new certificates).
    const at = Date.parse(nokia.valid_at);
    assertRefused(() => verifyFixture(nokia, { at: at - 30000 * 86_400_000 }), 'ERR_ATTEST_EXPIRED');
    verifyFixture(nokia, { at: at + 30000 * 86_400_000 });
  });

  test('wardenroboto-1: chain truncated to [leaf] or [leaf, intermediate]', () => {
    for (const n of [1, 2]) {
      const x5c = nokia.raw.certificate_chain_der_b64.slice(0, n);
      assertRefused(
        () =>
          verifyAndroidKeyAttestation(x5c, {
            expectedChallenge: challengeOf(nokia),
            at: new Date(nokia.valid_at),
          }),
        'ERR_ATTEST_ROOT',
      );
    }
  });

  test('wardenroboto-3: software security level, and a leaf whose validity ends before it starts', () => {
    const f = fixture('android-keyattest-wardenroboto-3.json');
    assertRefused(() => verifyFixture(f), 'ERR_ATTEST_SOFTWARE');
    const leaf = parseCertificate(b64(f.raw.certificate_chain_der_b64[0]));
    const kd = parseKeyDescription(leaf.extensions.get(KEY_DESCRIPTION_OID)!.value);
    assert.equal(kd.attestationSecurityLevel, f.expected.attestation_security_level);
    assert.equal(kd.keymintSecurityLevel, f.expected.keymint_security_level);
    assert.deepEqual(kd.signatureDigests, f.observed_not_asserted_by_source.signature_digests_sha256_hex);
    // Even trusting the software root on purpose, the chain is refused for its software security level
    // (its leaf's validity, which ends before it starts, is the device's to set and is not judged).
    const softwareRoot = fixtureText(
      'roots/NOT-A-TRUST-ANCHOR-android-keystore-software-attestation-root-rsa.pem',
    );
    assertRefused(
      () => verifyFixture(f, { expectedChallenge: null, trustedRoots: [softwareRoot] }),
      'ERR_ATTEST_SOFTWARE',
    );
  });
});

describe('trust anchors', () => {
  test('bundled roots are byte-identical to the fixture roots', () => {
    const files = [
      'google-hardware-attestation-root-rsa-2016.pem',
      'google-hardware-attestation-root-rsa-2019.pem',
      'google-hardware-attestation-root-rsa-2021.pem',
      'google-hardware-attestation-root-rsa-2022.pem',
      'google-key-attestation-ca1-ec-2025.pem',
    ];
    assert.deepEqual(
      GOOGLE_HARDWARE_ROOT_PEMS.map((p) => certificatesFromPem(p)[0]),
      files.map((f) => certificatesFromPem(fixtureText(`roots/${f}`))[0]),
    );
    assert.deepEqual(
      certificatesFromPem(APPLE_APP_ATTESTATION_ROOT_PEM),
      certificatesFromPem(fixtureText('roots/apple-app-attestation-root-ca.pem')),
    );
  });

  test('anchors are keys: four RSA re-issues collapse into one, plus the EC root', () => {
    const anchors = googleHardwareRoots();
    assert.deepEqual(anchors.map((a) => a.name).sort(), ['google-ec', 'google-rsa']);
    const manifest = JSON.parse(fixtureText('roots/roots-manifest.json')) as {
      file: string;
      spki_sha256: string;
    }[];
    for (const a of anchors) assert.ok(manifest.some((m) => m.spki_sha256 === a.spkiSha256));
  });

  test('software roots are never among the trusted anchors', () => {
    const trusted = new Set(googleHardwareRoots().map((a) => a.spkiSha256));
    for (const s of androidSoftwareRoots()) assert.ok(!trusted.has(s.spkiSha256));
  });

  test('a chain embedding the expired 2016 root verifies against the 2022 re-issue alone, after 2026-05-24', () => {
    const f = fixture('android-keyattest-androidkeyattestation-1.json');
    const only2022 = loadTrustAnchors(fixtureText('roots/google-hardware-attestation-root-rsa-2022.pem'));
    const r = verifyFixture(f, { trustedRoots: only2022, at: new Date('2027-01-01T00:00:00Z') });
    assert.equal(r.root, 'google-rsa');
  });

  test('a chain without its root certificate verifies (the last certificate is signed by the anchor)', () => {
    const f = fixture('android-keyattest-androidkeyattestation-5.json');
    const r = verifyAndroidKeyAttestation(f.raw.certificate_chain_der_b64.slice(0, -1), {
      expectedChallenge: challengeOf(f),
      at: new Date(f.valid_at),
    });
    assert.equal(r.securityLevel, 'STRONG_BOX');
  });

  test('the EC root alone does not anchor an RSA-root chain', () => {
    const f = fixture('android-keyattest-androidkeyattestation-1.json');
    const ecOnly = loadTrustAnchors(fixtureText('roots/google-key-attestation-ca1-ec-2025.pem'));
    assertRefused(() => verifyFixture(f, { trustedRoots: ecOnly }), 'ERR_ATTEST_ROOT');
  });
});

describe('revocation', () => {
  const sample = fixture('android-keyattest-googleaka-revocation-1.json');

  test('the lookup sample: serial as BigInteger.toString(16) (no DER sign byte) is SUSPENDED, so untrusted', () => {
    const cert = parseCertificate(b64(sample.raw.certificate_der_b64));
    assert.equal(cert.serialHex, sample.expected.serial_hex);
    const list = RevocationList.create([], {
      date: '2019-08-14',
      source: sample.source_repo,
      entries: sample.raw.status_list.entries,
    });
    assert.ok(list.has(cert.serialHex, cert.serialDecimal));
    for (const bad of sample.expected.bad_serial_lookups) assert.ok(!list.has(normalizeSerial(bad)!));
    assert.ok(!list.has((0xbadbeef).toString(16)));
  });

  test('serials are normalised: case, 0x, colons and leading zeros', () => {
    assert.equal(
      normalizeSerial('00:CC:66:E9:A9:37:13:B6:E6:43:B2:6C:15:87:97:86:F7'),
      'cc66e9a93713b6e643b26c15879786f7',
    );
    assert.equal(normalizeSerial('0x0001'), '1');
    assert.equal(normalizeSerial('0'), '0');
    assert.equal(normalizeSerial('-0a'), '-a');
    assert.equal(normalizeSerial('xyz'), undefined);
  });

  test('the bundled snapshot is dated and lists none of the valid fixture chains', () => {
    assert.match(ANDROID_REVOCATION_SNAPSHOT.date, /^\d{4}-\d{2}-\d{2}$/);
    for (const name of [
      'android-keyattest-androidkeyattestation-1.json',
      'android-keyattest-androidkeyattestation-5.json',
    ]) {
      verifyFixture(fixture(name));
    }
  });

  test('a revoked intermediate of a real chain is refused, in any serial spelling', () => {
    const f = fixture('android-keyattest-androidkeyattestation-1.json');
    const intermediate = parseCertificate(b64(f.raw.certificate_chain_der_b64[1]));
    const spellings = [
      intermediate.serialHex,
      intermediate.serialHex.toUpperCase(),
      `0x00${intermediate.serialHex}`,
      intermediate.serialHex.replace(/(..)(?=.)/g, '$1:'),
    ];
    for (const s of spellings) {
      assertRefused(() => verifyFixture(f, { revokedSerials: [s] }), 'ERR_ATTEST_REVOKED');
    }
    assertRefused(
      () => verifyFixture(f, { revokedSerials: RevocationList.create([intermediate.serialHex]) }),
      'ERR_ATTEST_REVOKED',
    );
  });

  test('a status entry in decimal form also matches (some copies of the list are read that way)', () => {
    const f = fixture('android-keyattest-wardenroboto-1.json');
    const intermediate = parseCertificate(b64(f.raw.certificate_chain_der_b64[1]));
    assertRefused(
      () => verifyFixture(f, { revokedSerials: [intermediate.serialDecimal] }),
      'ERR_ATTEST_REVOKED',
    );
  });

  test('the fixture status list does not revoke the fixture chains', () => {
    const list = RevocationList.create(Object.keys(sample.raw.status_list.entries), null);
    for (const name of chains.filter((n) => fixture(n).expected.verdict === 'valid')) {
      verifyFixture(fixture(name), { revokedSerials: list });
    }
  });
});
