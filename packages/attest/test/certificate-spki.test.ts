/**
 * A certificate's public key bytes are taken as signed when they are one of the DER templates of the
 * keys devices attest (and the schema library read the same key), instead of being re-encoded by the
 * schema library (0.1–0.5 ms of a leaf's parse). Held here to the re-encoding, which is what they were
 * before: on every real device certificate and bundled root, on the test authority's chain, and on
 * mutated certificates (values across the range of each of the key's structural bytes, and random
 * bytes anywhere), which must yield the re-encoding or be refused, never other bytes.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { decode } from 'cbor-x';
import fc from 'fast-check';
import { parseCertificate } from '../src/certificate.ts';
import { children, readSingle, type Tlv } from '../src/der.ts';
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

/**
 * `der` with byte `at` set to `value`: refused by the parser (false), or parsed with the key bytes the
 * re-encoding gives (true; asserted).
 */
function sameKeyBytesOrRefused(der: Uint8Array, at: number, value: number, what: string): boolean {
  const mutated = new Uint8Array(der);
  mutated[at] = value;
  let bytes: Uint8Array;
  try {
    bytes = parseCertificate(mutated).spki;
  } catch {
    return false;
  }
  assert.deepEqual(bytes, reencoded(mutated), what);
  return true;
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

  test('every value of every byte before the key itself gives the re-encoding, or a refusal', () => {
    // The SPKI's tags, lengths, algorithm and curve (27 bytes of a P-256 key): where the schema
    // library and the bytes as signed could part, each byte through values across its range.
    const der = b64(sample.x5c[0] as string);
    const spki = spkiElement(der);
    let parsed = 0;
    for (let at = spki.start; at < spki.start + 27; at++)
      for (let value = 0; value < 256; value += at === spki.start ? 1 : 7) {
        if (sameKeyBytesOrRefused(der, at, value, `byte ${at - spki.start} = ${value}`)) parsed++;
      }
    assert.ok(parsed > 27, `only ${parsed} mutated certificates parsed`);
  });

  test('a public key under another tag than SEQUENCE (read by the schema library anyway) is re-encoded', () => {
    // Found by the property below: [0] constructed (0xa0) in the SEQUENCE's place parsed, and the
    // bytes as signed then differed from the re-encoding in their first byte.
    const der = b64(sample.x5c[0] as string);
    const mutated = new Uint8Array(der);
    mutated[spkiElement(der).start] = 0xa0;
    assert.deepEqual(parseCertificate(mutated).spki, reencoded(mutated));
  });

  test('whatever one byte of a certificate becomes, the key bytes are the re-encoding or it is refused', () => {
    const der = b64(sample.x5c[0] as string);
    const spki = spkiElement(der);
    // Half the bytes changed are in the key's own bytes, where the two readings could part.
    const position = fc.oneof(fc.nat(der.length - 1), fc.integer({ min: spki.start, max: spki.end - 1 }));
    fc.assert(
      fc.property(position, fc.integer({ min: 0, max: 255 }), (at, value) => {
        sameKeyBytesOrRefused(der, at, value, `byte ${at} = ${value}`);
      }),
      { numRuns: 1000 },
    );
  });
});
