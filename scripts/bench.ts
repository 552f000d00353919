/**
 * `npm run bench`: figures as ratios against baselines measured in the same run.
 *
 *  1. Throughput on loopback, same concurrency, same pre-made requests (each with a fresh DPoP proof):
 *     a bare upstream, a bare Fastify proxy to it, and the gateway (token + ES256 DPoP + replay check
 *     + proxy). Requests per second, p50/p99 latency, and CPU per request of the front process.
 *  2. The verification path in isolation: one admission of a protected request against one raw
 *     `crypto.verify` of an ES256 signature with a cached KeyObject.
 *  3. Median CPU time of a registration with Android hardware attestation.
 *  4. Scale-out, when a PostgreSQL and a Redis are named (BENCH_PG and BENCH_REDIS, else
 *     CHARTER_TEST_PG and CHARTER_TEST_REDIS): two replicas sharing them, the same connections split
 *     between the two, against the one embedded replica of 1.
 * Each figure is the median of several runs (BENCH_RUNS, default 3). The last line is the ratio
 * gateway ÷ bare proxy. Options: BENCH_SECONDS (per run, default 5), BENCH_CONNECTIONS (default 32).
 */
import { type ChildProcess, fork } from 'node:child_process';
import {
  createHash,
  createPublicKey,
  createSign,
  generateKeyPairSync,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestAttestationAuthority } from '@charter/attest/testing';
import {
  type CharterClaims,
  generateVendorKey,
  type LicenseClaims,
  signCharter,
  signKeyDelegation,
  signLicense,
  thumbprint,
  trustFromDocument,
} from '@charter/core';
import { createGateway } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import autocannon from 'autocannon';
import pg from 'pg';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Proofs made ahead of each run: more than the fastest target can send in BENCH_SECONDS. */
const PROOFS = Number(process.env.BENCH_PROOFS ?? 40000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const now = () => Math.floor(Date.now() / 1000);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

// --- A vendor, a charter and a license, made with core -------------------------------------------
const root = await generateVendorKey();
const signing = await generateVendorKey();
const trustDoc = { vendor_id: 'acme', keys: [root.publicJwk] };
const delegation = await signKeyDelegation(
  {
    vendorId: 'acme',
    jwk: signing.publicJwk,
    use: ['charter', 'license'],
    nbf: now() - 60,
    exp: now() + 86400,
  },
  { kid: root.publicJwk.kid, privateKey: root.privateKey },
);
const signer = { kid: signing.publicJwk.kid, privateKey: signing.privateKey };
const charterClaims = (platforms: CharterClaims['platforms']): CharterClaims => ({
  iss: 'acme',
  sub: 'app_bench',
  jti: `chr_${randomUUID()}`,
  iat: now() - 10,
  nbf: now() - 10,
  exp: now() + 86400,
  publisher: { id: 'pub_b', name: 'Bench' },
  client_name: 'Bench',
  software_id: 'app_bench',
  software_version: '1',
  scopes: ['orders:read'],
  platforms,
});
const attestAuthority = createTestAttestationAuthority();
const ANDROID = {
  package_name: 'com.bench.app',
  signing_cert_sha256: [createHash('sha256').update('bench').digest('hex')],
};
const charter = await signCharter(charterClaims({ server: {}, android: ANDROID }), signer);
const licenseClaims: LicenseClaims = {
  iss: 'acme',
  sub: 'site_bench',
  jti: `lic_${randomUUID()}`,
  serial: 1,
  iat: now() - 10,
  nbf: now() - 10,
  exp: now() + 86400,
  site: { id: 'site_bench', name: 'Bench' },
  keys: [delegation],
  apps: [{ app_id: 'app_bench' }],
  revoked: {},
  policy: {
    mode: 'enforce',
    token_ttl_s: 3600,
    proof_skew_s: 300,
    // The registration benchmark registers over a hundred instances of one charter in seconds.
    register_rate: { per_charter_per_min: 1_000_000, per_address_per_min: 1_000_000 },
  },
  attestation: { roots: [attestAuthority.rootPem] },
};
const license = await signLicense(licenseClaims, signer);

// --- An instance key and proofs made ahead of time -------------------------------------------------
const instance = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (() => {
  const { kty, crv, x, y } = instance.publicKey.export({ format: 'jwk' });
  return { kty, crv, x, y };
})();
const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk }));
function proof(htm: string, htu: string, extra: Record<string, string> = {}): string {
  const payload = b64u(JSON.stringify({ jti: randomUUID(), htm, htu, iat: now(), ...extra }));
  const sig = sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: instance.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${payload}.${b64u(sig)}`;
}
async function json(url: string, init: RequestInit): Promise<Record<string, string>> {
  const res = await fetch(url, init);
  const body = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

// --- Servers in their own processes ---------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'charter-bench-'));
const setupFile = join(dir, 'setup.json');
writeFileSync(setupFile, JSON.stringify({ trust: JSON.stringify(trustDoc), license }));
function start(
  kind: string,
  upstream = '',
  setup = setupFile,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(import.meta.dirname, 'bench-server.ts'), [kind, upstream, setup], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    children.push(child);
    child.stdout?.once('data', (d: Buffer) => resolve({ child, url: JSON.parse(d.toString()).url }));
    child.once('exit', (code) => reject(new Error(`${kind} exited ${code}`)));
  });
}
const cpuOf = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });

const children: ChildProcess[] = [];
// Servers never outlive the benchmark, whatever happens to it.
process.on('exit', () => {
  for (const c of children) c.kill();
});
const upstream = await start('upstream');
const proxy = await start('proxy', upstream.url);
const gateway = await start('gateway', upstream.url);

// Register one instance and get a token at the gateway, as a client would.
const { nonce } = await json(`${gateway.url}/charter/v1/challenge`, { method: 'POST' });
const reg = await json(`${gateway.url}/charter/v1/register`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    dpop: proof('POST', `${gateway.url}/charter/v1/register`, { nonce: nonce as string }),
  },
  body: JSON.stringify({ charter, platform: 'server' }),
});
const tok = await json(`${gateway.url}/charter/v1/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', dpop: proof('POST', `${gateway.url}/charter/v1/token`) },
  body: JSON.stringify({ instance_id: reg.instance_id }),
});
const accessToken = tok.access_token as string;
const ath = b64u(createHash('sha256').update(accessToken).digest());

