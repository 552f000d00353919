/**
 * Edge cases on generated chains (test roots passed through `trustedRoots`): the refusals the real
 * samples cannot show, each in isolation.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { parseCertificate } from '../src/certificate.ts';
import { validateChain } from '../src/chain.ts';
import { children, concat, encodeLength, readSingle } from '../src/der.ts';
import {
  androidAttestationJson,
  attestationBinding,
  KEY_DESCRIPTION_OID,
  KNOWN_ATTESTATION_VERSIONS,
  loadTrustAnchors,
  parseKeyDescription,
  RevocationList,
  samePublicKey,
  verifyAndroidKeyAttestation,
} from '../src/index.ts';
import {
  createTestAttestationAuthority,
  keyDescription,
  type TestAndroidAttestationOptions,
} from '../src/testing.ts';
import { buildCertificate, type CertificateSpec, OID, pemOf } from '../src/x509build.ts';
import { assertRefused } from './helpers.ts';

const challenge = attestationBinding('n-0123456789', 'jkt-abcdefghij');
const authority = createTestAttestationAuthority();
const base = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };

describe('generated chains: the happy path', () => {
  test('a TEE attestation verifies and reports what was attested', () => {
    const instance = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const att = authority.attest({
      challenge,
      publicKey: instance.publicKey,
      packageName: 'com.acme.orders',
    });
    const r = verifyAndroidKeyAttestation(att.x5c, {
      ...base,
      expectedPackageName: 'com.acme.orders',
      requireVerifiedBoot: true,
    });
    assert.equal(r.securityLevel, 'TRUSTED_ENVIRONMENT');
    assert.equal(r.root, 'test-root');
    assert.ok(samePublicKey(r.leafPublicKey!, instance.publicKey));
    assert.ok(samePublicKey(r.leafPublicKey!, instance.publicKey.export({ format: 'jwk' })));
    assert.ok(!samePublicKey(r.leafPublicKey!, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
    const json = androidAttestationJson(r);
    assert.deepEqual(Object.keys(json), [
      'verified',
      'security_level',
      'challenge_hex',
      'packages',
      'signature_digests',
      'verified_boot_state',
      'device_locked',
      'os_version',
      'os_patch_level',
      'root',
      'leaf_spki_b64',
      'leaf_key_algorithm',
    ]);
    assert.equal(json.leaf_key_algorithm, 'ec-p256');
    assert.equal(json.challenge_hex, Buffer.from(challenge).toString('hex'));
  });

  test('DER bytes and base64 strings are both accepted', () => {
    const att = authority.attest({ challenge });
    verifyAndroidKeyAttestation(
      att.x5c.map((c) => new Uint8Array(Buffer.from(c, 'base64'))),
      base,
    );
  });

  test('an Ed25519 instance key can be attested and compared', () => {
    const instance = generateKeyPairSync('ed25519');
    const r = verifyAndroidKeyAttestation(
      authority.attest({ challenge, publicKey: instance.publicKey }).x5c,
      base,
    );
    assert.ok(samePublicKey(r.leafPublicKey!, instance.publicKey));
  });

  test('an RSA test root works like an EC one', () => {
    const rsa = createTestAttestationAuthority({ rootKeyType: 'rsa' });
    verifyAndroidKeyAttestation(rsa.attest({ challenge }).x5c, { ...base, trustedRoots: rsa.trustedRoots });
  });

  test('trusted roots may be given as PEM text', () => {
    verifyAndroidKeyAttestation(authority.attest({ challenge }).x5c, {
      ...base,
      trustedRoots: [authority.rootPem],
    });
  });

  test('StrongBox passes a StrongBox minimum', () => {
    const att = authority.attest({ challenge, securityLevel: 'STRONG_BOX' });
    assert.equal(
      verifyAndroidKeyAttestation(att.x5c, { ...base, minSecurityLevel: 'STRONG_BOX' }).securityLevel,
      'STRONG_BOX',
    );
  });

  test('every attestation version parses, the published ones and any newer one', () => {
    for (const v of [...KNOWN_ATTESTATION_VERSIONS, 600, 1000, 2 ** 31 - 1]) {
      const r = verifyAndroidKeyAttestation(authority.attest({ challenge, attestationVersion: v }).x5c, base);
      assert.equal(r.attestationVersion, v);
      assert.equal(r.keymintVersion, v);
    }
  });
});

describe('generated chains: refusals', () => {
  test('wrong challenge', () => {
    const att = authority.attest({ challenge: attestationBinding('other-nonce', 'jkt-abcdefghij') });
    assertRefused(() => verifyAndroidKeyAttestation(att.x5c, base), 'ERR_ATTEST_CHALLENGE');
  });

  test('missing KeyDescription extension', () => {
    const att = authority.attest({ challenge, omitKeyDescription: true });
    assertRefused(() => verifyAndroidKeyAttestation(att.x5c, base), 'ERR_ATTEST_EXTENSION');
  });

  test('wrong package', () => {
    const att = authority.attest({ challenge, packageName: 'com.clone.orders' });
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, expectedPackageName: 'com.acme.orders' }),
      'ERR_ATTEST_APP_ID',
    );
  });

  test('wrong signing digest, and an extra unapproved signer', () => {
    const approved = 'aa'.repeat(32);
    const att = authority.attest({ challenge, signingCertDigests: ['bb'.repeat(32)] });
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, expectedSigningCertDigests: [approved] }),
      'ERR_ATTEST_APP_ID',
    );
    const two = authority.attest({ challenge, signingCertDigests: [approved, 'bb'.repeat(32)] });
    assertRefused(
      () => verifyAndroidKeyAttestation(two.x5c, { ...base, expectedSigningCertDigests: [approved] }),
      'ERR_ATTEST_APP_ID',
    );
    const ok = authority.attest({ challenge, signingCertDigests: [approved] });
    verifyAndroidKeyAttestation(ok.x5c, { ...base, expectedSigningCertDigests: [approved.toUpperCase()] });
  });

  test('software security level under a trusted root', () => {
    const att = authority.attest({ challenge, securityLevel: 'SOFTWARE' });
    assertRefused(() => verifyAndroidKeyAttestation(att.x5c, base), 'ERR_ATTEST_SOFTWARE');
  });

  test('TEE below a StrongBox minimum', () => {
    const att = authority.attest({ challenge });
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, minSecurityLevel: 'STRONG_BOX' }),
      'ERR_ATTEST_SECURITY_LEVEL',
    );
  });

  test('unverified boot or unlocked bootloader under a verified-boot policy', () => {
    for (const o of [{ verifiedBootState: 'UNVERIFIED' as const }, { deviceLocked: false }]) {
      const att = authority.attest({ challenge, ...o });
      verifyAndroidKeyAttestation(att.x5c, base);
      assertRefused(
        () => verifyAndroidKeyAttestation(att.x5c, { ...base, requireVerifiedBoot: true }),
        'ERR_ATTEST_BOOT',
      );
    }
  });

  test('an imported key proves nothing about the device', () => {
    const att = authority.attest({ challenge, origin: 2 });
    assertRefused(() => verifyAndroidKeyAttestation(att.x5c, base), 'ERR_ATTEST_KEY_ORIGIN');
  });

  test('the bundled Google roots do not trust a test root', () => {
    const att = authority.attest({ challenge });
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { expectedChallenge: challenge }),
      'ERR_ATTEST_ROOT',
    );
  });

  test('a look-alike root (same subject name, different key) is refused', () => {
    const forger = createTestAttestationAuthority();
    const att = forger.attest({ challenge });
    assertRefused(() => verifyAndroidKeyAttestation(att.x5c, base), 'ERR_ATTEST_ROOT');
    // Without the root certificate: the last certificate names the real root but is not signed by it.
    const noRoot = forger.attest({ challenge, includeRoot: false });
    assertRefused(() => verifyAndroidKeyAttestation(noRoot.x5c, base), 'ERR_ATTEST_ROOT');
    // Swapping in the genuine root certificate at the end does not help either.
    const spliced = [...noRoot.x5c, Buffer.from(authority.rootCertificate).toString('base64')];
    assertRefused(() => verifyAndroidKeyAttestation(spliced, base), 'ERR_ATTEST_CHAIN');
  });

  test('a broken signature anywhere', () => {
    const att = authority.attest({ challenge });
    for (let i = 0; i < 3; i++) {
      const der = Buffer.from(att.x5c[i]!, 'base64');
      der[der.length - 5]! ^= 0x01; // inside the signature value
      const x5c = [...att.x5c];
      x5c[i] = der.toString('base64');
      assertRefused(() => verifyAndroidKeyAttestation(x5c, base), 'ERR_ATTEST_CHAIN');
    }
  });

  test('a revoked serial, from options or a prepared list', () => {
    const att = authority.attest({ challenge });
    const batch = parseCertificate(new Uint8Array(Buffer.from(att.x5c[1]!, 'base64')));
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, revokedSerials: [batch.serialHex] }),
      'ERR_ATTEST_REVOKED',
    );
    const list = RevocationList.create([`00${batch.serialHex.toUpperCase()}`]);
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, revokedSerials: list }),
      'ERR_ATTEST_REVOKED',
    );
    verifyAndroidKeyAttestation(att.x5c, { ...base, revokedSerials: ['1234'] });
  });

  test('the chain must be ordered leaf first', () => {
    const att = authority.attest({ challenge });
    assertRefused(() => verifyAndroidKeyAttestation([...att.x5c].reverse(), base));
    assertRefused(
      () => verifyAndroidKeyAttestation([att.x5c[0]!, att.x5c[2]!, att.x5c[1]!, att.x5c[3]!], base),
      'ERR_ATTEST_CHAIN',
    );
  });

  test('empty, oversized and non-list chains are malformed', () => {
    assertRefused(() => verifyAndroidKeyAttestation([], base), 'ERR_ATTEST_MALFORMED');
    assertRefused(() => verifyAndroidKeyAttestation(Array(9).fill('AAAA'), base), 'ERR_ATTEST_MALFORMED');
    assertRefused(() => verifyAndroidKeyAttestation('MII' as never, base), 'ERR_ATTEST_MALFORMED');
    assertRefused(() => verifyAndroidKeyAttestation([42 as never], base), 'ERR_ATTEST_MALFORMED');
    assertRefused(() => verifyAndroidKeyAttestation(['not base64!'], base), 'ERR_ATTEST_MALFORMED');
  });
});

/** A hand-built PKI, for certificate-level defects the test authority never produces. */
function customChain(over: {
  intermediate?: Partial<CertificateSpec>;
  batch?: Partial<CertificateSpec>;
  leaf?: Partial<CertificateSpec>;
  kd?: TestAndroidAttestationOptions;
}): { x5c: string[]; trustedRoots: ReturnType<typeof loadTrustAnchors> } {
  const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const [root, intermediate, batch, leaf] = [key(), key(), key(), key()];
  const nb = new Date('2020-01-01T00:00:00Z');
  const na = new Date('2040-01-01T00:00:00Z');
  const rootName = [[OID.serialNumber, 'custom-root']] as const;
  const iName = [[OID.serialNumber, 'custom-intermediate']] as const;
  const bName = [[OID.serialNumber, 'custom-batch']] as const;
  const ca = KeyUsageFlags.keyCertSign;
  const spec = (s: CertificateSpec, o: Partial<CertificateSpec> | undefined) =>
    buildCertificate({ ...s, ...o });
  const rootDer = spec(
    {
      subject: rootName,
      issuer: rootName,
      publicKey: root.publicKey,
      signingKey: root.privateKey,
      notBefore: nb,
      notAfter: na,
      ca: {},
      keyUsage: ca,
    },
    undefined,
  );
  const iDer = spec(
    {
      subject: iName,
      issuer: rootName,
      publicKey: intermediate.publicKey,
      signingKey: root.privateKey,
      notBefore: nb,
      notAfter: na,
      ca: {},
      keyUsage: ca,
    },
    over.intermediate,
  );
  const bDer = spec(
    {
      subject: bName,
      issuer: iName,
      publicKey: batch.publicKey,
      signingKey: intermediate.privateKey,
      notBefore: nb,
      notAfter: na,
      ca: {},
      keyUsage: ca,
    },
    over.batch,
  );
  const lDer = spec(
    {
      subject: [[OID.commonName, 'Android Keystore Key']],
      issuer: bName,
      publicKey: leaf.publicKey as KeyObject,
      signingKey: batch.privateKey,
      notBefore: new Date(0),
      notAfter: new Date('2106-02-07T06:28:15Z'),
      extensions: [{ oid: KEY_DESCRIPTION_OID, value: keyDescription(over.kd ?? { challenge }) }],
    },
    over.leaf,
  );
  return {
    x5c: [lDer, bDer, iDer, rootDer].map((d) => Buffer.from(d).toString('base64')),
    trustedRoots: loadTrustAnchors(pemOf([rootDer])),
  };
}

