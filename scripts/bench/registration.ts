/**
 * Registrations in isolation, for profiling: `node --import tsx --cpu-prof scripts/bench/registration.ts [N]`
 * registers N instances through the engine with no HTTP around it (default 200; `REGISTER_PLATFORM=server`
 * for registrations without attestation, default `android` with a hardware attestation chain from the
 * test authority), each with its own key, challenge and proof made beforehand, and prints the CPU per
 * registration. What `npm run bench` reports as the registration figure, alone.
 */
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestAttestationAuthority } from '@charter/attest/testing';
import { signCharter, signLicense, thumbprint, trustFromDocument } from '@charter/core';
import { createGateway } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import { benchVendor } from './vendor.ts';

const N = Number(process.argv[2] ?? 200);
const PLATFORM = process.env.REGISTER_PLATFORM === 'server' ? 'server' : 'android';
const now = () => Math.floor(Date.now() / 1000);
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const { root, signer, charterClaims, licenseClaims } = await benchVendor();
const authority = createTestAttestationAuthority();
const ANDROID = {
  package_name: 'com.bench.app',
  signing_cert_sha256: [createHash('sha256').update('bench').digest('hex')],
};
const charter = await signCharter(charterClaims({ server: {}, android: ANDROID }), signer);
const license = await signLicense(
  {
    ...licenseClaims(),
    policy: {
      mode: 'enforce',
      token_ttl_s: 3600,
      proof_skew_s: 300,
      register_rate: { per_charter_per_min: 1_000_000, per_address_per_min: 1_000_000 },
    },
    attestation: { roots: [authority.rootPem] },
  },
  signer,
);
const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'charter-registration-')), 'gateway.db'));
const engine = await createGateway({
  trust: await trustFromDocument({ vendor_id: 'acme', keys: [root.publicJwk] }),
  store,
  license,
  publicUrl: 'http://gw.bench',
  licensePollMs: 0,
});
const requests = [];
for (let k = 0; k < N; k++) {
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
      iat: now(),
      nonce,
    }),
  );
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const attestation =
    PLATFORM === 'android'
      ? {
          fmt: 'android-key',
          x5c: authority.attest({
            publicKey: key.publicKey,
            challenge: createHash('sha256')
              .update(`${nonce}.${await thumbprint(jwk as never)}`)
              .digest(),
            packageName: ANDROID.package_name,
            signingCertDigests: ANDROID.signing_cert_sha256,
          }).x5c,
        }
      : undefined;
  requests.push({
    method: 'POST',
    url: '/charter/v1/register',
    headers: { 'content-type': 'application/json', dpop: `${header}.${payload}.${b64u(signature)}` },
    body: JSON.stringify({ charter, platform: PLATFORM, ...(attestation ? { attestation } : {}) }),
  });
}
// The first ones warm the JIT and the caches (the charter's verification, the roots); not counted.
const WARM = Math.min(20, Math.floor(N / 5));
for (const r of requests.slice(0, WARM)) await engine.register(r);
const t = process.cpuUsage();
for (const r of requests.slice(WARM)) await engine.register(r);
const d = process.cpuUsage(t);
console.log(
  `${PLATFORM} registration: ${((d.user + d.system) / (N - WARM) / 1000).toFixed(2)} ms CPU each (${N - WARM} measured)`,
);
await engine.close();
await store.close();
