/**
 * One admission in isolation, for profiling: `node --import tsx --cpu-prof scripts/bench/admission.ts [N]`
 * admits N protected requests (default 20000, each with a fresh proof made beforehand) through the
 * engine with no HTTP around it, and prints the CPU per admission next to one raw ES256 verify.
 * `ADMIT_CONCURRENCY=32` admits in batches of 32 at once (as a loaded gateway does, so the replay
 * records share a group commit; default 1: one commit per admission); `ADMIT_MEMORY_CACHE=1` keeps
 * the replay records in process memory instead of SQLite, to see what the durable record costs.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCharter, signLicense } from '@charter/core';
import { MemoryCache } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import { benchVendor } from './vendor.ts';

const N = Number(process.argv[2] ?? 20000);
const now = () => Math.floor(Date.now() / 1000);
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const vendor = await benchVendor();
const charter = await signCharter(vendor.charterClaims(), vendor.signer);
const license = await signLicense(vendor.licenseClaims(), vendor.signer);
const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'charter-admission-')), 'gateway.db'));
const engine = await vendor.engine(store, license, {
  ...(process.env.ADMIT_MEMORY_CACHE ? { cache: new MemoryCache() } : {}),
  routes: [{ method: 'GET', path: '/orders*', scope: 'orders:read' }],
});
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { kty, crv, x, y } = key.publicKey.export({ format: 'jwk' });
const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
const proof = (htm: string, htu: string, extra: Record<string, string> = {}) => {
  const payload = b64u(JSON.stringify({ jti: randomUUID(), htm, htu, iat: now(), ...extra }));
  const sig = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${payload}.${b64u(sig)}`;
};
const { nonce } = engine.challenge();
const reg = await engine.register({
  method: 'POST',
  url: '/charter/v1/register',
  headers: {
    'content-type': 'application/json',
    dpop: proof('POST', 'http://gw.bench/charter/v1/register', { nonce }),
  },
  body: JSON.stringify({ charter, platform: 'server' }),
});
const tok = await engine.token({
  method: 'POST',
  url: '/charter/v1/token',
  headers: { 'content-type': 'application/json', dpop: proof('POST', 'http://gw.bench/charter/v1/token') },
  body: JSON.stringify({ instance_id: reg.instance_id }),
});
const ath = b64u(createHash('sha256').update(tok.access_token).digest());
const requests = Array.from({ length: N }, () => ({
  method: 'GET',
  url: '/orders?page=1',
  headers: {
    host: 'gw.bench',
    accept: 'application/json',
    'user-agent': 'bench',
    authorization: `DPoP ${tok.access_token}`,
    dpop: proof('GET', 'http://gw.bench/orders', { ath }),
  },
}));
const data = Buffer.from(requests[0]?.headers.dpop.split('.').slice(0, 2).join('.') as string);
const sig = Buffer.from(requests[0]?.headers.dpop.split('.')[2] as string, 'base64url');
const pub = createPublicKey(key.privateKey);
let t = process.cpuUsage();
for (let k = 0; k < 5000; k++) verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
let d = process.cpuUsage(t);
const verifyUs = (d.user + d.system) / 5000;
t = process.cpuUsage();
const C = Number(process.env.ADMIT_CONCURRENCY ?? 1);
for (let i = 0; i < requests.length; i += C)
  await Promise.all(requests.slice(i, i + C).map((r) => engine.admit(r)));
d = process.cpuUsage(t);
const admitUs = (d.user + d.system) / N;
console.log(
  `one admission ${admitUs.toFixed(0)} µs CPU; one raw ES256 verify ${verifyUs.toFixed(0)} µs; beyond the verify ${(admitUs - verifyUs).toFixed(0)} µs`,
);
await engine.close();
await store.close();
