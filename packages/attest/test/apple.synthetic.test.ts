/** App Attest edge cases on generated attestations and assertions (test root via `trustedRoots`). */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { Decoder, Encoder } from 'cbor-x';
import {
  appleAttestationJson,
  attestationBinding,
  samePublicKey,
  verifyAppleAppAttestation,
  verifyAppleAssertion,
} from '../src/index.ts';
import { createTestAppAttestAssertion, createTestAppAttestAuthority } from '../src/testing.ts';
import { assertRefused } from './helpers.ts';

const authority = createTestAppAttestAuthority();
const appId = 'ABCDE12345.com.acme.orders';
const clientDataHash = attestationBinding('nonce-1', 'jkt-1');
const cbor = new Encoder({ useRecords: false, mapsAsObjects: false });

function verify(
  att: { attestation: Uint8Array | string; keyIdB64: string },
  over: Record<string, unknown> = {},
) {
  return verifyAppleAppAttestation(att.attestation, {
    expectedKeyId: att.keyIdB64,
    expectedClientDataHash: clientDataHash,
    expectedAppId: appId,
    trustedRoots: authority.trustedRoots,
    ...over,
  });
}

describe('generated App Attest attestations', () => {
  test('production attestation verifies; SPEC §4 JSON has the documented keys', () => {
    const att = authority.attest({ appId, clientDataHash });
    const r = verify(att);
    assert.equal(r.environment, 'production');
    assert.equal(r.counter, 0);
    assert.ok(samePublicKey(r.publicKey, att.publicKey));
    assert.deepEqual(Object.keys(appleAttestationJson(r)), [
      'verified',
      'environment',
      'key_id_b64',
      'public_key_pem',
      'counter',
      'receipt_b64',
    ]);
    verify({ attestation: att.attestationB64, keyIdB64: att.keyIdB64 });
  });

  test('development attestation needs allowDevelopment', () => {
    const att = authority.attest({ appId, clientDataHash, development: true });
    assertRefused(() => verify(att), 'ERR_ATTEST_DEVELOPMENT');
    assert.equal(verify(att, { allowDevelopment: true }).environment, 'development');
  });

  test('trailing bytes after the COSE key without the ED flag are accepted (Apple produces them)', () => {
    const ext = cbor.encode(new Map([['apple_bundle_version_01', Buffer.from('1')]]));
    verify(authority.attest({ appId, clientDataHash, authDataSuffix: ext }));
  });

  test('the bundled Apple root does not trust a test root', () => {
    const att = authority.attest({ appId, clientDataHash });
    assertRefused(() => verify(att, { trustedRoots: undefined }), 'ERR_ATTEST_ROOT');
  });

  test('refusals: counter, aaguid, credential id, missing nonce, format, key id, app id, nonce', () => {
    assertRefused(
      () => verify(authority.attest({ appId, clientDataHash, counter: 1 })),
      'ERR_ATTEST_COUNTER',
    );
    assertRefused(
      () => verify(authority.attest({ appId, clientDataHash, aaguid: new Uint8Array(16) })),
      'ERR_ATTEST_ENVIRONMENT',
    );
    assertRefused(
      () => verify(authority.attest({ appId, clientDataHash, credentialId: new Uint8Array(32).fill(7) })),
      'ERR_ATTEST_KEY_ID',
    );
    assertRefused(
      () => verify(authority.attest({ appId, clientDataHash, omitNonce: true })),
      'ERR_ATTEST_EXTENSION',
    );
    assertRefused(
      () => verify(authority.attest({ appId, clientDataHash, fmt: 'packed' })),
      'ERR_ATTEST_FORMAT',
    );
    const att = authority.attest({ appId, clientDataHash });
    const otherKey = authority.attest({ appId, clientDataHash });
    assertRefused(() => verify(att, { expectedKeyId: otherKey.keyIdB64 }), 'ERR_ATTEST_KEY_ID');
    assertRefused(() => verify(att, { expectedAppId: 'ABCDE12345.com.clone.orders' }), 'ERR_ATTEST_APP_ID');
    assertRefused(
      () => verify(att, { expectedClientDataHash: attestationBinding('nonce-2', 'jkt-1') }),
      'ERR_ATTEST_NONCE',
    );
  });

  test('a forged credential certificate from a look-alike CA is refused', () => {
    const forger = createTestAppAttestAuthority();
    assertRefused(() => verify(forger.attest({ appId, clientDataHash })), 'ERR_ATTEST_ROOT');
  });

  test('authenticator data swapped in from another attestation breaks the nonce', () => {
    const att = authority.attest({ appId, clientDataHash });
    const keyPair = { publicKey: att.publicKey, privateKey: att.privateKey };
    const other = authority.attest({ appId: 'ABCDE12345.com.other', clientDataHash, keyPair });
    const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });
    const a = decoder.decode(Buffer.from(att.attestation)) as Map<string, unknown>;
    const b = decoder.decode(Buffer.from(other.attestation)) as Map<string, unknown>;
    a.set('authData', b.get('authData'));
    assertRefused(() => verify({ attestation: cbor.encode(a), keyIdB64: att.keyIdB64 }), 'ERR_ATTEST_NONCE');
  });

  test('malformed objects', () => {
    const bad: (string | Uint8Array)[] = [
      '',
      '!!!!',
      'AAAA',
      new Uint8Array(),
      Uint8Array.of(0xa0),
      Uint8Array.of(0xa1, 0x63, 0x66, 0x6d, 0x74),
      cbor.encode(new Map([['fmt', 'apple-appattest']])),
      cbor.encode(
        new Map<string, unknown>([
          ['fmt', 'apple-appattest'],
          [
            'attStmt',
            new Map<string, unknown>([
              ['x5c', []],
              ['receipt', Buffer.of(1)],
            ]),
          ],
          ['authData', Buffer.alloc(10)],
        ]),
      ),
      cbor.encode([1, 2, 3]),
    ];
    for (const b of bad) assertRefused(() => verify({ attestation: b, keyIdB64: 'AAAA' }));
  });
});

