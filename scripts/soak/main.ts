/**
 * `npm run soak`: Charter under steady traffic with attackers mixed in, while processes crash and
 * backing services restart (issue 18). Real processes on loopback: two `charter gateway start`
 * replicas on a PostgreSQL database and a Redis of the soak's own, behind a round-robin balancer, and
 * one embedded (SQLite) gateway; a sample upstream; the load generator (traffic.ts). Faults on a
 * schedule: kill -9 of a replica (restarted), PostgreSQL connections cut (TCP relay), one replica's
 * clock stepped, Redis restarted; a license with a revocation installed mid-run.
 *
 *   npm run soak -- [--duration 10m] [--out DIR] [--concurrency 8] [--max-requests N]
 *
 * PostgreSQL: CHARTER_TEST_PG (default postgres://postgres@127.0.0.1:5432/test) names the server; the
 * soak creates a database of its own there and drops it at the end. Redis: a redis-server on a free
 * port, started and stopped here, so the machine's shared Redis is never touched.
 * Writes DIR/soak.json, DIR/soak.svg and DIR/exchanges.ndjson; exits 1 when a must fails.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, OwnRedis, TcpRelay } from '../../packages/gateway/test/services.ts';
import { Balancer } from './balancer.ts';
import { GatewayProcess, type MemorySample } from './gateways.ts';
import { send } from './http.ts';
import { plotSvg } from './plot.ts';
import { type FaultWindow, GRACE_MS, summarise, windowOf } from './report.ts';
import { makeSite } from './site.ts';
import { AuditWatcher, type StoreCheck } from './stores.ts';
import { type Target, Traffic } from './traffic.ts';

const BIN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'bin', 'charter.js');

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration: ${text} is not a duration (e.g. 60s, 10m)`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
}

function parseArgs(argv: string[]) {
  const o = { durationMs: 600_000, out: resolve('soak-out'), concurrency: 8, maxRequests: 2_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const v = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${a} needs a value`);
      return next;
    };
    if (a === '--duration') o.durationMs = parseDuration(v());
    else if (a === '--out') o.out = resolve(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--max-requests') o.maxRequests = Number(v());
    else if (a === '--help') {
      console.log('npm run soak -- [--duration 10m] [--out DIR] [--concurrency 8] [--max-requests N]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.durationMs < 30_000) throw new Error('--duration: at least 30s (the faults need room)');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
mkdirSync(opts.out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'charter-soak-'));
const cleanups: (() => Promise<unknown> | unknown)[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  // --- Backing services of the soak's own -------------------------------------------------------
  const pgBase = new URL(process.env.CHARTER_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test');
  const dbName = `charter_soak_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgBase.href });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: pgBase.href });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });
  const direct = new URL(pgBase.href);
  direct.pathname = `/${dbName}`;
  const relay = await TcpRelay.start(pgBase.hostname, Number(pgBase.port || 5432));
  cleanups.push(() => relay.cut());
  const viaRelay = new URL(direct.href);
  viaRelay.host = `127.0.0.1:${relay.port}`;
  const redis = await OwnRedis.start();
  cleanups.push(() => redis.stop());

  // --- The site and the sample upstream -----------------------------------------------------------
  const site = await makeSite(work);
  const upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url, app: req.headers['charter-app-id'] }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => upstream.close(r)));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;

  // --- Gateways: two replicas behind the balancer, one embedded -----------------------------------
  const lbPort = await freePort();
  const publicUrl = `http://127.0.0.1:${lbPort}`;
  const common = [
    '--trust',
    site.trustFile,
    '--license',
    site.licenseFile,
    '--routes',
    site.routesFile,
    '--upstream',
    upstreamUrl,
  ];
  const replica = ['--public-url', publicUrl, '--db', viaRelay.href, '--redis', redis.url];
  const a = new GatewayProcess('replica-a', await freePort(), [...common, ...replica], work);
  const b = new GatewayProcess('replica-b', await freePort(), [...common, ...replica], work);
  const sqlite = join(work, 'embedded', 'gateway.db');
  mkdirSync(join(work, 'embedded'));
  const e = new GatewayProcess(
    'embedded',
    await freePort(),
    [...common, '--home', join(work, 'embedded')],
    work,
  );
  const gateways = [a, b, e];
  cleanups.push(() => Promise.all(gateways.map((g) => g.stop())));
  // Started together: migrations and the site's secrets are raced, and both must agree.
  await Promise.all(gateways.map((g) => g.start()));
  const lb = await Balancer.start(
    lbPort,
    [a, b].map((g) => ({ host: '127.0.0.1', port: g.port })),
  );
  cleanups.push(() => lb.close());
  const cluster: Target = { name: 'cluster', url: publicUrl, public: publicUrl };
  const embedded: Target = { name: 'embedded', url: e.url, public: e.url };

  const watchers = [
    await AuditWatcher.open('cluster', direct.href),
    await AuditWatcher.open('embedded', `sqlite:${sqlite}`),
  ];
  cleanups.push(() => Promise.all(watchers.map((w) => w.close())));

  // --- Traffic --------------------------------------------------------------------------------------
  const durationMs = opts.durationMs;
  const traffic = new Traffic({
    site,
    targets: { cluster, embedded },
    perPlatform: 3,
    concurrency: opts.concurrency,
    attackShare: 0.1,
    t0: Date.now(),
    stopAt: Number.POSITIVE_INFINITY,
    maxRequests: opts.maxRequests,
  });
  await traffic.prepare();
  const t0 = Date.now();
  return soak({
    traffic,
    t0,
    durationMs,
    a,
    b,
    e,
    gateways,
    redis,
    relay,
    site,
    watchers,
    viaRelay: viaRelay.href,
    sqlite,
    cluster,
  });
}

interface Soak {
  traffic: Traffic;
  t0: number;
  durationMs: number;
  a: GatewayProcess;
  b: GatewayProcess;
  e: GatewayProcess;
  gateways: GatewayProcess[];
  redis: OwnRedis;
  relay: TcpRelay;
  site: Awaited<ReturnType<typeof makeSite>>;
  watchers: AuditWatcher[];
  viaRelay: string;
  sqlite: string;
  cluster: Target;
}

async function soak(s: Soak): Promise<number> {
  const { traffic, t0, durationMs, a, b, e, gateways } = s;
  const now = () => Date.now() - t0;
  traffic.rebase(t0, t0 + durationMs);
  const windows: FaultWindow[] = [];
  const memory: MemorySample[] = [];
  const installs: {
    target: string;
    ok: boolean;
    ms: number;
    in_force_after_ms: number | null;
    error?: string;
  }[] = [];
  let auditPollErrors = 0;

  // Memory every 2 s; the audit chains every 5 s (a store may be away: tried again later).
  const sampler = setInterval(() => {
    for (const g of gateways) {
      const m = g.sample(now());
      if (m) memory.push(m);
    }
  }, 2000);
  const auditor = setInterval(() => {
    for (const w of s.watchers) void w.poll().catch(() => (auditPollErrors += 1));
  }, 5000);

  // A progress line: rewritten in place on a terminal, every 10 s otherwise.
  const tty = process.stdout.isTTY === true;
  let lastLine = 0;
  const progress = (final = false) => {
    const xs = traffic.exchanges;
    const recent = xs.filter((x) => x.t > now() - 5000);
    const lat = recent
      .filter((x) => x.role === 'genuine')
      .map((x) => x.ms)
      .sort((p, q) => p - q);
    const admitted = xs.filter(
      (x) => x.role === 'attack' && x.kind !== 'challenge' && x.status >= 200 && x.status < 300,
    ).length;
    let outside = 0;
    let inside = 0;
    for (const x of xs) {
      if (x.role !== 'genuine' || (x.status >= 200 && x.status < 300)) continue;
      if (windowOf(x, windows)) inside += 1;
      else outside += 1;
    }
    const open = windows.filter((w) => w.recovered === undefined).map((w) => w.fault);
    const line =
      `[${String(Math.round(now() / 1000)).padStart(4)} s / ${durationMs / 1000} s] ${xs.length} req, ${Math.round(recent.length / 5)}/s, ` +
      `p50 ${lat[Math.floor(lat.length / 2)]?.toFixed(1) ?? '-'} ms, p99 ${lat[Math.floor(lat.length * 0.99)]?.toFixed(1) ?? '-'} ms | ` +
      `attacks admitted ${admitted} | genuine refused ${outside} outside / ${inside} inside faults | ${open.length ? `fault: ${open.join(', ')}` : 'no fault'}`;
    if (tty)
      process.stdout.write(`\r${line.padEnd(150).slice(0, Math.max(150, line.length))}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastLine >= 10_000) {
      lastLine = Date.now();
      console.log(line);
    }
  };
  const ticker = setInterval(() => progress(), 1000);

  // --- The fault schedule ------------------------------------------------------------------------
  const hold = Math.max(5000, Math.min(15_000, durationMs * 0.04));
  /** Wait for `share` of the run; false when a slow recovery left no room (the step is skipped). */
  const at = async (share: number) => {
    await sleep(Math.max(0, t0 + durationMs * share - Date.now()));
    const room = now() + hold < durationMs;
    if (!room) log(`\nno room left for the step due at ${Math.round(share * 100)} %: skipped`);
    return room;
  };
  const healthy = async (g: GatewayProcess) =>
    (await send(`${g.url}/charter/readyz`)).status === 200 && (await traffic.probe(s.cluster, g.url));
  const fault = async (
    name: string,
    detail: string,
    affected: GatewayProcess[],
    inject: () => Promise<void>,
    restore: () => Promise<void>,
  ) => {
    const w: FaultWindow = {
      fault: name,
      target: 'cluster',
      detail,
      start: now(),
      restored: undefined,
      recovered: undefined,
      end: Number.POSITIVE_INFINITY,
    };
    windows.push(w);
    log(`\n${name}: ${detail}`);
    await inject();
    await sleep(hold);
    await restore();
    w.restored = now();
    while (now() < durationMs) {
      const ok = await Promise.all(affected.map(healthy));
      if (ok.every(Boolean)) {
        w.recovered = now();
        w.end = w.recovered + GRACE_MS;
        return;
      }
      await sleep(200);
    }
  };
  /** License 2, revoking the victims, installed into both stores as an operator would. */
  const installRevocation = async () => {
    const file = await s.site.revokingLicense(traffic.victims.map((v) => v.instance_id as string));
    log(`\nlicense 2 (revoking ${traffic.victims.length} instances) installed`);
    const targets = [
      { target: 'cluster', db: s.viaRelay, gws: [a, b] },
      { target: 'embedded', db: `sqlite:${s.sqlite}`, gws: [e] },
    ];
    await Promise.all(
      targets.map(async (t) => {
        const t1 = Date.now();
        const window = { from: t1 - t0, until: Number.POSITIVE_INFINITY };
        traffic.revocation[t.target as 'cluster' | 'embedded'] = window;
        try {
          await promisify(execFile)(process.execPath, [
            BIN,
            'gateway',
            'license',
            'install',
            file,
            '--trust',
            s.site.trustFile,
            '--db',
            t.db,
            '--json',
          ]);
          const returned = Date.now();
          window.until = returned - t0 + Traffic.PROPAGATION_MS;
          let inForce: number | null = null;
          while (Date.now() - returned < 10_000) {
            const serials = await Promise.all(
              t.gws.map(async (g) => (await send(`${g.url}/.well-known/charter`)).body.license_serial),
            );
            if (serials.every((x) => x === 2)) {
              inForce = Date.now() - returned;
              break;
            }
            await sleep(50);
          }
          installs.push({ target: t.target, ok: true, ms: returned - t1, in_force_after_ms: inForce });
        } catch (err) {
          installs.push({
            target: t.target,
            ok: false,
            ms: Date.now() - t1,
            in_force_after_ms: null,
            error: String(err).slice(0, 500),
          });
        }
      }),
    );
  };

  const schedule = (async () => {
    if (!(await at(0.12))) return;
    await fault(
      'kill9',
      `kill -9 of ${a.name}, restarted after ${hold / 1000} s`,
      [a],
      () => a.kill9(),
      () => a.start(),
    );
    if (!(await at(0.28))) return;
    await fault(
      'pg_cut',
      `PostgreSQL connections cut at the relay for ${hold / 1000} s`,
      [a, b],
      () => s.relay.cut(),
      () => s.relay.restore(),
    );
    if (!(await at(0.44))) return;
    await fault(
      'clock_step',
      `${b.name}'s clock stepped +300 s for ${hold / 1000} s, then back`,
      [b],
      async () => b.stepClock(300),
      async () => b.stepClock(0),
    );
    if (!(await at(0.56))) return;
    await installRevocation();
    if (!(await at(0.7))) return;
    await fault(
      'redis_restart',
      `Redis killed and restarted empty after ${hold / 1000} s (no persistence)`,
      [a, b],
      () => s.redis.stop(),
      () => s.redis.start(),
    );
  })();

  await traffic.run(() => undefined);
  await schedule;
  clearInterval(ticker);
  progress(true);
  clearInterval(sampler);
  for (const w of windows) if (w.recovered === undefined) w.end = durationMs + 60_000;

  // --- After the run: the served license, a clean stop, the stores -------------------------------
  const served: Record<string, unknown> = {};
  for (const g of gateways)
    served[g.name] = (await send(`${g.url}/.well-known/charter`)).body.license_serial ?? null;
  const stopCodes: Record<string, number | null> = {};
  for (const g of gateways) stopCodes[g.name] = await g.stop();
  clearInterval(auditor);
  const checks: StoreCheck[] = [];
  for (const w of s.watchers)
    checks.push(await w.verify(traffic.acks, installs.find((i) => i.target === w.name && i.ok) ? 2 : 1));

  const sum = summarise(traffic.exchanges, windows, memory);
  const crashes = gateways.flatMap((g) => g.crashes.map((c) => ({ gateway: g.name, ...c, at: c.at - t0 })));
  const musts = {
    attacks_admitted: sum.attacks.admitted,
    genuine_refused_outside_faults: sum.genuine.refused_outside_faults,
    registrations_lost: checks.reduce((n, c) => n + c.registrations_lost, 0),
    installs_lost: checks.reduce((n, c) => n + c.installs_lost, 0) + installs.filter((i) => !i.ok).length,
    audit_entries_lost: checks.reduce((n, c) => n + c.audit_entries_lost, 0),
    audit_chains_broken: checks.filter((c) => !c.audit_chain.ok).length,
    gateway_crashes: crashes.length,
    unclean_stops: Object.values(stopCodes).filter((c) => c !== 0).length,
  };
  const failed = Object.entries(musts)
    .filter(([, v]) => v !== 0)
    .map(([k]) => k);
  const result = {
    ok: failed.length === 0,
    failed,
    musts,
    started_at: new Date(t0).toISOString(),
    duration_s: durationMs / 1000,
    concurrency: s.traffic.concurrency,
    requests: sum.requests,
    throughput_rps: Math.round((sum.requests / (durationMs / 1000)) * 10) / 10,
    by_outcome: sum.by_outcome,
    attacks: sum.attacks,
    genuine: sum.genuine,
    revocation_propagation: sum.revocation_propagation,
    five_xx: sum.five_xx,
    faults: windows.map((w) => ({
      ...w,
      end: w.recovered === undefined ? null : w.end,
      recovery_ms: w.recovered !== undefined && w.restored !== undefined ? w.recovered - w.restored : null,
      outage_ms: w.recovered !== undefined ? w.recovered - w.start : null,
    })),
    license_install: {
      windows: traffic.revocation,
      installs,
      served_serial_at_end: served,
      revoked: traffic.victims,
    },
    acknowledged_registrations: traffic.acks.length,
    stores: checks,
    latency: sum.latency,
    memory: sum.memory,
    memory_samples: memory,
    gateway_events: gateways.map((g) => ({
      gateway: g.name,
      events: g.events.map((x) => ({ ...x, at: x.at - t0 })),
    })),
    crashes,
    stop_codes: stopCodes,
    audit_poll_errors: auditPollErrors,
  };
  writeFileSync(join(opts.out, 'soak.json'), `${JSON.stringify(result, null, 2)}\n`);
  // Every exchange, one JSON line each, for a closer look than the summary gives.
  writeFileSync(
    join(opts.out, 'exchanges.ndjson'),
    traffic.exchanges.map((x) => JSON.stringify(x)).join('\n'),
  );
  writeFileSync(
    join(opts.out, 'soak.svg'),
    plotSvg(traffic.exchanges, windows, memory, durationMs, traffic.revocation.cluster?.from),
  );
  printSummary(result);
  console.log(`\nwrote ${join(opts.out, 'soak.json')} and ${join(opts.out, 'soak.svg')}`);
  console.log(result.ok ? 'soak: every must held' : `soak: FAILED (${failed.join(', ')})`);
  return result.ok ? 0 : 1;
}

