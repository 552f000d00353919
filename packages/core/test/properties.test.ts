/** Property tests: no edit of a valid artifact is accepted, and no input makes a verifier throw anything uncatalogued. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CharterError,
  isErrorCode,
  KeyRing,
  signCharter,
  signLicense,
  trustFromDocument,
  verifyCharter,
  verifyLicense,
} from '@charter/core';
import fc from 'fast-check';
import { AT, charterClaims, licenseClaims, rawJws, testVendor } from './helpers.ts';

const v = await testVendor();
const trust = await trustFromDocument(v.trust);
const keys = Object.values(v.delegations);
const charter = await signCharter(charterClaims(), v.signer(v.charterKey));
const license = await signLicense(licenseClaims(keys), v.signer(v.licenseKey));
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

async function outcome(kind: 'charter' | 'license', input: unknown): Promise<'ok' | CharterError> {
  try {
    if (kind === 'charter') await verifyCharter(input, new KeyRing(trust, keys), { at: AT });
    else await verifyLicense(input, new KeyRing(trust), { at: AT });
    return 'ok';
  } catch (e) {
    if (e instanceof CharterError && isErrorCode(e.code)) return e;
    throw e;
  }
}

test('the untouched artifacts verify (so the properties below can fail)', async () => {
  assert.equal(await outcome('charter', charter), 'ok');
  assert.equal(await outcome('license', license), 'ok');
});

for (const [kind, token] of [
  ['charter', charter],
  ['license', license],
] as const) {
  test(`changing any one character of a valid ${kind} is refused`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (i, delta) => {
          const replacement =
            token[i] === '.'
              ? B64URL[delta % 64]
              : String.fromCharCode((token.charCodeAt(i) + delta) % 256 || 1);
          fc.pre(replacement !== token[i]);
          const edited = token.slice(0, i) + replacement + token.slice(i + 1);
          const r = await outcome(kind, edited);
          assert.notEqual(r, 'ok', `edit at ${i} was accepted`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test(`every single character position of a valid ${kind}, replaced by another base64url character, is refused`, async () => {
    for (let i = 0; i < token.length; i++) {
      if (token[i] === '.') continue;
      const replacement = B64URL[(B64URL.indexOf(token[i] as string) + 1) % 64] as string;
      const r = await outcome(kind, token.slice(0, i) + replacement + token.slice(i + 1));
      assert.notEqual(r, 'ok', `edit at ${i} was accepted`);
    }
  });
}

test('no string input makes verification throw anything but a catalogued CharterError', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.anything()), async (input) => {
      await outcome('charter', input);
      await outcome('license', input);
    }),
    { numRuns: 500 },
  );
});

test('well-signed artifacts with arbitrary headers and claims only ever yield catalogued errors', async () => {
  const header = fc.record(
    {
      alg: fc.constantFrom('EdDSA', 'none', 'HS256', 'ES256', 'eddsa'),
      typ: fc.constantFrom('charter+jwt', 'charter-license+jwt', 'application/charter+jwt', 'JWT', 7),
      kid: fc.oneof(fc.constant(v.charterKey.jwk.kid), fc.constant(v.licenseKey.jwk.kid), fc.string()),
      crit: fc.array(fc.string()),
      jwk: fc.object(),
    },
    { requiredKeys: ['alg'] },
  );
  const payload = fc.oneof(
    fc.object(),
    fc.jsonValue(),
    fc.record(
      { ...Object.fromEntries(Object.keys(charterClaims()).map((k) => [k, fc.jsonValue()])) },
      { requiredKeys: [] },
    ),
    fc.constant(charterClaims()).chain((c) =>
      fc.record({
        ...Object.fromEntries(
          Object.entries(c).map(([k, val]) => [k, fc.oneof(fc.constant(val), fc.jsonValue())]),
        ),
      }),
    ),
  );
  await fc.assert(
    fc.asyncProperty(header, payload, fc.boolean(), async (h, p, useLicenseKey) => {
      const key = useLicenseKey ? v.licenseKey.privateKey : v.charterKey.privateKey;
      const token = rawJws(h, typeof p === 'object' && p !== null ? p : JSON.stringify(p), key);
      await outcome('charter', token);
      await outcome('license', token);
    }),
    { numRuns: 400 },
  );
});

test('random valid charters round-trip through sign and verify', async () => {
  const scope = fc.stringMatching(/^[a-z]{1,8}:[a-z]{1,8}$/);
  await fc.assert(
    fc.asyncProperty(
      fc.array(scope, { maxLength: 5 }),
      fc.string({ minLength: 1, maxLength: 50 }),
      async (scopes, name) => {
        const token = await signCharter(charterClaims({ scopes, client_name: name }), v.signer(v.charterKey));
        const r = await verifyCharter(token, new KeyRing(trust, keys), { at: AT });
        assert.deepEqual(r.claims.scopes, scopes);
        assert.equal(r.claims.client_name, name);
      },
    ),
    { numRuns: 100 },
  );
});

test('report instance entries and policy.register_rate: any value is accepted or refused with a catalogued code', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { installationJkt, signInstallationArtifact, verifyReport } = await import('@charter/core');
  const key = generateKeyPairSync('ed25519').privateKey;
  const jkt = await installationJkt(key);
  const report = (instances: unknown) => ({
    iss: jkt,
    jti: 'rep_1',
    iat: AT,
    site: 'site_a',
    seq: 1,
    period: { from: AT - 60, to: AT },
    license_serial: 1,
    integrity: 'unsealed',
    clock: { rollback_events: 0 },
    apps: {},
    unknown: {},
    instances,
  });
  const good = await signInstallationArtifact(
    'report',
    report({
      ins_1: {
        app_id: 'app_beta',
        charter_id: 'chr_1',
        platform: 'android',
        jkt,
        attested: true,
        evidence: jkt,
        verdict: { fmt: 'android-key', device_locked: true },
        waived: ['attestation_required:ERR_ATTESTATION_MISSING'],
      },
    }),
    key,
  );
  assert.equal((await verifyReport(good)).claims.instances?.ins_1?.platform, 'android');
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), async (entry) => {
      const token = await signInstallationArtifact(
        'report',
        report({ ins_1: { app_id: 'app_beta', charter_id: 'chr_1', ...(entry as object) } }),
        key,
      );
      try {
        await verifyReport(token);
      } catch (e) {
        assert.ok(e instanceof CharterError && isErrorCode(e.code), String(e));
      }
    }),
    { numRuns: 200 },
  );
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), async (rate) => {
      const base = licenseClaims(keys);
      const token = await signLicense(
        { ...base, policy: { ...base.policy, register_rate: rate } as never },
        v.signer(v.licenseKey),
      );
      const r = await outcome('license', token);
      if (r !== 'ok') assert.equal(r.code, 'license_invalid');
    }),
    { numRuns: 200 },
  );
});
