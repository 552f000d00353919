/** SPEC §3 binding, key comparison and the bundled revocation snapshot's public face. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ANDROID_REVOCATION_SNAPSHOT,
  ANDROID_REVOCATION_SNAPSHOT_DATE,
  androidBinding,
  attestationBinding,
  RevocationList,
  samePublicKey,
  spkiOf,
} from '../src/index.ts';
import { assertRefused } from './helpers.ts';

describe('attestationBinding', () => {
  test('is SHA-256(ASCII(nonce) ‖ "." ‖ ASCII(jkt))', () => {
    const nonce = 'q2VyeS1yYW5kb20tbm9uY2U';
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const expected = createHash('sha256').update(`${nonce}.${jkt}`).digest();
    assert.deepEqual(Buffer.from(attestationBinding(nonce, jkt)), expected);
    assert.equal(androidBinding, attestationBinding);
    assert.equal(attestationBinding(nonce, jkt).length, 32);
  });

  test('refuses ambiguous or non-ASCII parts', () => {
    for (const [n, j] of [
      ['a.b', 'c'],
      ['a', 'b.c'],
      ['', 'x'],
      ['x', ''],
      ['nönce', 'x'],
      ['with space', 'x'],
    ]) {
      assertRefused(() => attestationBinding(n!, j!), 'ERR_ATTEST_MALFORMED');
    }
  });
});

describe('samePublicKey / spkiOf', () => {
  test('compares KeyObjects and JWKs by SPKI, private keys by their public half', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.ok(samePublicKey(a.publicKey, a.publicKey.export({ format: 'jwk' })));
    assert.ok(samePublicKey(a.privateKey, a.publicKey));
    assert.ok(!samePublicKey(a.publicKey, b.publicKey));
    assert.ok(!samePublicKey(a.publicKey, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }));
    assert.deepEqual(
      spkiOf(a.publicKey),
      new Uint8Array(a.publicKey.export({ type: 'spki', format: 'der' })),
    );
  });
});

describe('revocation snapshot', () => {
  test('ships with a date and only REVOKED entries', () => {
    assert.equal(ANDROID_REVOCATION_SNAPSHOT_DATE, ANDROID_REVOCATION_SNAPSHOT.date);
    assert.ok(Object.values(ANDROID_REVOCATION_SNAPSHOT.entries).every((e) => e.status === 'REVOKED'));
    const list = RevocationList.create();
    assert.equal(list.snapshotDate, ANDROID_REVOCATION_SNAPSHOT_DATE);
    assert.equal(list.size, Object.keys(ANDROID_REVOCATION_SNAPSHOT.entries).length);
    assert.ok(list.has('6681152659205225093'));
    assert.equal(RevocationList.create(['abc'], null).size, 1);
    assert.equal(RevocationList.create(['not hex!'], null).size, 0);
  });
});
