/** Unit tests of core pieces: durations, sealed keys, trust documents, key rings, the error catalogue. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CharterError,
  exportPrivateKey,
  generateVendorKey,
  KeyRing,
  openSealedKey,
  PROTOCOL_ERRORS,
  parseDuration,
  sealPrivateKey,
  signCharter,
  signKeyDelegation,
  statusOf,
  trustFromDocument,
  verifyCharter,
} from '@charter/core';
import { AT, charterClaims, testVendor } from './helpers.ts';

test('durations parse with units and refuse everything else', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('12h'), 43200);
  assert.equal(parseDuration('180d'), 180 * 86400);
  assert.equal(parseDuration('2w'), 14 * 86400);
  assert.equal(parseDuration('1y'), 365 * 86400);
  for (const bad of ['', '0d', '-1d', '1.5d', '10', 'd', '3q', '1 d', '99999999d'])
    assert.equal(parseDuration(bad), undefined, bad);
});

test('a sealed key opens with its passphrase only, and not when relabelled', async () => {
  const { privateKey, publicJwk } = await generateVendorKey();
  const der = exportPrivateKey(privateKey);
  const sealed = sealPrivateKey(der, publicJwk.kid, 'a long passphrase');
  assert.ok(!JSON.stringify(sealed).includes(der.toString('base64')));
  assert.deepEqual(openSealedKey(sealed, 'a long passphrase'), der);
  assert.throws(
    () => openSealedKey(sealed, 'another passphrase'),
    (e: CharterError) => e.code === 'wrong_passphrase',
  );
  assert.throws(
    () => openSealedKey({ ...sealed, kid: 'other' }, 'a long passphrase'),
    (e: CharterError) => e.code === 'wrong_passphrase',
  );
  assert.throws(
    () => sealPrivateKey(der, publicJwk.kid, 'short'),
    (e: CharterError) => e.code === 'passphrase_required',
  );
});

test('trust documents refuse keys whose kid is not their thumbprint, private keys and other curves', async () => {
  const { publicJwk } = await generateVendorKey();
  await trustFromDocument({ vendor_id: 'acme', keys: [publicJwk] });
  for (const doc of [
    null,
    { keys: [publicJwk] },
    { vendor_id: 'acme', keys: [] },
    { vendor_id: 'acme', keys: [{ ...publicJwk, kid: 'not-the-thumbprint' }] },
    { vendor_id: 'acme', keys: [{ ...publicJwk, d: 'AAAA' }] },
    { vendor_id: 'acme', keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] },
  ]) {
    await assert.rejects(
      trustFromDocument(doc),
      (e: CharterError) => e.code === 'license_invalid' && e.detail === 'ERR_TRUST',
    );
  }
});

test('after a key rotation both the old and the new charter keys verify until each expires', async () => {
  const v = await testVendor();
  const trust = await trustFromDocument(v.trust);
  const next = await generateVendorKey();
  const nextDelegation = await signKeyDelegation(
    { vendorId: 'acme', jwk: next.publicJwk, use: ['charter'], nbf: AT - 10, exp: AT + 86400 },
    v.signer(v.root),
  );
  const ring = new KeyRing(trust, [v.delegations.charter, nextDelegation]);
  const oldCharter = await signCharter(charterClaims(), v.signer(v.charterKey));
  const newCharter = await signCharter(charterClaims({ iat: AT, nbf: AT }), {
    kid: next.publicJwk.kid,
    privateKey: next.privateKey,
  });
  assert.equal((await verifyCharter(oldCharter, ring, { at: AT })).signer.kid, v.charterKey.jwk.kid);
  assert.equal((await verifyCharter(newCharter, ring, { at: AT })).signer.kid, next.publicJwk.kid);
  // A day later the new key's delegation has lapsed: its charters stop verifying, the old key's do not.
  await assert.rejects(
    verifyCharter(newCharter, ring, { at: AT + 86400 * 2 }),
    (e: CharterError) => e.detail === 'ERR_KEY_EXPIRED',
  );
  await verifyCharter(oldCharter, ring, { at: AT + 86400 * 2 });
});

test('charters verified together on a fresh ring all verify (one delegation check shared)', async () => {
  const v = await testVendor();
  const ring = new KeyRing(await trustFromDocument(v.trust), [v.delegations.charter]);
  const charter = await signCharter(charterClaims(), v.signer(v.charterKey));
  const all = await Promise.allSettled(
    Array.from({ length: 5 }, () => verifyCharter(charter, ring, { at: AT })),
  );
  assert.deepEqual(
    all.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
  );
});

test('a delegation whose sub is not its key thumbprint is refused', async () => {
  const v = await testVendor();
  const other = await generateVendorKey();
  // Delegate charterKey's JWK but claim it is `other`'s kid: the ring must not map that kid to this key.
  const lying = await signKeyDelegation(
    {
      vendorId: 'acme',
      jwk: { ...v.charterKey.jwk, kid: other.publicJwk.kid },
      use: ['charter'],
      nbf: AT - 10,
      exp: AT + 86400,
    },
    v.signer(v.root),
  );
  const ring = new KeyRing(await trustFromDocument(v.trust), [lying]);
  const token = await signCharter(charterClaims(), {
    kid: other.publicJwk.kid,
    privateKey: v.charterKey.privateKey,
  });
  await assert.rejects(
    verifyCharter(token, ring, { at: AT }),
    (e: CharterError) => e.detail === 'ERR_KEY_DELEGATION',
  );
});

test('clock tolerance admits a charter a little early and refuses it a little later', async () => {
  const v = await testVendor();
  const ring = new KeyRing(await trustFromDocument(v.trust), [v.delegations.charter]);
  const token = await signCharter(charterClaims({ iat: AT - 100, nbf: AT + 30 }), v.signer(v.charterKey));
  await verifyCharter(token, ring, { at: AT });
  await assert.rejects(
    verifyCharter(token, ring, { at: AT, clockToleranceS: 10 }),
    (e: CharterError) => e.detail === 'ERR_NOT_YET_VALID',
  );
});

test('what a client sees comes from the catalogue only', () => {
  const e = new CharterError('invalid_charter', 'ERR_SIGNATURE', 'secret internal reason eyJhbGciOi');
  assert.deepEqual(e.toClient(), {
    error: 'invalid_charter',
    error_description: PROTOCOL_ERRORS.invalid_charter.description,
  });
  assert.equal(statusOf('rate_limited'), 429);
  assert.equal(statusOf('unavailable'), 503);
  assert.equal(statusOf('license_invalid'), 503);
});
