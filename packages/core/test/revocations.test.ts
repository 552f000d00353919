/** Revocation updates (`charter-revocations+jwt`): strict verification, typ separation, hostile input. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  artifactTypOf,
  CharterError,
  isErrorCode,
  KeyRing,
  type RevocationsClaims,
  signLicense,
  signRevocations,
  trustFromDocument,
  verifyLicense,
  verifyRevocations,
} from '@charter/core';
import fc from 'fast-check';
import { AT, licenseClaims, rawJws, testVendor } from './helpers.ts';

const v = await testVendor();
const trust = await trustFromDocument(v.trust);
const keys = [v.delegations.license];

function claims(over: Partial<RevocationsClaims> = {}): RevocationsClaims {
  return {
    iss: 'acme',
    sub: 'site_hospital_a',
    jti: 'rvu_0001',
    serial: 4,
    license_serial: 3,
    iat: AT - 60,
    nbf: AT - 60,
    exp: AT + 7 * 86400,
    revoked: { apps: ['app_orders'], charters: ['chr_0000'] },
    keys,
    ...over,
  };
}

async function outcome(input: unknown): Promise<'ok' | CharterError> {
  try {
    await verifyRevocations(input, new KeyRing(trust), { at: AT });
    return 'ok';
  } catch (e) {
    if (e instanceof CharterError && isErrorCode(e.code)) return e;
    throw e;
  }
}

function refused(r: 'ok' | CharterError, detail: string): void {
  assert.notEqual(r, 'ok');
  assert.equal((r as CharterError).code, 'license_invalid');
  assert.equal((r as CharterError).detail, detail);
}

test('a revocation update verifies to the root through the license key it carries', async () => {
  const token = await signRevocations(claims(), v.signer(v.licenseKey));
  assert.equal(artifactTypOf(token), 'charter-revocations+jwt');
  const r = await verifyRevocations(token, new KeyRing(trust), { at: AT });
  assert.deepEqual(r.claims.revoked.apps, ['app_orders']);
  assert.equal(r.claims.serial, 4);
  assert.equal(r.claims.license_serial, 3);
});

test('a revocation update is never a license, and a license never a revocation update', async () => {
  const update = await signRevocations(claims(), v.signer(v.licenseKey));
  const license = await signLicense(licenseClaims(keys), v.signer(v.licenseKey));
  refused(await outcome(license), 'ERR_TYP');
  await assert.rejects(verifyLicense(update, new KeyRing(trust), { at: AT }), { detail: 'ERR_TYP' });
});

test('the charter key, a foreign root, an expired key cannot sign one', async () => {
  const withKeys = (k: string[]) => claims({ keys: k });
  refused(
    await outcome(await signRevocations(withKeys([v.delegations.charter]), v.signer(v.charterKey))),
    'ERR_KEY_USE',
  );
  refused(
    await outcome(await signRevocations(withKeys([v.delegations.foreign]), v.signer(v.foreignKey))),
    'ERR_KEY_DELEGATION',
  );
  refused(
    await outcome(await signRevocations(withKeys([v.delegations.expired]), v.signer(v.expiredKey))),
    'ERR_KEY_EXPIRED',
  );
});

test('claims: serial above license_serial, short validity, well-formed ids, expiry', async () => {
  const sign = (c: RevocationsClaims) => signRevocations(c, v.signer(v.licenseKey));
  refused(await outcome(await sign(claims({ license_serial: 4 }))), 'ERR_CLAIMS');
  refused(await outcome(await sign(claims({ serial: 1, license_serial: 1 }))), 'ERR_CLAIMS');
  refused(await outcome(await sign(claims({ exp: AT - 60 + 31 * 86400 }))), 'ERR_CLAIMS');
  refused(await outcome(await sign(claims({ revoked: { apps: ['has space'] } }))), 'ERR_CLAIMS');
  refused(await outcome(await sign(claims({ iss: 'other' }))), 'ERR_ISS');
  refused(
    await outcome(await sign(claims({ nbf: AT - 9 * 86400, iat: AT - 9 * 86400, exp: AT - 86400 }))),
    'ERR_EXPIRED',
  );
});

test('changing any one character of a revocation update is refused', async () => {
  const token = await signRevocations(claims(), v.signer(v.licenseKey));
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.integer({ min: 1, max: 255 }), async (i, d) => {
      const c = String.fromCharCode((token.charCodeAt(i) + d) % 256 || 1);
      fc.pre(c !== token[i]);
      assert.notEqual(await outcome(token.slice(0, i) + c + token.slice(i + 1)), 'ok');
    }),
    { numRuns: 300 },
  );
});

test('no input makes the verifier throw anything but a catalogued CharterError', async () => {
  const payload = fc
    .constant(claims())
    .chain((c) =>
      fc.record(
        Object.fromEntries(
          Object.entries(c).map(([k, val]) => [k, fc.oneof(fc.constant(val), fc.jsonValue())]),
        ),
      ),
    );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.anything(),
        fc.string(),
        payload.map((p) =>
          rawJws(
            { alg: 'EdDSA', typ: 'charter-revocations+jwt', kid: v.licenseKey.jwk.kid },
            p,
            v.licenseKey.privateKey,
          ),
        ),
      ),
      async (input) => {
        await outcome(input);
        if (typeof input === 'string') artifactTypOf(input);
      },
    ),
    { numRuns: 400 },
  );
});

test('a revocation update larger than a gateway reads is refused by its signer, not made', async () => {
  // 3 000 revoked instances: about 100 KiB of claims, past the 64 KiB every verifier reads.
  const instances = Array.from({ length: 3000 }, (_, i) => `ins_${String(i).padStart(26, 'x')}`);
  await assert.rejects(
    signRevocations(claims({ revoked: { instances } }), v.signer(v.licenseKey)),
    (e: CharterError) =>
      e.code === 'invalid_request' &&
      e.detail === 'ERR_SIZE' &&
      /the revocations would be \d+ bytes, more than the 65536 a gateway reads/.test(e.message),
  );
  // One that fits is made, and verifies.
  const fits = await signRevocations(
    claims({ revoked: { instances: instances.slice(0, 500) } }),
    v.signer(v.licenseKey),
  );
  assert.equal(await outcome(fits), 'ok');
});