interface Row {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number;
}
async function load(target: { child: ChildProcess; url: string }, checksProofs = false): Promise<Row> {
  // Every request carries its own proof, made before the clock starts, so the load generator does the
  // same (nothing) for every target and the gateway sees no replay.
  const proofs = Array.from({ length: PROOFS }, () => proof('GET', `${gateway.url}/orders`, { ath }));
  let i = 0;
  const cpu0 = await cpuOf(target.child);
  const result = await autocannon({
    url: `${target.url}/orders`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          headers: {
            ...req.headers,
            authorization: `DPoP ${accessToken}`,
            dpop: proofs[i++ % proofs.length] as string,
          },
        }),
      },
    ],
  });
  const cpu1 = await cpuOf(target.child);
  const ok = result['2xx'];
  // A refused request would make the gateway look faster than it is: every one must succeed.
  if (result.non2xx > 0 || result.errors > 0 || (checksProofs && i > PROOFS)) {
    throw new Error(
      `${target.url}: ${result.non2xx} refused, ${result.errors} errors, ${i} proofs for ${PROOFS} made`,
    );
  }
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: (cpu1 - cpu0) / ok,
  };
}

const rows: Record<string, Row[]> = { 'bare upstream': [], 'bare Fastify proxy': [], 'Charter gateway': [] };
for (const target of [upstream, proxy, gateway]) await load(target, target === gateway); // warm-up
for (let run = 0; run < RUNS; run++) {
  rows['bare upstream']?.push(await load(upstream));
  rows['bare Fastify proxy']?.push(await load(proxy));
  rows['Charter gateway']?.push(await load(gateway, true));
}

