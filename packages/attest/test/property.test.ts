/**
 * Property tests: random bytes and mutated real samples never make a verifier throw anything but
 * CharterError `invalid_attestation` (and never crash the process).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { parseCertificate } from '../src/certificate.ts';
import { children, readSingle } from '../src/der.ts';
import {
  KEY_DESCRIPTION_OID,
  parseKeyDescription,
  verifyAndroidKeyAttestation,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '../src/index.ts';
import { createTestAttestationAuthority, keyDescription, mlDsa65Spki } from '../src/testing.ts';
import { assertRefused, b64, fixture, isAttestationRefusal } from './helpers.ts';

/** Run `fn`; it may succeed or refuse, but nothing else. */
function onlyRefuses(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!isAttestationRefusal(e)) throw e;
    return true;
  }
}

/** A mutation of `bytes`: flipped bits, overwritten bytes, truncation, insertion or deletion. */
function mutated(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  const len = bytes.length;
  return fc.oneof(
    fc
      .array(fc.tuple(fc.nat(len - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
      .map((edits) => {
        const out = new Uint8Array(bytes);
        for (const [i, x] of edits) out[i]! ^= x;
        return out;
      }),
    fc.nat(len).map((n) => bytes.slice(0, n)),
    fc.tuple(fc.nat(len), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, ins]) => {
      const out = new Uint8Array(len + ins.length);
      out.set(bytes.subarray(0, i));
      out.set(ins, i);
      out.set(bytes.subarray(i), i + ins.length);
      return out;
    }),
    fc
      .tuple(fc.nat(len - 1), fc.integer({ min: 1, max: 16 }))
      .map(([i, n]) => Uint8Array.of(...bytes.subarray(0, i), ...bytes.subarray(i + n))),
  );
}

const android = fixture('android-keyattest-androidkeyattestation-5.json');
const androidChain = (android.raw.certificate_chain_der_b64 as string[]).map(b64);
const androidOpts = {
  expectedChallenge: b64(android.inputs.expected_challenge_b64),
  at: new Date(android.valid_at),
};
const apple = fixture('apple-appattest-veehaitch-1.json');
const appleBytes = b64(apple.raw.attestation_object_b64);
const appleOpts = {
  expectedKeyId: apple.raw.key_id_b64 as string,
  expectedClientDataHash: b64(apple.inputs.client_data_hash_b64),
  expectedAppId: apple.inputs.app_id as string,
  allowDevelopment: true,
  at: new Date(apple.valid_at),
};
const assertionFixture = fixture('apple-appattest-veehaitch-assertion-1.json');
const assertionBytes = b64(assertionFixture.raw.assertion_b64);
const assertionOpts = {
  publicKey: assertionFixture.inputs.attested_public_key_pem as string,
  expectedClientDataHash: b64(assertionFixture.inputs.client_data_hash_b64),
  expectedAppId: assertionFixture.inputs.app_id as string,
  previousCounter: 0,
};
const leafExtension = parseCertificate(androidChain[0]!).extensions.get(KEY_DESCRIPTION_OID)!.value;

describe('random input only ever refuses', () => {
  test('random bytes and text as App Attest attestations and assertions', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.string({ maxLength: 300 })),
        (input) =>
          onlyRefuses(() => verifyAppleAppAttestation(input, appleOpts)) &&
          onlyRefuses(() => verifyAppleAssertion(input, assertionOpts)),
      ),
      { numRuns: 400 },
    );
  });

  test('random CBOR-looking bytes (map header first) as App Attest objects', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0xa0, max: 0xbf }), fc.uint8Array({ maxLength: 300 }), (head, tail) => {
        const input = Uint8Array.of(head, ...tail);
        return (
          onlyRefuses(() => verifyAppleAppAttestation(input, appleOpts)) &&
          onlyRefuses(() => verifyAppleAssertion(input, assertionOpts))
        );
      }),
      { numRuns: 400 },
    );
  });

  test('random certificate lists as Android chains', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.base64String({ maxLength: 200 }), fc.string()),
          {
            maxLength: 10,
          },
        ),
        (x5c) => onlyRefuses(() => verifyAndroidKeyAttestation(x5c, androidOpts)),
      ),
      { numRuns: 400 },
    );
  });

  test('random DER-looking bytes (SEQUENCE header first) as certificates and key descriptions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const input = Uint8Array.of(0x30, 0x82, tail.length >> 8, tail.length & 0xff, ...tail);
        return (
          onlyRefuses(() => verifyAndroidKeyAttestation([input], androidOpts)) &&
          onlyRefuses(() => parseKeyDescription(input))
        );
      }),
      { numRuns: 400 },
    );
  });
});