// biome-ignore lint/suspicious/noExplicitAny: the result object, printed as read.
function printSummary(r: any): void {
  console.log(
    `\n${r.requests} requests in ${r.duration_s} s (${r.throughput_rps}/s), ${r.acknowledged_registrations} registrations acknowledged`,
  );
  console.log('musts:', JSON.stringify(r.musts));
  console.log('attacks by kind:');
  for (const [k, v] of Object.entries(r.attacks.by_kind) as [
    string,
    { sent: number; admitted: number; refused: Record<string, number> },
  ][])
    console.log(
      `  ${k.padEnd(18)} sent ${String(v.sent).padStart(6)}  admitted ${v.admitted}  refused ${JSON.stringify(v.refused)}`,
    );
  console.log('faults:');
  for (const f of r.faults)
    console.log(
      `  ${f.fault.padEnd(14)} at ${(f.start / 1000).toFixed(1)} s, recovered ${f.recovery_ms === null ? 'not before the end' : `${f.recovery_ms} ms after restore`}; genuine refused inside: ${JSON.stringify(r.genuine.refused_inside_faults[f.fault] ?? {})}`,
    );
  console.log('latency (genuine):');
  for (const [k, v] of Object.entries(r.latency) as [string, { n: number; p50_ms: number; p99_ms: number }][])
    console.log(`  ${k.padEnd(26)} n ${String(v.n).padStart(6)}  p50 ${v.p50_ms} ms  p99 ${v.p99_ms} ms`);
  console.log('memory:');
  for (const m of r.memory)
    console.log(
      `  ${m.process.padEnd(24)} RSS ${m.rss_mb_first} → ${m.rss_mb_last} MB (slope ${m.rss_slope_mb_per_h} MB/h), heap ${m.heap_mb_last} MB (slope ${m.heap_slope_mb_per_h} MB/h)`,
    );
  for (const c of r.stores)
    console.log(
      `store ${c.store}: ${c.acknowledged_registrations} acknowledged, ${c.registrations_lost} lost; license #${c.installed_license_serial}; audit ${c.audit_entries} entries, chain ${c.audit_chain.ok ? 'verified' : `BROKEN at ${c.audit_chain.broken_at}`}, ${c.audit_entries_lost} lost`,
    );
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`soak: ${err instanceof Error ? err.stack : err}`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      console.error(`cleanup: ${err instanceof Error ? err.message : err}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