// --- Scale-out: two replicas on PostgreSQL + Redis, the same load split between them ------------------
const BENCH_PG = process.env.BENCH_PG || process.env.CHARTER_TEST_PG;
const BENCH_REDIS = process.env.BENCH_REDIS || process.env.CHARTER_TEST_REDIS;
let scaled: Row | undefined;
if (BENCH_PG && BENCH_REDIS) {
  const schema = `charter_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const db = new URL(BENCH_PG);
  db.searchParams.set('schema', schema);
  // One public URL, as behind a load balancer: a proof or token is good at either replica.
  const publicUrl = 'http://gateway.bench';
  const scaledSetup = join(dir, 'scaled.json');
  writeFileSync(
    scaledSetup,
    JSON.stringify({ trust: JSON.stringify(trustDoc), license, db: db.href, redis: BENCH_REDIS, publicUrl }),
  );
  const replicas = [
    await start('gateway-scaled', upstream.url, scaledSetup),
    await start('gateway-scaled', upstream.url, scaledSetup),
  ];
  const [r1, r2] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
  const { nonce: n1 } = await json(`${r1.url}/charter/v1/challenge`, { method: 'POST' });
  const reg1 = await json(`${r1.url}/charter/v1/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      dpop: proof('POST', `${publicUrl}/charter/v1/register`, { nonce: n1 as string }),
    },
    body: JSON.stringify({ charter, platform: 'server' }),
  });
  const tok1 = await json(`${r2.url}/charter/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop: proof('POST', `${publicUrl}/charter/v1/token`) },
    body: JSON.stringify({ instance_id: reg1.instance_id }),
  });
  const scaledToken = tok1.access_token as string;
  const scaledAth = b64u(createHash('sha256').update(scaledToken).digest());
  const loadPair = async (): Promise<Row> => {
    const proofs = Array.from({ length: PROOFS }, () =>
      proof('GET', `${publicUrl}/orders`, { ath: scaledAth }),
    );
    let i = 0;
    const cpu0 = (await Promise.all(replicas.map((r) => cpuOf(r.child)))).reduce((x, y) => x + y, 0);
    const results = await Promise.all(
      replicas.map((r) =>
        autocannon({
          url: `${r.url}/orders`,
          connections: Math.max(1, Math.floor(CONNECTIONS / replicas.length)),
          duration: SECONDS,
          requests: [
            {
              method: 'GET',
              setupRequest: (req) => ({
                ...req,
                headers: {
                  ...req.headers,
                  authorization: `DPoP ${scaledToken}`,
                  dpop: proofs[i++ % proofs.length] as string,
                },
              }),
            },
          ],
        }),
      ),
    );
    const cpu1 = (await Promise.all(replicas.map((r) => cpuOf(r.child)))).reduce((x, y) => x + y, 0);
    const refused = results.reduce((n, r) => n + r.non2xx + r.errors, 0);
    if (refused > 0 || i > PROOFS) throw new Error(`scale-out: ${refused} refused or failed, ${i} proofs`);
    const ok = results.reduce((n, r) => n + r['2xx'], 0);
    return {
      rps: results.reduce((n, r) => n + r['2xx'] / r.duration, 0),
      p50: Math.max(...results.map((r) => r.latency.p50)),
      p99: Math.max(...results.map((r) => r.latency.p99)),
      cpuUs: (cpu1 - cpu0) / ok,
    };
  };
  await loadPair(); // warm-up
  const scaledRows: Row[] = [];
  for (let run = 0; run < RUNS; run++) scaledRows.push(await loadPair());
  scaled = {
    rps: median(scaledRows.map((r) => r.rps)),
    p50: median(scaledRows.map((r) => r.p50)),
    p99: median(scaledRows.map((r) => r.p99)),
    cpuUs: median(scaledRows.map((r) => r.cpuUs)),
  };
  for (const r of replicas) r.child.send('exit');
  const client = new pg.Client({ connectionString: BENCH_PG });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
for (const p of [upstream, proxy, gateway]) p.child.send('exit');

// --- The verification path in isolation --------------------------------------------------------------
const store = new SqliteStore(join(dir, 'engine.db'));
const engine = await createGateway({
  trust: await trustFromDocument(trustDoc),
  store,
  license,
  publicUrl: 'http://gw.bench',
  licensePollMs: 0,
});
const ch = await engine.challenge();
const registered = await engine.register({
  method: 'POST',
  url: '/charter/v1/register',
  headers: {
    'content-type': 'application/json',
    dpop: proof('POST', 'http://gw.bench/charter/v1/register', { nonce: ch.nonce }),
  },
  body: JSON.stringify({ charter, platform: 'server' }),
});
const issued = await engine.token({
  method: 'POST',
  url: '/charter/v1/token',
  headers: { 'content-type': 'application/json', dpop: proof('POST', 'http://gw.bench/charter/v1/token') },
  body: JSON.stringify({ instance_id: registered.instance_id }),
});
const engineToken = issued.access_token;
const engineAth = b64u(createHash('sha256').update(engineToken).digest());
const N = 3000;
const requests = Array.from({ length: N }, () => ({
  method: 'GET',
  url: '/orders',
  headers: {
    authorization: `DPoP ${engineToken}`,
    dpop: proof('GET', 'http://gw.bench/orders', { ath: engineAth }),
  },
}));
const data = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJodG0iOiJHRVQifQ');
const sig = createSign('sha256').update(data).sign({ key: instance.privateKey, dsaEncoding: 'ieee-p1363' });
const pub = createPublicKey(instance.privateKey);
const admitTimes: number[] = [];
const verifyTimes: number[] = [];
for (let run = 0; run < Math.max(RUNS, 3); run++) {
  let t = process.cpuUsage();
  for (let k = 0; k < 1000; k++) verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig);
  let d = process.cpuUsage(t);
  verifyTimes.push((d.user + d.system) / 1000);
  const batch = requests.slice((run % 3) * 1000, (run % 3) * 1000 + 1000);
  if (run >= 3) break;
  t = process.cpuUsage();
  for (const r of batch) await engine.admit(r);
  d = process.cpuUsage(t);
  admitTimes.push((d.user + d.system) / batch.length);
}

// --- A registration with Android attestation, CPU per registration -------------------------------------
const regTimes: number[] = [];
const plainTimes: number[] = [];
for (let k = 0; k < 120; k++) {
  const attested = k % 2 === 0;
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pj = (() => {
    const { kty, crv, x, y } = key.publicKey.export({ format: 'jwk' });
    return { kty, crv, x, y };
  })();
  const h = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: pj }));
  const c = await engine.challenge();
  const kjkt = await thumbprint(pj as never);
  const payload = b64u(
    JSON.stringify({
      jti: randomUUID(),
      htm: 'POST',
      htu: 'http://gw.bench/charter/v1/register',
      iat: now(),
      nonce: c.nonce,
    }),
  );
  const p = `${h}.${payload}.${b64u(sign('sha256', Buffer.from(`${h}.${payload}`), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }))}`;
  const x5c = attestAuthority.attest({
    publicKey: key.publicKey,
    challenge: createHash('sha256').update(`${c.nonce}.${kjkt}`).digest(),
    packageName: ANDROID.package_name,
    signingCertDigests: ANDROID.signing_cert_sha256,
  }).x5c;
  const body = JSON.stringify(
    attested
      ? { charter, platform: 'android', attestation: { fmt: 'android-key', x5c } }
      : { charter, platform: 'server' },
  );
  const t = process.cpuUsage();
  await engine.register({
    method: 'POST',
    url: '/charter/v1/register',
    headers: { 'content-type': 'application/json', dpop: p },
    body,
  });
  const d = process.cpuUsage(t);
  if (k >= 20) (attested ? regTimes : plainTimes).push((d.user + d.system) / 1000);
}
await engine.close();
await store.close();

// --- Report ---------------------------------------------------------------------------------------------
const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(8);
console.log(
  `\nCharter benchmark — ${RUNS} runs × ${SECONDS} s, ${CONNECTIONS} connections, medians (${new Date().toISOString()})\n`,
);
console.log(
  `${'target'.padEnd(22)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU µs/req'.padStart(12)}`,
);
const med: Record<string, Row> = {};
for (const [name, rs] of Object.entries(rows)) {
  med[name] = {
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuUs: median(rs.map((r) => r.cpuUs)),
  };
  const m = med[name] as Row;
  console.log(
    `${name.padEnd(22)}${fmt(m.rps)}${fmt(m.p50, 1)}${fmt(m.p99, 1)}${fmt(m.cpuUs, 0).padStart(12)}`,
  );
}
if (scaled) {
  console.log(
    `${'2 replicas, PG + Redis'.padEnd(22)}${fmt(scaled.rps)}${fmt(scaled.p50, 1)}${fmt(scaled.p99, 1)}${fmt(scaled.cpuUs, 0).padStart(12)}`,
  );
}
const admitUs = median(admitTimes);
const verifyUs = median(verifyTimes);
console.log(
  `\nverification path: one admission ${admitUs.toFixed(0)} µs CPU; one raw ES256 crypto.verify ${verifyUs.toFixed(0)} µs; ratio ${(admitUs / verifyUs).toFixed(2)}`,
);
console.log(
  `registration with Android attestation: median ${median(regTimes).toFixed(2)} ms CPU (budget 5 ms); without attestation ${median(plainTimes).toFixed(2)} ms`,
);
const g = med['Charter gateway'] as Row;
const p = med['bare Fastify proxy'] as Row;
console.log(`gateway CPU per request ÷ bare proxy: ${(g.cpuUs / p.cpuUs).toFixed(2)}`);
console.log(
  scaled
    ? `2 replicas on PostgreSQL + Redis ÷ 1 replica embedded (requests per second, same ${CONNECTIONS} connections split): ${(scaled.rps / g.rps).toFixed(2)}`
    : 'scale-out row skipped: set BENCH_PG and BENCH_REDIS (or CHARTER_TEST_PG and CHARTER_TEST_REDIS) to measure two replicas on PostgreSQL + Redis',
);
console.log(`gateway ÷ bare proxy (requests per second): ${(g.rps / p.rps).toFixed(2)}`);
process.exit(0);
