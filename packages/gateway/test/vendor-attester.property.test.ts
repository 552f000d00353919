/**
 * The attester token verifier faces the network (the register body's `attester_token`): any input
 * gives a refusal with the catalogue's `invalid_attestation`, never a crash; and a well-formed token
 * signed by a key no root delegates is refused before its claims are read.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import {
  CharterError,
  generateVendorKey,
  KeyRing,
  signAttesterToken,
  verifyAttesterToken,
} from '@charter/core';
import fc from 'fast-check';

const b64 = (o: unknown) =>
  Buffer.from(typeof o === 'string' ? o : String(JSON.stringify(o))).toString('base64url');

test('any attester_token input is refused with invalid_attestation, never a crash', async () => {
  const root = await generateVendorKey();
  const ring = new KeyRing({
    vendorId: 'acme',
    roots: new Map([[root.publicJwk.kid, createPublicKey(root.privateKey)]]),
  });
  const header = fc.record(
    {
      alg: fc.oneof(fc.constantFrom('EdDSA', 'none', 'HS256', 'ES256'), fc.string()),
      typ: fc.oneof(fc.constant('oauth-client-attestation+jwt'), fc.string()),
      kid: fc.oneof(fc.constant(root.publicJwk.kid), fc.string()),
      jwk: fc.object(),
    },
    { requiredKeys: [] },
  );
  const input = fc.oneof(
    fc.string(),
    fc.anything(),
    fc.tuple(header, fc.anything(), fc.string()).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${b64(s)}`),
  );
  await fc.assert(
    fc.asyncProperty(input, async (token) => {
      await assert.rejects(
        verifyAttesterToken(token, ring),
        (e: unknown) => e instanceof CharterError && e.code === 'invalid_attestation',
      );
    }),
    { numRuns: 400 },
  );
});

test('a token signed by an undelegated key, or by the root itself, is refused', async () => {
  const root = await generateVendorKey();
  const stray = await generateVendorKey();
  const ring = new KeyRing({
    vendorId: 'acme',
    roots: new Map([[root.publicJwk.kid, createPublicKey(root.privateKey)]]),
  });
  const t = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'acme',
    sub: 'app_a',
    jti: 'att_1',
    iat: t,
    nbf: t,
    exp: t + 60,
    cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: stray.publicJwk.x } },
    charter: {
      site_id: 'site_a',
      charter_id: 'chr_a',
      platform: 'web',
      attested: false,
      evidence: 'key' as const,
    },
  };
  for (const [key, detail] of [
    [stray, 'ERR_KID_UNKNOWN'],
    [root, 'ERR_KEY_USE'],
  ] as const) {
    await assert.rejects(
      verifyAttesterToken(
        await signAttesterToken(claims, { kid: key.publicJwk.kid, privateKey: key.privateKey }),
        ring,
      ),
      (e: unknown) => e instanceof CharterError && e.code === 'invalid_attestation' && e.detail === detail,
    );
  }
});
