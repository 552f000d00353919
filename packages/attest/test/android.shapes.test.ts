/**
 * The real-world variety of Android evidence (issue 11), each shape built by the test PKI where the
 * fixtures have no real sample: CA-less batch certificates, chain extension, newer KeyMint versions and
 * unknown tags, factory dates, leaf keys Node cannot load, and a signature BIT STRING with unused bits.
 * Every shape either verifies or is refused as packages/attest/README.md "Policy decisions" says.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { parseCertificate } from '../src/certificate.ts';
import { isFactoryProvisioned } from '../src/chain.ts';
import { children, concat, encodeLength, readSingle } from '../src/der.ts';
import {
  androidAttestationJson,
  attestationBinding,
  KEY_DESCRIPTION_OID,
  loadTrustAnchors,
  parseKeyDescription,
  verifyAndroidKeyAttestation,
} from '../src/index.ts';
import { createTestAttestationAuthority, keyDescription, mlDsa65Spki } from '../src/testing.ts';
import { buildCertificate, OID, pemOf } from '../src/x509build.ts';
import { assertRefused, b64, fixture } from './helpers.ts';

const challenge = attestationBinding('n-shapes-0123', 'jkt-shapes-4567');
const DAY = 86_400_000;
const der = (b64text: string) => new Uint8Array(Buffer.from(b64text, 'base64'));
const b64of = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('1. factory batch certificates not marked as CA', () => {
  const caLess = createTestAttestationAuthority({ caLessBatch: true });
  const opts = { expectedChallenge: challenge, trustedRoots: caLess.trustedRoots };

  test('a batch certificate without basicConstraints or keyUsage signs the device key: verifies', () => {
    const att = caLess.attest({ challenge, packageName: 'com.acme.orders' });
    const batch = parseCertificate(der(att.x5c[1]!));
    assert.equal(batch.basicConstraints, undefined);
    assert.equal(batch.keyUsage, undefined);
    const r = verifyAndroidKeyAttestation(att.x5c, { ...opts, expectedPackageName: 'com.acme.orders' });
    assert.equal(r.securityLevel, 'TRUSTED_ENVIRONMENT');
  });

  test('a genuine attested key used to sign a forged leaf (chain extension) is refused', () => {
    const genuine = caLess.attest({
      challenge: attestationBinding('old', 'x'),
      packageName: 'com.acme.orders',
    });
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = buildCertificate({
      subject: [[OID.commonName, 'Android Keystore Key']],
      issuer: [[OID.commonName, 'Android Keystore Key']],
      publicKey: attacker.publicKey,
      signingKey: genuine.privateKey!,
      notBefore: new Date(0),
      notAfter: new Date('2106-02-07T06:28:15Z'),
      extensions: [
        { oid: KEY_DESCRIPTION_OID, value: keyDescription({ challenge, packageName: 'com.acme.orders' }) },
      ],
    });
    const extended = [b64of(forged), ...genuine.x5c];
    const e = assertRefused(() => verifyAndroidKeyAttestation(extended, opts), 'ERR_ATTEST_CHAIN');
    assert.match(e.message, /above the leaf/);
    // Without the attestation extension on the forged certificate: refused all the same (no extension).
    const bare = buildCertificate({
      subject: [[OID.commonName, 'Android Keystore Key']],
      issuer: [[OID.commonName, 'Android Keystore Key']],
      publicKey: attacker.publicKey,
      signingKey: genuine.privateKey!,
      notBefore: new Date(0),
      notAfter: new Date('2106-02-07T06:28:15Z'),
    });
    assertRefused(() => verifyAndroidKeyAttestation([b64of(bare), ...genuine.x5c], opts));
  });

  test('an attestation extension on any certificate above the leaf is refused', () => {
    const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const [root, inter, batch, leaf] = [key(), key(), key(), key()];
    const names = {
      root: [[OID.serialNumber, 'ext-root']] as const,
      inter: [
        [OID.serialNumber, 'ext-inter'],
        [OID.title, 'TEE'],
      ] as const,
      batch: [[OID.serialNumber, 'ext-batch']] as const,
    };
    const nb = new Date(Date.now() - 365 * DAY);
    const na = new Date(Date.now() + 365 * DAY);
    const ext = [{ oid: KEY_DESCRIPTION_OID, value: keyDescription({ challenge }) }];
    const build = (onBatch: boolean, onInter: boolean) => {
      const rootDer = buildCertificate({
        subject: names.root,
        issuer: names.root,
        publicKey: root.publicKey,
        signingKey: root.privateKey,
        notBefore: nb,
        notAfter: na,
        ca: {},
        keyUsage: KeyUsageFlags.keyCertSign,
      });
      const interDer = buildCertificate({
        subject: names.inter,
        issuer: names.root,
        publicKey: inter.publicKey,
        signingKey: root.privateKey,
        notBefore: nb,
        notAfter: na,
        ...(onInter ? { extensions: ext } : {}),
      });
      const batchDer = buildCertificate({
        subject: names.batch,
        issuer: names.inter,
        publicKey: batch.publicKey,
        signingKey: inter.privateKey,
        notBefore: nb,
        notAfter: na,
        ...(onBatch ? { extensions: ext } : {}),
      });
      const leafDer = buildCertificate({
        subject: [[OID.commonName, 'Android Keystore Key']],
        issuer: names.batch,
        publicKey: leaf.publicKey,
        signingKey: batch.privateKey,
        notBefore: new Date(0),
        notAfter: new Date('2106-02-07T06:28:15Z'),
        extensions: ext,
      });
      return {
        x5c: [leafDer, batchDer, interDer, rootDer].map(b64of),
        trustedRoots: loadTrustAnchors(pemOf([rootDer])),
      };
    };
    const control = build(false, false);
    verifyAndroidKeyAttestation(control.x5c, {
      expectedChallenge: challenge,
      trustedRoots: control.trustedRoots,
    });
    for (const [onBatch, onInter] of [
      [true, false],
      [false, true],
    ] as const) {
      const c = build(onBatch, onInter);
      assertRefused(
        () =>
          verifyAndroidKeyAttestation(c.x5c, { expectedChallenge: challenge, trustedRoots: c.trustedRoots }),
        'ERR_ATTEST_CHAIN',
      );
    }
  });
});

describe('2. newer attestation versions and unknown tags', () => {
  const authority = createTestAttestationAuthority();
  const opts = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };
  // Tags no KeyMint release Charter knows defines, in both lists, with various value types.
  const extraAuthorizations = [
    { tag: 725, value: Uint8Array.of(0x02, 0x01, 0x07) },
    { tag: 726, value: Uint8Array.of(0x04, 0x03, 1, 2, 3) },
    { tag: 800, value: Uint8Array.of(0x30, 0x03, 0x01, 0x01, 0xff), list: 'software' as const },
    { tag: 5000, value: Uint8Array.of(0x05, 0x00) },
    { tag: 0x0fffffff, value: Uint8Array.of(0x31, 0x00) },
  ];

  test('KeyMint 500 (Android SDK 37) with tags this verifier never saw: verifies, fields read by tag', () => {
    const att = authority.attest({
      challenge,
      attestationVersion: 500,
      packageName: 'com.acme.orders',
      osVersion: 170000,
      osPatchLevel: 202609,
      extraAuthorizations,
    });
    const r = verifyAndroidKeyAttestation(att.x5c, {
      ...opts,
      expectedPackageName: 'com.acme.orders',
      requireVerifiedBoot: true,
    });
    assert.equal(r.attestationVersion, 500);
    assert.equal(r.keymintVersion, 500);
    assert.equal(r.osVersion, 170000);
    assert.equal(r.osPatchLevel, 202609);
    assert.equal(r.verifiedBootState, 'VERIFIED');
  });

  test('versions after 500, with fields appended after the eight: verify', () => {
    for (const version of [600, 700, 1000]) {
      const att = authority.attest({
        challenge,
        attestationVersion: version,
        extraAuthorizations,
        extraKeyDescriptionFields: [Uint8Array.of(0x02, 0x01, 0x01), Uint8Array.of(0x30, 0x00)],
      });
      assert.equal(verifyAndroidKeyAttestation(att.x5c, opts).attestationVersion, version);
    }
  });

  test('an unknown tag may repeat and hold anything; a tag Charter reads may not repeat', () => {
    const twice = [
      { tag: 9999, value: Uint8Array.of(0x02, 0x01, 0x01) },
      { tag: 9999, value: Uint8Array.of(0x02, 0x01, 0x02) },
    ];
    verifyAndroidKeyAttestation(
      authority.attest({ challenge, attestationVersion: 500, extraAuthorizations: twice }).x5c,
      opts,
    );
    // origin (702) a second time, claiming GENERATED after IMPORTED: refused, whichever comes first.
    const origin = [{ tag: 702, value: Uint8Array.of(0x02, 0x01, 0x00) }];
    assertRefused(
      () => parseKeyDescription(keyDescription({ challenge, origin: 2, extraAuthorizations: origin })),
      'ERR_ATTEST_MALFORMED',
    );
  });

  test('a tag Charter reads with the wrong type is malformed, not guessed', () => {
    for (const [tag, value, list] of [
      [709, Uint8Array.of(0x02, 0x01, 0x01), 'hardware'], // attestationApplicationId as INTEGER
      [303, Uint8Array.of(0x02, 0x01, 0x01), 'hardware'], // rollbackResistance as INTEGER, not NULL
      [718, Uint8Array.of(0x04, 0x01, 0x01), 'hardware'], // vendorPatchLevel as OCTET STRING
    ] as const) {
      const kd = keyDescription({ challenge, extraAuthorizations: [{ tag, value, list }] });
      assertRefused(() => parseKeyDescription(kd), 'ERR_ATTEST_MALFORMED');
    }
    // Hardware-enforced values win: a malformed software copy of osVersion is never consulted.
    const shadowed = [{ tag: 705, value: Uint8Array.of(0x04, 0x01, 0x01), list: 'software' as const }];
    assert.equal(
      parseKeyDescription(keyDescription({ challenge, extraAuthorizations: shadowed })).osVersion,
      150000,
    );
  });

  test('BER forms some Keymasters write: TRUE as 01, integers with redundant leading bytes', () => {
    const kd = keyDescription({
      challenge,
      extraAuthorizations: [{ tag: 718, value: Uint8Array.of(0x02, 0x05, 0x00, 0x00, 0x03, 0x16, 0xa9) }],
    });
    const at = Buffer.from(kd).indexOf(Buffer.of(0x01, 0x01, 0xff));
    assert.ok(at > 0 && Buffer.from(kd).indexOf(Buffer.of(0x01, 0x01, 0xff), at + 1) === -1);
    const ber = new Uint8Array(kd);
    ber[at + 2] = 0x01;
    const r = parseKeyDescription(ber);
    assert.equal(r.rootOfTrust?.deviceLocked, true);
    assert.equal(r.vendorPatchLevel, 202409);
    verifyAndroidKeyAttestation(authority.attest({ challenge, keyDescriptionDer: ber }).x5c, {
      ...opts,
      requireVerifiedBoot: true,
    });
  });

  test('fewer than eight fields is malformed', () => {
    const full = keyDescription({ challenge });
    const fields = children(full, readSingle(full)).slice(0, 7);
    const body = concat(fields.map((f) => full.subarray(f.start, f.end)));
    assertRefused(
      () => parseKeyDescription(concat([Uint8Array.of(0x30), encodeLength(body.length), body])),
      'ERR_ATTEST_MALFORMED',
    );
  });
});

describe('3. validity dates (Google: the device cannot fix factory dates)', () => {
  const authority = createTestAttestationAuthority();
  const opts = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };

  test('a leaf that expired in 1970, or starts in 2100, or outside its issuer: verifies (device-set dates)', () => {
    for (const [leafNotBefore, leafNotAfter] of [
      [new Date(0), new Date(DAY)],
      [new Date('2100-01-01T00:00:00Z'), new Date('2101-01-01T00:00:00Z')],
      [new Date('1990-01-01T00:00:00Z'), new Date('2200-01-01T00:00:00Z')],
      [new Date('2030-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z')],
    ] as const) {
      verifyAndroidKeyAttestation(authority.attest({ challenge, leafNotBefore, leafNotAfter }).x5c, opts);
    }
  });

  test('factory-provisioned intermediates that expired: verify (Google ignores their expiry)', () => {
    const old = createTestAttestationAuthority({
      notBefore: new Date('2010-01-01T00:00:00Z'),
      notAfter: new Date('2020-01-01T00:00:00Z'),
    });
    const att = old.attest({ challenge });
    assert.ok(isFactoryProvisioned(att.x5c.slice(0, 3).map((c) => parseCertificate(der(c)))));
    verifyAndroidKeyAttestation(att.x5c, { expectedChallenge: challenge, trustedRoots: old.trustedRoots });
  });

  test('a 3-certificate factory chain (batch key under the root) is classified by its batch certificate', () => {
    const att = createTestAttestationAuthority().attest({ challenge });
    const [leaf, batch, intermediate] = att.x5c.map((c) => parseCertificate(der(c)));
    assert.equal(isFactoryProvisioned([leaf!, intermediate!]), true);
    assert.equal(isFactoryProvisioned([leaf!, batch!]), true); // serialNumber + title "TEE"
    assert.equal(isFactoryProvisioned([leaf!]), false);
    const rkp = createTestAttestationAuthority({ provisioning: 'remote' }).attest({ challenge });
    const [rl, rb, ri] = rkp.x5c.map((c) => parseCertificate(der(c)));
    assert.equal(isFactoryProvisioned([rl!, rb!, ri!]), false);
  });

  test('remotely provisioned (RKP) intermediates that expired: refused', () => {
    const rkp = createTestAttestationAuthority({
      provisioning: 'remote',
      notBefore: new Date('2010-01-01T00:00:00Z'),
      notAfter: new Date('2020-01-01T00:00:00Z'),
    });
    const att = rkp.attest({ challenge });
    assertRefused(
      () =>
        verifyAndroidKeyAttestation(att.x5c, {
          expectedChallenge: challenge,
          trustedRoots: rkp.trustedRoots,
        }),
      'ERR_ATTEST_EXPIRED',
    );
    const fresh = createTestAttestationAuthority({ provisioning: 'remote' });
    verifyAndroidKeyAttestation(fresh.attest({ challenge }).x5c, {
      expectedChallenge: challenge,
      trustedRoots: fresh.trustedRoots,
    });
  });

  test('intermediates not yet valid: refused, factory or not', () => {
    for (const provisioning of ['factory', 'remote'] as const) {
      const future = createTestAttestationAuthority({
        provisioning,
        notBefore: new Date(Date.now() + 365 * DAY),
        notAfter: new Date(Date.now() + 3650 * DAY),
      });
      assertRefused(
        () =>
          verifyAndroidKeyAttestation(future.attest({ challenge }).x5c, {
            expectedChallenge: challenge,
            trustedRoots: future.trustedRoots,
          }),
        'ERR_ATTEST_EXPIRED',
      );
    }
  });

  test('real samples: the factory Pixel 3 chain at 2030 verifies, the RKP Pixel 9 Pro chain does not', () => {
    const aka1 = fixture('android-keyattest-androidkeyattestation-1.json');
    const aka5 = fixture('android-keyattest-androidkeyattestation-5.json');
    const at = new Date('2030-01-01T00:00:00Z');
    verifyAndroidKeyAttestation(aka1.raw.certificate_chain_der_b64, {
      expectedChallenge: b64(aka1.inputs.expected_challenge_b64),
      at,
    });
    assertRefused(
      () =>
        verifyAndroidKeyAttestation(aka5.raw.certificate_chain_der_b64, {
          expectedChallenge: b64(aka5.inputs.expected_challenge_b64),
          at,
        }),
      'ERR_ATTEST_EXPIRED',
    );
  });
});

describe('4. leaf keys Charter cannot use as instance keys', () => {
  const authority = createTestAttestationAuthority();

  test('an ML-DSA-65 leaf: the chain and the KeyDescription verify, the key is reported as unusable', () => {
    const spki = mlDsa65Spki();
    const att = authority.attest({
      challenge,
      leafSpki: spki,
      packageName: 'com.acme.orders',
      attestationVersion: 500,
    });
    const r = verifyAndroidKeyAttestation(att.x5c, {
      expectedChallenge: challenge,
      expectedPackageName: 'com.acme.orders',
      trustedRoots: authority.trustedRoots,
    });
    assert.equal(r.leafPublicKey, null);
    assert.equal(r.leafKeyAlgorithm, 'ml-dsa-65');
    assert.deepEqual(Buffer.from(r.leafSpki), Buffer.from(spki));
    assert.equal(r.packages[0]?.name, 'com.acme.orders');
    const json = androidAttestationJson(r);
    assert.equal(json.leaf_key_algorithm, 'ml-dsa-65');
    assert.equal(json.leaf_spki_b64, b64of(spki));
  });

  test('a key of an algorithm nobody names: reported by its OID, unusable', () => {
    const oid = Uint8Array.of(0x06, 0x03, 0x2a, 0x03, 0x04); // 1.2.3.4
    const alg = concat([Uint8Array.of(0x30, oid.length), oid]);
    const bits = Uint8Array.of(0x03, 0x05, 0x00, 1, 2, 3, 4);
    const spki = concat([Uint8Array.of(0x30, alg.length + bits.length), alg, bits]);
    const r = verifyAndroidKeyAttestation(authority.attest({ challenge, leafSpki: spki }).x5c, {
      expectedChallenge: challenge,
      trustedRoots: authority.trustedRoots,
    });
    assert.equal(r.leafPublicKey, null);
    assert.equal(r.leafKeyAlgorithm, '1.2.3.4');
  });

  test('the usual keys are named', () => {
    for (const [pair, name] of [
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ec-p256'],
      [generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ec-p384'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa-2048'],
      [generateKeyPairSync('ed25519'), 'ed25519'],
    ] as const) {
      const r = verifyAndroidKeyAttestation(authority.attest({ challenge, publicKey: pair.publicKey }).x5c, {
        expectedChallenge: challenge,
        trustedRoots: authority.trustedRoots,
      });
      assert.equal(r.leafKeyAlgorithm, name);
      assert.ok(r.leafPublicKey);
    }
  });
});

describe('5. a signature BIT STRING with a non-zero unused-bits byte', () => {
  const authority = createTestAttestationAuthority();
  const opts = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };

  /** The certificate with the signature's unused-bits byte set to `bits` (the signature bytes unchanged). */
  function withUnusedBits(cert: Uint8Array, bits: number): Uint8Array {
    const out = new Uint8Array(cert);
    const sig = children(out, readSingle(out))[2]!;
    out[sig.contentStart] = bits;
    return out;
  }

  test('on any certificate of the chain: refused as malformed, as Node (OpenSSL) refuses it', () => {
    const att = authority.attest({ challenge });
    verifyAndroidKeyAttestation(att.x5c, opts);
    for (let i = 0; i < att.x5c.length; i++) {
      const issuer = new X509Certificate(der(att.x5c[Math.min(i + 1, att.x5c.length - 1)]!));
      assert.ok(new X509Certificate(der(att.x5c[i]!)).verify(issuer.publicKey));
      for (const bits of [1, 7]) {
        const bad = withUnusedBits(der(att.x5c[i]!), bits);
        assert.equal(new X509Certificate(bad).verify(issuer.publicKey), false);
        const x5c = [...att.x5c];
        x5c[i] = b64of(bad);
        // The root itself is the anchor (matched by key); its bytes are still parsed, so still refused.
        assertRefused(() => verifyAndroidKeyAttestation(x5c, opts), 'ERR_ATTEST_MALFORMED');
      }
    }
  });

  test('a subject key BIT STRING with unused bits, in a correctly re-signed leaf: refused', () => {
    // Re-sign a leaf whose subjectPublicKey BIT STRING claims 3 unused bits, with a key we hold.
    const issuer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const name = [[OID.serialNumber, 'bits-root']] as const;
    const rootDer = buildCertificate({
      subject: name,
      issuer: name,
      publicKey: issuer.publicKey,
      signingKey: issuer.privateKey,
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + DAY),
      ca: {},
      keyUsage: KeyUsageFlags.keyCertSign,
    });
    const leafDer = buildCertificate({
      subject: [[OID.commonName, 'Android Keystore Key']],
      issuer: name,
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      signingKey: issuer.privateKey,
      notBefore: new Date(0),
      notAfter: new Date('2106-02-07T06:28:15Z'),
      extensions: [{ oid: KEY_DESCRIPTION_OID, value: keyDescription({ challenge }) }],
    });
    const trustedRoots = loadTrustAnchors(pemOf([rootDer]));
    const resign = (tbs: Uint8Array, cert: Uint8Array) => {
      const [, alg] = children(cert, readSingle(cert));
      const signature = sign('sha256', tbs, issuer.privateKey);
      const bits = concat([
        Uint8Array.of(0x03),
        encodeLength(signature.length + 1),
        Uint8Array.of(0),
        signature,
      ]);
      const body = concat([tbs, cert.subarray(alg!.start, alg!.end), bits]);
      return concat([Uint8Array.of(0x30), encodeLength(body.length), body]);
    };
    const [tbsTlv] = children(leafDer, readSingle(leafDer));
    const tbs = new Uint8Array(leafDer.subarray(tbsTlv!.start, tbsTlv!.end));
    const fields = children(tbs, readSingle(tbs));
    const spki = fields[6]!; // [0] version, serial, signature, issuer, validity, subject, spki
    const bitString = children(tbs, spki)[1]!;
    verifyAndroidKeyAttestation([b64of(resign(tbs, leafDer))], {
      expectedChallenge: challenge,
      trustedRoots,
    });
    tbs[bitString.contentStart] = 3;
    assertRefused(
      () =>
        verifyAndroidKeyAttestation([b64of(resign(tbs, leafDer))], {
          expectedChallenge: challenge,
          trustedRoots,
        }),
      'ERR_ATTEST_MALFORMED',
    );
  });
});