describe('generated App Attest assertions', () => {
  const att = authority.attest({ appId, clientDataHash });
  const opts = (over: Record<string, unknown> = {}) => ({
    publicKey: att.publicKey,
    expectedClientDataHash: clientDataHash,
    expectedAppId: appId,
    previousCounter: 4,
    ...over,
  });

  test('a 37-byte authenticator data with the AT flag set verifies; the counter must increase', () => {
    const a = createTestAppAttestAssertion({ privateKey: att.privateKey, appId, clientDataHash, counter: 5 });
    assert.equal(verifyAppleAssertion(a.assertion, opts()).counter, 5);
    assert.equal(
      verifyAppleAssertion(a.assertionB64, opts({ publicKey: verify(att).publicKeyPem })).counter,
      5,
    );
    assertRefused(
      () => verifyAppleAssertion(a.assertion, opts({ previousCounter: 5 })),
      'ERR_ATTEST_COUNTER',
    );
  });

  test('another key, app or client data is refused', () => {
    const a = authority.assert({ privateKey: att.privateKey, appId, clientDataHash, counter: 5 });
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assertRefused(
      () => verifyAppleAssertion(a.assertion, opts({ publicKey: stranger.publicKey })),
      'ERR_ATTEST_SIGNATURE',
    );
    assertRefused(
      () => verifyAppleAssertion(a.assertion, opts({ expectedAppId: 'ABCDE12345.x' })),
      'ERR_ATTEST_APP_ID',
    );
    assertRefused(
      () => verifyAppleAssertion(a.assertion, opts({ expectedClientDataHash: attestationBinding('x', 'y') })),
      'ERR_ATTEST_SIGNATURE',
    );
  });

  test('a non-P-256 stored key is refused', () => {
    const a = authority.assert({ privateKey: att.privateKey, appId, clientDataHash, counter: 5 });
    const ed = generateKeyPairSync('ed25519');
    assertRefused(
      () => verifyAppleAssertion(a.assertion, opts({ publicKey: ed.publicKey })),
      'ERR_ATTEST_UNSUPPORTED',
    );
  });

  test('truncated authenticator data and missing fields are malformed', () => {
    const short = cbor.encode(
      new Map([
        ['signature', Buffer.alloc(70)],
        ['authenticatorData', Buffer.alloc(36)],
      ]),
    );
    assertRefused(() => verifyAppleAssertion(short, opts()), 'ERR_ATTEST_MALFORMED');
    const missing = cbor.encode(new Map([['signature', Buffer.alloc(70)]]));
    assertRefused(() => verifyAppleAssertion(missing, opts()), 'ERR_ATTEST_MALFORMED');
  });

  test('a bad previousCounter is a programming error, not a refusal', () => {
    const a = authority.assert({ privateKey: att.privateKey, appId, clientDataHash, counter: 5 });
    assert.throws(() => verifyAppleAssertion(a.assertion, opts({ previousCounter: -1 })), RangeError);
  });
});
