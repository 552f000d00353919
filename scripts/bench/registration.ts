/**
 * Registrations in isolation, for profiling: `node --import tsx --cpu-prof scripts/bench/registration.ts [N]`
 * registers N instances through the engine with no HTTP around it (default 200; `REGISTER_PLATFORM=server`
 * for registrations without attestation, default `android` with a hardware attestation chain from the
 * test authority), each with its own key, challenge and proof made beforehand, and prints the CPU per
 * registration. What `npm run bench` reports as the registration figure, alone.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestAttestationAuthority } from '@charter/attest/testing';
import { signCharter, signLicense } from '@charter/core';
import { SqliteStore } from '@charter/gateway/sqlite';
import { registerRequest } from './register-request.ts';
import { BENCH_ANDROID, benchVendor } from './vendor.ts';

const N = Number(process.argv[2] ?? 200);
const PLATFORM = process.env.REGISTER_PLATFORM === 'server' ? 'server' : 'android';
const vendor = await benchVendor();
const authority = createTestAttestationAuthority();
const charter = await signCharter(
  vendor.charterClaims({ server: {}, android: BENCH_ANDROID }),
  vendor.signer,
);
const license = await signLicense(vendor.registeringLicenseClaims(authority.rootPem), vendor.signer);
const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'charter-registration-')), 'gateway.db'));
const engine = await vendor.engine(store, license);
const requests = [];
for (let k = 0; k < N; k++) requests.push(await registerRequest(engine, charter, authority, PLATFORM));
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
