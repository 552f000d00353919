/**
 * A certificate's public key bytes are taken as signed when they are canonical DER, instead of being
 * re-encoded by the schema library (a third of a leaf's parse). Held here to the re-encoding, which
 * is what they were before: on every real device certificate and bundled root, on certificates of
 * the test authority, and on BER variants of them (long-form lengths, padded arcs and integers),
 * which must fall back to the re-encoding or be refused, never yield other bytes.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { decode } from 'cbor-x';
import fc from 'fast-check';
import { parseCertificate } from '../src/certificate.ts';
import { children, isCanonicalDer, readSingle, type Tlv } from '../src/der.ts';
import { certificatesFromPem, GOOGLE_HARDWARE_ROOT_PEMS } from '../src/index.ts';
import { APPLE_APP_ATTESTATION_ROOT_PEM } from '../src/roots.ts';
import { createTestAttestationAuthority } from '../src/testing.ts';
import { b64, fixture, fixtureNames } from './helpers.ts';

/** The key bytes as the parser produced them before: the schema library's re-encoding. */
function reencoded(der: Uint8Array): Uint8Array {
  const cert = AsnConvert.parse(der, Certificate);
  return new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo));
}

function realCertificates(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const name of fixtureNames('android-keyattest-')) {
    const chain = fixture(name).raw?.certificate_chain_der_b64;
    if (Array.isArray(chain)) for (const c of chain) out.push(b64(c as string));
  }
  for (const name of fixtureNames('apple-appattest-')) {
    const raw = fixture(name).raw?.attestation_object_b64;
    if (typeof raw !== 'string') continue;
    const x5c = (decode(Buffer.from(raw, 'base64')) as { attStmt?: { x5c?: Uint8Array[] } }).attStmt?.x5c;
    for (const c of x5c ?? []) out.push(new Uint8Array(c));
  }
  for (const pem of [...GOOGLE_HARDWARE_ROOT_PEMS, APPLE_APP_ATTESTATION_ROOT_PEM])
    for (const c of certificatesFromPem(pem)) out.push(new Uint8Array(c));
  return out;
}

/** The subjectPublicKeyInfo element of a certificate (the TBS's sixth field after the optional version). */
function spkiElement(der: Uint8Array): Tlv {
  const tbs = children(der, readSingle(der))[0];
  assert.ok(tbs);
  const fields = children(der, tbs);
  const spki = fields[(fields[0]?.tagClass === 2 ? 1 : 0) + 5];
  assert.ok(spki);
  return spki;
}

const authority = createTestAttestationAuthority();
const sample = authority.attest({
  publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
  challenge: createHash('sha256').update('spki').digest(),
  packageName: 'com.example.spki',
  signingCertDigests: ['00'.repeat(32)],
});

describe('certificate public key bytes', () => {
  test('equal the re-encoding on every real certificate and bundled root', () => {
    const certs = realCertificates();
    assert.ok(certs.length >= 30, `only ${certs.length} certificates`);
    for (const der of certs) assert.deepEqual(parseCertificate(der).spki, reencoded(der));
  });

  test('equal the re-encoding on the test authority chain', () => {
    for (const c of sample.x5c) {
      const der = b64(c);
      assert.deepEqual(parseCertificate(der).spki, reencoded(der));
    }
  });

  test('a BER public key (long-form length) is re-encoded, not taken as sent', () => {
    const der = b64(sample.x5c[0] as string);
    const spki = spkiElement(der);
    assert.ok(der[spki.start] === 0x30 && spki.contentStart - spki.start === 2);
    assert.equal(isCanonicalDer(der, spki), true);
    // The same SEQUENCE with its length as 0x81 NN: BER, and no longer canonical.
    const length = spki.end - spki.contentStart;
    const ber = new Uint8Array([0x30, 0x81, length, ...der.subarray(spki.contentStart, spki.end)]);
    assert.equal(isCanonicalDer(ber, readSingle(ber)), false);
  });

  test('isCanonicalDer refuses padded integers and arcs, and non-empty NULLs', () => {
    const canonical = (bytes: number[]) => {
      const b = new Uint8Array(bytes);
      return isCanonicalDer(b, readSingle(b));
    };
    assert.equal(canonical([0x02, 0x01, 0x05]), true);
    assert.equal(canonical([0x02, 0x02, 0x00, 0x05]), false);
    assert.equal(canonical([0x02, 0x02, 0x00, 0x85]), true);
    assert.equal(canonical([0x02, 0x02, 0xff, 0x85]), false);
    assert.equal(canonical([0x06, 0x03, 0x2a, 0x86, 0x48]), true);
    assert.equal(canonical([0x06, 0x04, 0x2a, 0x80, 0x86, 0x48]), false);
    assert.equal(canonical([0x06, 0x02, 0x2a, 0x86]), false);
    assert.equal(canonical([0x05, 0x00]), true);
    assert.equal(canonical([0x05, 0x01, 0x00]), false);
    assert.equal(canonical([0x30, 0x03, 0x02, 0x01, 0x01]), true);
    assert.equal(canonical([0x30, 0x81, 0x03, 0x02, 0x01, 0x01]), false);
  });

  test('whatever one byte of a certificate becomes, the key bytes are the re-encoding or it is refused', () => {
    const der = b64(sample.x5c[0] as string);
    const spki = spkiElement(der);
    // Half the bytes changed are in the key's own bytes, where the two readings could part.
    const position = fc.oneof(fc.nat(der.length - 1), fc.integer({ min: spki.start, max: spki.end - 1 }));
    fc.assert(
      fc.property(position, fc.integer({ min: 0, max: 255 }), (at, value) => {
        const mutated = new Uint8Array(der);
        mutated[at] = value;
        let spki: Uint8Array;
        try {
          spki = parseCertificate(mutated).spki;
        } catch {
          return; // refused: nothing to compare
        }
        assert.deepEqual(spki, reencoded(mutated));
      }),
      { numRuns: 600 },
    );
  });
});