describe('hand-built chains: certificate-level defects', () => {
  const at = new Date('2030-06-01T00:00:00Z');
  const verify = (c: ReturnType<typeof customChain>) =>
    verifyAndroidKeyAttestation(c.x5c, { expectedChallenge: challenge, trustedRoots: c.trustedRoots, at });

  test('a well-formed custom chain verifies (control)', () => {
    verify(customChain({}));
  });

  test('an expired intermediate', () => {
    const c = customChain({ intermediate: { notAfter: new Date('2030-01-01T00:00:00Z') } });
    assertRefused(() => verify(c), 'ERR_ATTEST_EXPIRED');
  });

  test('an intermediate not yet valid', () => {
    const c = customChain({ intermediate: { notBefore: new Date('2031-01-01T00:00:00Z') } });
    assertRefused(() => verify(c), 'ERR_ATTEST_EXPIRED');
  });

  // Android chains follow Google's rules: issuers need not be marked as CAs (real batch certificates are
  // not); android.shapes.test.ts covers what replaces those checks. App Attest keeps RFC 5280's.
  test('an issuer without basicConstraints, with cA false, without keyCertSign or past its path length', () => {
    const shapes = [
      customChain({ batch: { ca: undefined } }),
      customChain({ batch: { ca: false } }),
      customChain({ batch: { keyUsage: KeyUsageFlags.digitalSignature } }),
      customChain({ intermediate: { keyUsage: undefined } }),
      customChain({ intermediate: { ca: { pathLen: 0 } } }),
    ];
    for (const c of shapes) {
      verify(c);
      const certs = c.x5c.map((d) => parseCertificate(new Uint8Array(Buffer.from(d, 'base64'))));
      assertRefused(
        () => validateChain(certs, { anchors: c.trustedRoots, at: at.getTime() }),
        'ERR_ATTEST_CHAIN',
      );
    }
    const ok = customChain({ intermediate: { ca: { pathLen: 1 } } });
    const certs = ok.x5c.map((d) => parseCertificate(new Uint8Array(Buffer.from(d, 'base64'))));
    validateChain(certs, { anchors: ok.trustedRoots, at: at.getTime() });
  });

  test('an unknown critical extension', () => {
    const ext = [{ oid: '1.2.3.4.5', critical: true, value: Uint8Array.of(0x05, 0x00) }];
    assertRefused(() => verify(customChain({ batch: { extensions: ext } })), 'ERR_ATTEST_CHAIN');
    // The same extension, non-critical, is ignored.
    verify(customChain({ batch: { extensions: [{ ...ext[0]!, critical: false }] } }));
  });

  test('an issuer name that does not match', () => {
    assertRefused(
      () => verify(customChain({ leaf: { issuer: [[OID.serialNumber, 'someone-else']] } })),
      'ERR_ATTEST_CHAIN',
    );
  });

  test('certificates after the anchor', () => {
    const c = customChain({});
    assertRefused(
      () =>
        verifyAndroidKeyAttestation([...c.x5c, c.x5c[1]!], {
          expectedChallenge: challenge,
          trustedRoots: c.trustedRoots,
          at,
        }),
      'ERR_ATTEST_CHAIN',
    );
  });

  test('a leaf that is itself the anchor', () => {
    const c = customChain({});
    assertRefused(
      () =>
        verifyAndroidKeyAttestation([c.x5c[3]!], {
          expectedChallenge: challenge,
          trustedRoots: c.trustedRoots,
          at,
        }),
      'ERR_ATTEST_CHAIN',
    );
  });
});

