/** Every real App Attest sample of fixtures/ (attestations at `valid_at`, assertions), with its negative checks. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { verifyAppleAppAttestation, verifyAppleAssertion } from '../src/index.ts';
import { createTestAppAttestAuthority } from '../src/testing.ts';
import { assertRefused, b64, type Fixture, fixture, fixtureNames } from './helpers.ts';

const attestations = fixtureNames('apple-appattest-').filter(
  (n) => fixture(n).kind === 'apple-appattest/attestation',
);
const assertions = fixtureNames('apple-appattest-').filter(
  (n) => fixture(n).kind === 'apple-appattest/assertion',
);
const sha = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

function attest(f: Fixture, over: Record<string, unknown> = {}) {
  return verifyAppleAppAttestation(f.raw.attestation_object_b64, {
    expectedKeyId: f.raw.key_id_b64,
    expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
    expectedAppId: f.inputs.app_id,
    allowDevelopment: true,
    at: new Date(f.valid_at),
    ...over,
  });
}

function assertion(f: Fixture, over: Record<string, unknown> = {}) {
  return verifyAppleAssertion(f.raw.assertion_b64, {
    publicKey: f.inputs.attested_public_key_pem,
    expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
    expectedAppId: f.inputs.app_id,
    previousCounter: f.inputs.previous_counter,
    ...over,
  });
}

describe('App Attest attestations: verdicts at valid_at', () => {
  test('the collection is the one documented (3 attestations, 3 assertions)', () => {
    assert.equal(attestations.length, 3);
    assert.equal(assertions.length, 3);
  });

  for (const name of attestations) {
    const f = fixture(name);
    test(`${name}: ${f.expected.verdict}`, () => {
      const r = attest(f);
      assert.equal(r.environment, f.expected.environment);
      assert.equal(Buffer.from(r.keyId).toString('base64'), f.expected.key_id_b64);
      assert.equal(r.publicKeyPem, f.expected.public_key_pem);
      assert.equal(r.counter, f.expected.counter);
      assert.equal(r.root, 'apple-app-attestation');
      if (f.expected.receipt_b64)
        assert.equal(Buffer.from(r.receipt).toString('base64'), f.expected.receipt_b64);
      // The clientDataHash the source derives from its own convention.
      assert.deepEqual(
        b64(f.inputs.client_data_hash_b64),
        sha(Buffer.from(f.raw.client_data_b64, 'base64').toString('latin1')),
      );
    });

    test(`${name}: raw CBOR bytes are accepted like base64`, () => {
      const r = verifyAppleAppAttestation(b64(f.raw.attestation_object_b64), {
        expectedKeyId: b64(f.raw.key_id_b64),
        expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
        expectedAppId: f.inputs.app_id,
        allowDevelopment: true,
        at: new Date(f.valid_at),
      });
      assert.equal(r.environment, 'development');
    });

    test(`${name}: development keys need allowDevelopment`, () => {
      assertRefused(() => attest(f, { allowDevelopment: false }), 'ERR_ATTEST_DEVELOPMENT');
    });

    test(`${name}: expired at the real current time`, () => {
      assertRefused(() => attest(f, { at: new Date('2026-11-29T00:00:00Z') }), 'ERR_ATTEST_EXPIRED');
    });

    test(`${name}: wrong app id, key id, client data and trust anchor`, () => {
      assertRefused(() => attest(f, { expectedAppId: 'WURZELPFRO.PF' }), 'ERR_ATTEST_APP_ID');
      assertRefused(
        () => attest(f, { expectedKeyId: Buffer.from(sha('fporfplezruw')).toString('base64') }),
        'ERR_ATTEST_KEY_ID',
      );
      assertRefused(() => attest(f, { expectedClientDataHash: sha('fporfplezruw') }), 'ERR_ATTEST_NONCE');
      const other = createTestAppAttestAuthority();
      assertRefused(() => attest(f, { trustedRoots: other.trustedRoots }), 'ERR_ATTEST_ROOT');
    });
  }

  test('node-app-attest negative checks: challenge "wrong", keyId "wrong", bundle "invalid"', () => {
    const f = fixture('apple-appattest-nodeappattest-1.json');
    assertRefused(() => attest(f, { expectedClientDataHash: sha('wrong') }), 'ERR_ATTEST_NONCE');
    // "wrong" is not even base64 of a key id; as bytes it is simply a different id.
    assertRefused(() => attest(f, { expectedKeyId: 'wrong' }), 'ERR_ATTEST_MALFORMED');
    assertRefused(() => attest(f, { expectedKeyId: Buffer.from('wrong') }), 'ERR_ATTEST_KEY_ID');
    assertRefused(() => attest(f, { expectedAppId: `${f.inputs.team_id}.invalid` }), 'ERR_ATTEST_APP_ID');
  });
});

describe('App Attest assertions', () => {
  for (const name of assertions) {
    const f = fixture(name);
    test(`${name}: ${f.expected.verdict}, counter ${f.expected.counter}`, () => {
      assert.equal(assertion(f).counter, f.expected.counter);
      assert.equal(
        verifyAppleAssertion(b64(f.raw.assertion_b64), {
          publicKey: f.inputs.attested_public_key_pem,
          expectedClientDataHash: b64(f.inputs.client_data_hash_b64),
          expectedAppId: f.inputs.app_id,
          previousCounter: 0,
        }).counter,
        1,
      );
    });

    test(`${name}: negative checks`, () => {
      const [team, ...bundle] = f.inputs.app_id.split('.');
      assertRefused(
        () => assertion(f, { expectedAppId: `${team}.${bundle.reverse().join('.')}` }),
        'ERR_ATTEST_APP_ID',
      );
      assertRefused(() => assertion(f, { previousCounter: 1 }), 'ERR_ATTEST_COUNTER');
      assertRefused(() => assertion(f, { previousCounter: 10 }), 'ERR_ATTEST_COUNTER');
      assertRefused(
        () => assertion(f, { expectedClientDataHash: sha('fporfplezruw') }),
        'ERR_ATTEST_SIGNATURE',
      );
      assertRefused(() => assertion(f, { expectedClientDataHash: sha('{}') }), 'ERR_ATTEST_SIGNATURE');
    });
  }

  test('an assertion verifies only with the key of its own attestation', () => {
    const f = fixture('apple-appattest-veehaitch-assertion-1.json');
    const other = fixture('apple-appattest-veehaitch-assertion-2.json');
    assertRefused(
      () => assertion(f, { publicKey: other.inputs.attested_public_key_pem }),
      'ERR_ATTEST_SIGNATURE',
    );
  });

  test('linked samples: the assertion key is the key of the linked attestation', () => {
    for (const name of [
      'apple-appattest-veehaitch-assertion-1.json',
      'apple-appattest-veehaitch-assertion-2.json',
    ]) {
      const f = fixture(name);
      const att = attest(fixture(`${f.linked_attestation_sample}.json`));
      assert.equal(att.publicKeyPem, f.inputs.attested_public_key_pem);
      assert.equal(assertion(f, { publicKey: att.publicKey }).counter, 1);
    }
  });

  test('the signature is over SHA-256(authenticatorData ‖ clientDataHash), hashed again by ECDSA-SHA256', () => {
    // Documented construction; a signature directly over authenticatorData ‖ clientDataHash would not verify.
    const f = fixture('apple-appattest-nodeappattest-assertion-1.json');
    assert.equal(f.collector_cross_check.authenticator_data_len, 37);
    assert.equal(assertion(f).counter, 1);
  });
});
