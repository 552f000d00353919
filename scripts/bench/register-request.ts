/**
 * One registration request as a device sends it, for the registration figures (bench.ts and
 * registration.ts): a fresh instance key, the engine's challenge, the DPoP proof over it and, on
 * Android, a hardware attestation chain from the test authority binding the nonce and the key.
 */
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { TestAttestationAuthority } from '@charter/attest/testing';
import { thumbprint } from '@charter/core';
import type { Gateway } from '@charter/gateway';
import { BENCH_ANDROID } from './vendor.ts';

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A register request for `charter` at the engine (`http://gw.bench`), attested when `platform` is android. */
export async function registerRequest(
  engine: Pick<Gateway, 'challenge'>,
  charter: string,
  authority: TestAttestationAuthority,
  platform: 'android' | 'server',
) {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = key.publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y } as { kty: string; crv: string; x: string; y: string };
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk }));
  const { nonce } = await engine.challenge();
  const payload = b64u(
    JSON.stringify({
      jti: randomUUID(),
      htm: 'POST',
      htu: 'http://gw.bench/charter/v1/register',
      iat: Math.floor(Date.now() / 1000),
      nonce,
    }),
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const attestation =
    platform === 'android'
      ? {
          fmt: 'android-key',
          x5c: authority.attest({
            publicKey: key.publicKey,
            challenge: createHash('sha256')
              .update(`${nonce}.${await thumbprint(jwk as never)}`)
              .digest(),
            packageName: BENCH_ANDROID.package_name,
            signingCertDigests: BENCH_ANDROID.signing_cert_sha256,
          }).x5c,
        }
      : undefined;
  return {
    method: 'POST',
    url: '/charter/v1/register',
    headers: { 'content-type': 'application/json', dpop: `${header}.${payload}.${b64u(signature)}` },
    body: JSON.stringify({ charter, platform, ...(attestation ? { attestation } : {}) }),
  };
}