describe('KeyDescription tolerance', () => {
  /** Rewrite the two authorization lists (software, hardware) of a KeyDescription with `edit`. */
  function editLists(
    der: Uint8Array,
    edit: (sw: Uint8Array[], hw: Uint8Array[]) => [Uint8Array[], Uint8Array[]],
  ): Uint8Array {
    const fields = children(der, readSingle(der));
    const parts = fields.slice(0, 6).map((f) => der.subarray(f.start, f.end));
    const [sw, hw] = fields
      .slice(6)
      .map((list) => children(der, list).map((c) => der.subarray(c.start, c.end)));
    for (const items of edit(sw!, hw!)) {
      const body = concat(items);
      parts.push(concat([Uint8Array.of(0x30), encodeLength(body.length), body]));
    }
    const body = concat(parts);
    return concat([Uint8Array.of(0x30), encodeLength(body.length), body]);
  }
  const unknownTag = Uint8Array.of(0xbf, 0x86, 0x20, 0x03, 0x02, 0x01, 0x05); // [800] { INTEGER 5 }

  test('tags out of order and unknown tags are tolerated (real devices produce both)', () => {
    const der = editLists(keyDescription({ challenge }), (sw, hw) => [
      [unknownTag, ...sw.reverse()],
      hw.reverse(),
    ]);
    const kd = parseKeyDescription(der);
    assert.equal(kd.osVersion, 150000);
    assert.equal(kd.rootOfTrust?.verifiedBootState, 'VERIFIED');
    const att = authority.attest({ challenge, keyDescriptionDer: der });
    verifyAndroidKeyAttestation(att.x5c, base);
  });

  test('a repeated tag is refused (two values for one property)', () => {
    const der = editLists(keyDescription({ challenge }), (sw, hw) => [sw, [...hw, hw[hw.length - 1]!]]);
    assertRefused(() => parseKeyDescription(der), 'ERR_ATTEST_MALFORMED');
  });

  test('root of trust and OS version are read from the software list when hardware lacks them', () => {
    // Hardware list: purpose, algorithm, keySize, ecCurve, noAuthRequired, origin | rootOfTrust, osVersion, osPatchLevel.
    const moved = editLists(keyDescription({ challenge }), (sw, hw) => [
      [...sw, ...hw.slice(6)],
      hw.slice(0, 6),
    ]);
    const kd = parseKeyDescription(moved);
    assert.equal(kd.osVersion, 150000);
    assert.equal(kd.rootOfTrust?.deviceLocked, true);
    const dropped = editLists(keyDescription({ challenge }), (sw, hw) => [sw, hw.slice(0, 6)]);
    const none = parseKeyDescription(dropped);
    assert.equal(none.osVersion, null);
    assert.equal(none.rootOfTrust, null);
    // Without a root of trust, a verified-boot policy cannot be met.
    const att = authority.attest({ challenge, keyDescriptionDer: dropped });
    assertRefused(
      () => verifyAndroidKeyAttestation(att.x5c, { ...base, requireVerifiedBoot: true }),
      'ERR_ATTEST_BOOT',
    );
  });

  test('garbage in place of the extension is malformed', () => {
    for (const bytes of [
      Uint8Array.of(),
      Uint8Array.of(0x30, 0x00),
      Uint8Array.of(0x30, 0x80, 0x00, 0x00),
      Uint8Array.of(0x04, 0x01, 0x00),
    ]) {
      assertRefused(() => parseKeyDescription(bytes), 'ERR_ATTEST_MALFORMED');
    }
  });
});
