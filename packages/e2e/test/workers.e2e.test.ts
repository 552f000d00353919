/**
 * `charter gateway start --workers 2` as real processes (issue 17, "Every core"): what one worker
 * saw is seen by the other. Every request goes on a connection of its own, so the cluster hands
 * consecutive requests to different workers; the decision line each worker logs (with its `worker`
 * field) says which one answered. A used proof, a spent registration nonce and a rate count are
 * shared, a license installed into the home is in force at both, the audit chain is one chain,
 * /charter/metrics sums both workers, a killed worker is replaced, and SIGTERM stops them all.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { verifyAuditChain } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
import { makeInstanceKey, makeLicense, makeProof, type SpecClient } from '../../gateway/test/helpers.ts';
import { type ExpressHost, expressHost, makeSite, registeredClient, type Site } from './hosts.ts';
import { run, type Started, startGatewayProcess } from './processes.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One request on a connection of its own (no keep-alive: the next one may reach another worker). */
function fresh(base: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  const u = new URL(base);
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// biome-ignore lint/suspicious/noExplicitAny: pino lines.
type Line = Record<string, any>;

/** The gateway's JSON log lines so far. */
function lines(gw: Started): Line[] {
  const out: Line[] = [];
  for (const l of gw.stderr().split('\n')) {
    try {
      out.push(JSON.parse(l));
    } catch {}
  }
  return out;
}

/** Wait for the `n`-th log line matching `match` (lines reach us a little after the answer). */
async function nthLine(gw: Started, match: (l: Line) => boolean, n: number, waitS = 5): Promise<Line> {
  for (let i = 0; i < waitS * 40; i++) {
    const found = lines(gw).filter(match);
    if (found.length >= n) return found[n - 1] as Line;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no log line ${n} matching; log:\n${gw.stderr().slice(-3000)}`);
}

let site: Site;
let api: ExpressHost;
let gw: Started;
let home: string;

before(async () => {
  site = await makeSite();
  api = await expressHost();
  home = join(site.dir, 'G');
  gw = await startGatewayProcess(
    [
      '--home',
      home,
      '--license',
      site.licenseFile,
      '--trust',
      site.trustFile,
      '--routes',
      site.routesFile,
      '--upstream',
      api.url,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '127.0.0.1:0',
      '--workers',
      '2',
    ],
    { env: { CHARTER_LOG_LEVEL: 'info' } },
  );
});

after(async () => {
  await api?.close();
  site?.remove();
});

/** A protected GET of a path of its own, on a fresh connection; with the worker that decided it. */
async function call(c: SpecClient, path: string, proof?: string): Promise<Answer & { worker: number }> {
  const p = proof ?? (await c.proofFor('GET', path));
  const seen = lines(gw).filter((l) => l.path === path).length;
  const r = await fresh(c.base, 'GET', path, { authorization: `DPoP ${c.accessToken}`, dpop: p });
  const line = await nthLine(gw, (l) => l.path === path, seen + 1);
  return { ...r, worker: line.worker };
}

test('one startup line from the supervisor, with URLs that answer', async () => {
  assert.equal(gw.info.workers, 2);
  assert.match(gw.info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const wellKnown = await fresh(gw.info.url, 'GET', '/.well-known/charter', {});
  assert.equal(wellKnown.status, 200);
  const probe = await fetch(new URL('/charter/readyz', gw.info.metrics_url));
  assert.equal(probe.status, 200);
  assert.deepEqual(await probe.json(), { status: 'ready' });
  const admin = await fetch(gw.info.admin_url);
  // No operator yet: the console's mount says so (not a connection refused).
  assert.equal(admin.status, 404);
  const started = lines(gw).find((l) => l.msg === 'gateway workers listening');
  assert.equal(started?.pids.length, 2);
});

test('a proof admitted by one worker is refused as a replay by the other', async () => {
  const c = await registeredClient(gw.info.url, site.readOnly);
  const path = '/orders/replayed';
  const proof = await c.proofFor('GET', path);
  const first = await call(c, path, proof);
  assert.equal(first.status, 200);
  const others = new Set<number>();
  for (let i = 0; i < 6 && others.size === 0; i++) {
    const again = await call(c, path, proof);
    assert.equal(again.status, 401, JSON.stringify(again.body));
    assert.equal(again.body.error, 'invalid_dpop_proof');
    if (again.worker !== first.worker) others.add(again.worker);
  }
  assert.equal(others.size, 1, 'the replay never reached the other worker');
  const refused = lines(gw).filter((l) => l.path === path && l.detail === 'ERR_DPOP_REPLAY');
  assert.ok(refused.some((l) => l.worker !== first.worker));
});

test('a registration nonce spent at one worker is refused at the other', async () => {
  const htu = `${gw.info.url}/charter/v1/register`;
  const challenge = await fresh(gw.info.url, 'POST', '/charter/v1/challenge', {});
  const nonce = challenge.body.nonce as string;
  const register = async () => {
    const key = await makeInstanceKey();
    const proof = await makeProof(key, { htm: 'POST', htu, nonce });
    const count = lines(gw).filter((l) => l.endpoint === 'register').length;
    const r = await fresh(
      gw.info.url,
      'POST',
      '/charter/v1/register',
      { 'content-type': 'application/json', dpop: proof },
      JSON.stringify({ charter: site.readOnly, platform: 'server' }),
    );
    const line = await nthLine(gw, (l) => l.endpoint === 'register', count + 1);
    return { ...r, worker: line.worker as number };
  };
  const first = await register();
  assert.equal(first.status, 200, JSON.stringify(first.body));
  let other: Awaited<ReturnType<typeof register>> | undefined;
  for (let i = 0; i < 6 && !other; i++) {
    const again = await register();
    assert.equal(again.body.error, 'use_dpop_nonce', JSON.stringify(again.body));
    if (again.worker !== first.worker) other = again;
  }
  assert.ok(other, 'the spent nonce never reached the other worker');
});

test('a license installed into the home is in force at both workers, and its rate counts across them', async () => {
  // Not within 12 s of a minute's end: the per-minute window must hold the whole burst.
  while (Math.floor(Date.now() / 1000) % 60 > 48) await new Promise((r) => setTimeout(r, 500));
  const c = await registeredClient(gw.info.url, site.readOnly);
  const file = join(site.dir, 'rated.license');
  writeFileSync(
    file,
    await makeLicense(site.vendor, 2, { apps: [{ app_id: 'app_beta', rate: { per_instance_per_min: 4 } }] }),
  );
  const installed = run(['gateway', 'license', 'install', file, '--home', home, '--trust', site.trustFile]);
  assert.equal(installed.code, 0, installed.stderr);
  // Every worker polls the store each second.
  await new Promise((r) => setTimeout(r, 1500));
  const answers = [];
  for (let i = 0; i < 8; i++) answers.push(await call(c, `/orders/rated-${i}`));
  const admitted = answers.filter((a) => a.status === 200);
  const limited = answers.filter((a) => a.body.error === 'rate_limited');
  // Counted per worker, each would admit 4 of its own.
  assert.equal(admitted.length, 4, JSON.stringify(answers.map((a) => [a.worker, a.status])));
  assert.equal(limited.length, 4);
  assert.deepEqual(new Set(limited.map((a) => a.worker)), new Set([1, 2]), 'both workers enforce serial 2');
});

test('a license the CLI installs changes over at both workers together, not a poll apart', async () => {
  const file = join(site.dir, 'next.license');
  writeFileSync(file, await makeLicense(site.vendor, 3));
  const installed = run(['gateway', 'license', 'install', file, '--home', home, '--trust', site.trustFile]);
  assert.equal(installed.code, 0, installed.stderr);
  const serial = async () =>
    Number((await fresh(gw.info.url, 'GET', '/.well-known/charter', {})).body.license_serial);
  // Wait for the first worker to find it (each polls the store once a second, at its own moment)…
  let waited = 0;
  while ((await serial()) !== 3) {
    assert.ok(waited++ < 150, 'serial 3 in force at some worker within 3 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  // …then the other must have it at once: new connections alternate between the two workers.
  await new Promise((r) => setTimeout(r, 100));
  const seen = [];
  for (let i = 0; i < 8; i++) seen.push(await serial());
  assert.deepEqual(seen, Array(8).fill(3), 'both workers answer with serial 3');
});

test('/charter/metrics sums the admissions of both workers', async () => {
  const admittedLines = lines(gw).filter((l) => l.msg === 'admitted');
  assert.deepEqual(new Set(admittedLines.map((l) => l.worker)), new Set([1, 2]));
  const text = await (await fetch(gw.info.metrics_url)).text();
  const total = text
    .split('\n')
    .filter((l) => l.startsWith('charter_admissions_total{') && l.includes('outcome="admitted"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  assert.equal(total, admittedLines.length);
  // A gauge is the gateway's, not a sum over workers.
  assert.match(text, /^charter_license_serial 3$/m);
});

test('a worker killed with SIGKILL is restarted and the service goes on', async () => {
  const pids: number[] = lines(gw).find((l) => l.msg === 'gateway workers listening')?.pids;
  const victim = pids[1] as number;
  process.kill(victim, 'SIGKILL');
  // A worker's start (loading the CLI, opening the store, listening) takes seconds on a busy machine.
  const restarted = await nthLine(gw, (l) => l.msg === 'worker restarted', 1, 60);
  const crashed = lines(gw).find((l) => l.msg === 'worker exited: restarting it');
  assert.equal(crashed?.signal, 'SIGKILL');
  assert.notEqual(restarted.pid, victim);
  const c = await registeredClient(gw.info.url, site.readOnly);
  const workers = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const r = await call(c, `/orders/after-crash-${i}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    workers.add(r.worker);
  }
  assert.deepEqual(workers, new Set([1, 2]));
});

test('SIGTERM stops every worker; the audit chain both wrote is one chain', async () => {
  assert.equal(await gw.stop(), 0);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const l of lines(gw).filter((x) => x.msg === 'worker restarted' || x.pids))
    for (const pid of l.pids ?? [l.pid]) if (pid !== undefined) assert.equal(alive(pid), false, `pid ${pid}`);
  const store = new SqliteStore(join(home, 'gateway.db'));
  try {
    const entries = await store.auditEntries(0, 100_000);
    assert.ok(entries.length > 5);
    assert.equal(verifyAuditChain(entries).ok, true);
  } finally {
    await store.close();
  }
});
