/**
 * What a request costs with `charter gateway start --workers 1` and `--workers 2` (issue 17, "Every
 * core"): real gateway processes, interleaved rounds, autocannon with a fresh DPoP proof per request,
 * the CPU of the whole gateway (supervisor and every worker, from /proc) divided by the requests it
 * admitted. Two workers are measured under both cluster scheduling policies (round-robin, the
 * default on Linux, and SCHED_NONE: the kernel hands connections to whichever worker accepts).
 * `node --import tsx scripts/workers-cost.ts` (WORKERS_ROUNDS, WORKERS_SECONDS, WORKERS_CONNECTIONS).
 * `WORKERS_COMPARE=DIR` (another checkout, with its node_modules) adds its `--workers 1` and
 * `--workers 2` to the same rounds: an A/B of two versions on the same load.
 * The license gives the app a rate limit, so that the shared rate count is part of what is measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LicenseClaims, signCharter, signLicense } from '@charter/core';
import autocannon from 'autocannon';
import { benchVendor } from './bench/vendor.ts';

const ROUNDS = Number(process.env.WORKERS_ROUNDS ?? 5);
const SECONDS = Number(process.env.WORKERS_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.WORKERS_CONNECTIONS ?? 32);
const PROOFS = Number(process.env.WORKERS_PROOFS ?? 60000);
const binOf = (tree: string) => join(tree, 'packages', 'cli', 'bin', 'charter.js');
const BIN = binOf(join(import.meta.dirname, '..'));
const COMPARE = process.env.WORKERS_COMPARE;
const now = () => Math.floor(Date.now() / 1000);
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

// --- A vendor, a charter and a license --------------------------------------------------------------
const { root, signer, charterClaims, licenseClaims: benchLicense } = await benchVendor();
const charter = await signCharter(charterClaims(), signer);
const licenseClaims: LicenseClaims = benchLicense({
  app_id: 'app_bench',
  rate: { per_app_per_min: 100_000_000 },
});
const dir = mkdtempSync(join(tmpdir(), 'charter-workers-cost-'));
writeFileSync(join(dir, 'trust.json'), JSON.stringify({ vendor_id: 'acme', keys: [root.publicJwk] }));
writeFileSync(join(dir, 'site.license'), await signLicense(licenseClaims, signer));

const instance = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const header = (() => {
  const { kty, crv, x, y } = instance.publicKey.export({ format: 'jwk' });
  return b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
})();
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

// --- The upstream and the gateways ------------------------------------------------------------------
const upstream = createServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
);
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

interface Target {
  name: string;
  child: ChildProcess;
  url: string;
  token: string;
  ath: string;
}
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGTERM');
});

async function startGateway(
  name: string,
  workers: number,
  env: Record<string, string> = {},
  bin = BIN,
): Promise<Target> {
  const child = spawn(
    process.execPath,
    [
      bin,
      'gateway',
      'start',
      '--home',
      join(dir, name),
      '--license',
      join(dir, 'site.license'),
      '--trust',
      join(dir, 'trust.json'),
      '--upstream',
      upstreamUrl,
      '--listen',
      '127.0.0.1:0',
      '--workers',
      String(workers),
      '--json',
    ],
    { env: { ...process.env, CHARTER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => {
      const info = JSON.parse(d.toString());
      if (info.url) resolve(info.url);
      else reject(new Error(`${name}: ${d}`));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
  const { nonce } = await json(`${url}/charter/v1/challenge`, { method: 'POST' });
  const reg = await json(`${url}/charter/v1/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      dpop: proof('POST', `${url}/charter/v1/register`, { nonce: nonce as string }),
    },
    body: JSON.stringify({ charter, platform: 'server' }),
  });
  const tok = await json(`${url}/charter/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop: proof('POST', `${url}/charter/v1/token`) },
    body: JSON.stringify({ instance_id: reg.instance_id }),
  });
  const token = tok.access_token as string;
  return { name, child, url, token, ath: b64u(createHash('sha256').update(token).digest()) };
}

/** CPU seconds so far of `pid` and every process below it (the supervisor and its workers). */
function treeCpuS(pid: number): number {
  const stat = (p: number) => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  let sum = 0;
  const walk = (p: number) => {
    try {
      const f = stat(p);
      // utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
      sum += (Number(f[11]) + Number(f[12])) / 100;
      for (const t of readdirSync(`/proc/${p}/task`))
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(/\s+/))
          if (c) walk(Number(c));
    } catch {}
  };
  walk(pid);
  return sum;
}

interface Row {
  rps: number;
  cpuUs: number;
  p99: number;
}
async function load(t: Target): Promise<Row> {
  const proofs = Array.from({ length: PROOFS }, () => proof('GET', `${t.url}/orders`, { ath: t.ath }));
  let i = 0;
  const cpu0 = treeCpuS(t.child.pid as number);
  const result = await autocannon({
    url: `${t.url}/orders`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          headers: {
            ...req.headers,
            authorization: `DPoP ${t.token}`,
            dpop: proofs[i++ % proofs.length] as string,
          },
        }),
      },
    ],
  });
  const cpu1 = treeCpuS(t.child.pid as number);
  if (result.non2xx > 0 || result.errors > 0 || i > PROOFS)
    throw new Error(
      `${t.name}: ${result.non2xx} refused, ${result.errors} errors, ${i} proofs for ${PROOFS}`,
    );
  const ok = result['2xx'];
  return { rps: ok / result.duration, cpuUs: ((cpu1 - cpu0) * 1e6) / ok, p99: result.latency.p99 };
}

const targets = [
  await startGateway('w1', 1),
  await startGateway('w2-rr', 2, { NODE_CLUSTER_SCHED_POLICY: 'rr' }),
  await startGateway('w2-none', 2, { NODE_CLUSTER_SCHED_POLICY: 'none' }),
  ...(COMPARE
    ? [
        await startGateway('w1 (compared)', 1, {}, binOf(COMPARE)),
        await startGateway('w2-rr (compared)', 2, { NODE_CLUSTER_SCHED_POLICY: 'rr' }, binOf(COMPARE)),
      ]
    : []),
];
const rows = new Map<string, Row[]>(targets.map((t) => [t.name, []]));
for (const t of targets) await load(t); // warm-up
for (let round = 0; round < ROUNDS; round++)
  for (const t of targets) {
    const r = await load(t);
    rows.get(t.name)?.push(r);
    console.error(
      `round ${round + 1} ${t.name}: ${r.rps.toFixed(0)} req/s, ${r.cpuUs.toFixed(0)} µs CPU/req, p99 ${r.p99} ms`,
    );
  }

const one = rows.get('w1') as Row[];
console.log(
  '| gateway | req/s | µs CPU / request (all processes) | p99 ms | CPU/request vs 1 worker (median of rounds) |',
);
console.log('|---|---|---|---|---|');
for (const [name, rs] of rows) {
  const ratio = median(rs.map((r, k) => r.cpuUs / (one[k] as Row).cpuUs));
  console.log(
    `| ${name} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${median(rs.map((r) => r.p99))} | ${ratio.toFixed(2)} |`,
  );
}
for (const c of children) c.kill('SIGTERM');
upstream.close();
await new Promise((r) => setTimeout(r, 1500));
rmSync(dir, { recursive: true, force: true });
process.exit(0);