describe('mutated real samples only ever refuse (or, where no signature covers the bytes, still verify)', () => {
  test('Android chain with one certificate mutated', () => {
    fc.assert(
      fc.property(
        fc.nat(androidChain.length - 1).chain((i) => fc.tuple(fc.constant(i), mutated(androidChain[i]!))),
        ([i, cert]) => {
          const x5c = [...androidChain];
          x5c[i] = cert;
          return onlyRefuses(() => verifyAndroidKeyAttestation(x5c, androidOpts));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a mutated leaf never verifies', () => {
    fc.assert(
      fc.property(mutated(androidChain[0]!), (leaf) => {
        fc.pre(Buffer.compare(leaf, androidChain[0]!) !== 0);
        assert.throws(
          () => verifyAndroidKeyAttestation([leaf, ...androidChain.slice(1)], androidOpts),
          isAttestationRefusal,
        );
        return true;
      }),
      { numRuns: 300 },
    );
  });

  test('mutated KeyDescription extension values', () => {
    fc.assert(
      fc.property(mutated(leafExtension), (ext) => onlyRefuses(() => parseKeyDescription(ext))),
      { numRuns: 500 },
    );
  });

  test('mutated App Attest attestations refuse, unless only the unvalidated receipt changed', () => {
    const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
    const original = decoder.decode(Buffer.from(appleBytes)) as Map<string, unknown>;
    const signedParts = (m: Map<string, unknown>) => {
      const stmt = m.get('attStmt') as Map<string, unknown>;
      return Buffer.concat([
        Buffer.from(String(m.get('fmt'))),
        Buffer.from(m.get('authData') as Uint8Array),
        ...(stmt.get('x5c') as Uint8Array[]).map((c) => Buffer.from(c)),
      ]);
    };
    fc.assert(
      fc.property(mutated(appleBytes), (bytes) => {
        try {
          verifyAppleAppAttestation(bytes, appleOpts);
        } catch (e) {
          if (!isAttestationRefusal(e)) throw e;
          return true;
        }
        const accepted = decoder.decode(Buffer.from(bytes)) as Map<string, unknown>;
        return Buffer.compare(signedParts(accepted), signedParts(original)) === 0;
      }),
      { numRuns: 500 },
    );
  });

  test('mutated App Attest assertions never verify', () => {
    fc.assert(
      fc.property(mutated(assertionBytes), (bytes) => {
        fc.pre(Buffer.compare(bytes, assertionBytes) !== 0);
        assert.throws(() => verifyAppleAssertion(bytes, assertionOpts), isAttestationRefusal);
        return true;
      }),
      { numRuns: 500 },
    );
  });
});

describe('issue 11 shapes under mutation: a catalogued refusal, never a crash', () => {
  const authority = createTestAttestationAuthority({ caLessBatch: true });
  const challenge = new Uint8Array(32).fill(7);
  const opts = { expectedChallenge: challenge, trustedRoots: authority.trustedRoots };
  const unknownTags = [
    { tag: 725, value: Uint8Array.of(0x02, 0x01, 0x07) },
    { tag: 5000, value: Uint8Array.of(0x04, 0x02, 0xab, 0xcd) },
    { tag: 0x0fffffff, value: Uint8Array.of(0x05, 0x00), list: 'software' as const },
  ];
  const km500 = keyDescription({ challenge, attestationVersion: 500, extraAuthorizations: unknownTags });
  const chains = {
    'CA-less batch, KeyMint 500': authority
      .attest({ challenge, attestationVersion: 500, extraAuthorizations: unknownTags })
      .x5c.map(b64),
    'ML-DSA leaf': authority.attest({ challenge, leafSpki: mlDsa65Spki() }).x5c.map(b64),
  };

  test('mutated KeyMint 500 KeyDescriptions with unknown tags', () => {
    fc.assert(
      fc.property(mutated(km500), (ext) => onlyRefuses(() => parseKeyDescription(ext))),
      { numRuns: 500 },
    );
  });

  test('KeyDescriptions with random authorization entries (any tag, any content)', () => {
    const entry = fc
      .tuple(
        fc.oneof(fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: 0x0fffffff })),
        fc.uint8Array({ maxLength: 12 }),
        fc.boolean(),
      )
      .map(([tag, value, wellFormed]) => ({
        tag,
        // Either a well-formed inner element (an OCTET STRING of the bytes) or raw bytes.
        value: wellFormed ? Uint8Array.of(0x04, value.length, ...value) : value,
        list: (tag % 2 === 0 ? 'software' : 'hardware') as 'software' | 'hardware',
      }));
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 6 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (extra, version) =>
          onlyRefuses(() =>
            parseKeyDescription(
              keyDescription({ challenge, attestationVersion: version, extraAuthorizations: extra }),
            ),
          ),
      ),
      { numRuns: 400 },
    );
  });

  for (const [name, chain] of Object.entries(chains)) {
    test(`${name}: a mutated certificate only refuses; a mutated leaf never verifies`, () => {
      verifyAndroidKeyAttestation(chain, opts);
      fc.assert(
        fc.property(
          fc.nat(chain.length - 1).chain((i) => fc.tuple(fc.constant(i), mutated(chain[i]!))),
          ([i, cert]) => {
            fc.pre(Buffer.compare(cert, chain[i]!) !== 0);
            const x5c = [...chain];
            x5c[i] = cert;
            if (i === 0) {
              assert.throws(() => verifyAndroidKeyAttestation(x5c, opts), isAttestationRefusal);
              return true;
            }
            return onlyRefuses(() => verifyAndroidKeyAttestation(x5c, opts));
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  test('any non-zero unused-bits byte in any signature is refused', () => {
    const chain = chains['CA-less batch, KeyMint 500'];
    fc.assert(
      fc.property(fc.nat(chain.length - 1), fc.integer({ min: 1, max: 255 }), (i, bits) => {
        const cert = new Uint8Array(chain[i]!);
        const sig = children(cert, readSingle(cert))[2]!;
        cert[sig.contentStart] = bits;
        const x5c = [...chain];
        x5c[i] = cert;
        assertRefused(() => verifyAndroidKeyAttestation(x5c, opts), 'ERR_ATTEST_MALFORMED');
        return true;
      }),
      { numRuns: 100 },
    );
  });
});
