/**
 * Every trick of a hostile operator, played with real files and real processes (the `charter`
 * executable and a sealed build): a wiped state, an edited or older license, a clock set back across a
 * restart, edited, missing and forked usage reports, a changed byte in a sealed bundle — each refused
 * or reported. And tracing: an instance id from a gateway's report leads back to its app.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import { run, startGatewayProcess } from './processes.ts';
import { charter, makeWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await makeWorld(['orders']);
});
after(async () => {
  await world.close();
});

/** A fresh site whose license is bound to the activation of gateway home `G`. */
async function boundSite(name: string, extra: string[] = []) {
  const G = join(world.dir, `${name}-G`);
  const { site_id } = await charter('vendor', 'site', 'add', '--home', world.V, '--name', name);
  const req = join(world.dir, `${name}-request.jwt`);
  const act = run(['gateway', 'activate', '--home', G, '--site', site_id, '--out', req]);
  assert.equal(act.code, 0, act.stderr);
  const issue = async (file: string, more: string[] = []) => {
    await charter(
      'vendor',
      'license',
      'issue',
      '--home',
      world.V,
      '--site',
      site_id,
      '--apps',
      world.apps.orders?.app_id as string,
      '--ttl',
      '30d',
      '--activation',
      req,
      '--out',
      join(world.dir, file),
      ...extra,
      ...more,
    );
    return join(world.dir, file);
  };
  return { G, site: site_id, jkt: act.json.jkt as string, issue };
}

const startArgs = (G: string, license: string) => [
  '--home',
  G,
  '--license',
  license,
  '--upstream',
  world.api.url,
  '--listen',
  '127.0.0.1:0',
  '--trust',
  join(world.dir, 'trust.json'),
];

test('a wiped gateway state stops a bound license with a clear "re-activate"', async () => {
  const s = await boundSite('wipe');
  const license = await s.issue('wipe-1.license');
  const gw = await startGatewayProcess(startArgs(s.G, license));
  assert.equal(gw.info.license_serial, 1);
  assert.equal(await gw.stop(), 0);
  rmSync(s.G, { recursive: true, force: true });
  await assert.rejects(startGatewayProcess(startArgs(s.G, license)), (e: Error & { code: number }) => {
    assert.equal(e.code, 1);
    assert.match(e.message, /license_invalid/);
    assert.match(e.message, /re-activate/);
    return true;
  });
});

test('an edited license and an older license are refused by the real executable', async () => {
  const s = await boundSite('rollback');
  const first = await s.issue('rollback-1.license');
  const second = await s.issue('rollback-2.license');
  const trust = ['--trust', join(world.dir, 'trust.json')];
  assert.equal(run(['gateway', 'license', 'install', '--home', s.G, second, ...trust]).code, 0);
  const older = run(['gateway', 'license', 'install', '--home', s.G, first, ...trust]);
  assert.equal(older.code, 1);
  assert.equal(older.json.error, 'license_invalid');
  assert.match(older.stderr, /serial is below/);
  await assert.rejects(startGatewayProcess(startArgs(s.G, first)), /license_invalid/);
  // Edit the payload (admit another app, say): the signature no longer verifies.
  const [h, p, sig] = readFileSync(second, 'utf8').split('.');
  const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString());
  claims.apps.push({ app_id: 'app_unapproved' });
  const edited = join(world.dir, 'rollback-edited.license');
  writeFileSync(edited, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`);
  const r = run(['gateway', 'license', 'install', '--home', s.G, edited, ...trust]);
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'license_invalid');
  await assert.rejects(startGatewayProcess(startArgs(s.G, edited)), /license_invalid/);
});

test('a clock set back across a restart: "refuse" will not start, "warn" runs and reports the event', async () => {
  const refuse = await boundSite('clock-refuse', ['--on-clock-rollback', 'refuse']);
  const lic = await refuse.issue('clock-refuse.license');
  const gw = await startGatewayProcess(startArgs(refuse.G, lic));
  assert.equal(await gw.stop(), 0);
  await assert.rejects(
    startGatewayProcess(startArgs(refuse.G, lic), { clockOffsetS: -7200 }),
    (e: Error & { code: number }) => {
      assert.equal(e.code, 1);
      assert.match(e.message, /license_invalid: the clock is \d+ s behind/);
      return true;
    },
  );
  // With the clock right again it starts; the event is in the next report.
  const again = await startGatewayProcess(startArgs(refuse.G, lic));
  assert.equal(await again.stop(), 0);
  const rep1 = join(world.dir, 'clock-refuse-1.report');
  assert.equal(run(['gateway', 'report', 'export', '--home', refuse.G, '--out', rep1]).code, 0);
  const c1 = JSON.parse(
    Buffer.from(readFileSync(rep1, 'utf8').split('.')[1] as string, 'base64url').toString(),
  );
  assert.equal(c1.clock.rollback_events, 1);

  const warn = await boundSite('clock-warn', ['--on-clock-rollback', 'warn', '--clock-tolerance', '10m']);
  const wl = await warn.issue('clock-warn.license');
  assert.equal(await (await startGatewayProcess(startArgs(warn.G, wl))).stop(), 0);
  // One process: each worker would see the rollback episode and record it (docs/workers.md, Limits).
  const back = await startGatewayProcess([...startArgs(warn.G, wl), '--workers', '1'], {
    clockOffsetS: -86400,
  });
  const wk = await (await fetch(`${back.info.url}/.well-known/charter`)).json();
  assert.equal(wk.license_serial, 1);
  assert.equal(await back.stop(), 0);
  assert.match(back.stderr(), /the clock is behind the time this gateway has already seen/);
  const rep = join(world.dir, 'clock-warn-1.report');
  const ex = run(['gateway', 'report', 'export', '--home', warn.G, '--out', rep], { clockOffsetS: -86400 });
  assert.equal(ex.code, 0, ex.stderr);
  const claims = JSON.parse(
    Buffer.from(readFileSync(rep, 'utf8').split('.')[1] as string, 'base64url').toString(),
  );
  assert.equal(claims.clock.rollback_events, 1);
  assert.ok(
    claims.period.to > Date.now() / 1000 - 600,
    'the period ends at the high-water mark, not a day back',
  );
});

test('reports: an unbroken chain verifies; a restored database forks it; edits and gaps are reported', async () => {
  const s = await boundSite('reports');
  const lic = await s.issue('reports.license');
  assert.equal(await (await startGatewayProcess(startArgs(s.G, lic))).stop(), 0);
  const exp = (n: string) => {
    const f = join(world.dir, `reports-${n}.report`);
    const r = run(['gateway', 'report', 'export', '--home', s.G, '--out', f]);
    assert.equal(r.code, 0, r.stderr);
    return { file: f, seq: r.json.seq as number };
  };
  const verify = (...files: string[]) => run(['vendor', 'report', 'verify', '--home', world.V, ...files]);
  const r1 = exp('1');
  const r2 = exp('2');
  assert.deepEqual([r1.seq, r2.seq], [1, 2]);
  const ok = verify(r1.file, r2.file);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(ok.json.ok, true);

  // The operator keeps a copy of the database, exports, then restores the copy and exports again.
  cpSync(s.G, `${s.G}.copy`, { recursive: true });
  const r3 = exp('3');
  assert.equal(verify(r3.file).code, 0);
  rmSync(s.G, { recursive: true });
  cpSync(`${s.G}.copy`, s.G, { recursive: true });
  const r3b = exp('3b');
  assert.equal(r3b.seq, 3);
  const fork = verify(r3b.file);
  assert.equal(fork.code, 1);
  assert.equal(fork.json.forks.length, 1);
  assert.equal(fork.json.forks[0].seq, 3);

  // An edited report (an unsealed gateway claiming to be sealed) fails its signature.
  const r4 = exp('4');
  const [h, p, sig] = readFileSync(r4.file, 'utf8').split('.');
  const claims = JSON.parse(Buffer.from(p as string, 'base64url').toString());
  assert.equal(claims.integrity, 'unsealed');
  claims.integrity = 'sealed';
  writeFileSync(r4.file, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`);
  const edited = verify(r4.file);
  assert.equal(edited.code, 1);
  assert.equal(edited.json.reports[0].status, 'edited');

  // A report withheld: the next one shows the gap.
  const r5 = exp('5');
  const gap = verify(r5.file);
  assert.equal(gap.code, 1);
  assert.ok(gap.json.gaps.some((g: { missing: number[] }) => g.missing.includes(4)));
});

test('an instance id from a gateway report traces to its publisher, app and charter', async () => {
  const s = await boundSite('trace');
  const lic = await s.issue('trace.license');
  const gw = await startGatewayProcess(startArgs(s.G, lic));
  const client = createCharterClient({
    baseUrl: gw.info.url,
    charter: world.apps.orders?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
  });
  assert.equal((await client.fetch('/orders')).status, 200);
  const instanceId = client.instance?.instance_id as string;
  assert.ok(instanceId);
  assert.equal(await gw.stop(), 0);
  const rep = join(world.dir, 'trace-1.report');
  assert.equal(run(['gateway', 'report', 'export', '--home', s.G, '--out', rep]).code, 0);
  const v = run(['vendor', 'report', 'verify', '--home', world.V, rep]);
  assert.equal(v.code, 0, v.stdout);
  assert.equal(v.json.apps[world.apps.orders?.app_id as string].admitted, 1);
  const t = run(['vendor', 'trace', '--home', world.V, instanceId]);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.json.kind, 'instance');
  assert.equal(t.json.app_id, world.apps.orders?.app_id);
  assert.deepEqual(t.json.charter_ids, [world.apps.orders?.charter_id]);
  assert.equal(t.json.seen_at[0].site, s.site);
});

test('a sealed build runs from its folder with only node, reports "sealed", and "unsealed" after one changed byte', async () => {
  const DIR = join(world.dir, 'sealed');
  const sealed = run(['vendor', 'seal-gateway', '--home', world.V, '--out', DIR]);
  assert.equal(sealed.code, 0, sealed.stderr);
  const s = await boundSite('sealed');
  const lic = await s.issue('sealed.license');
  const args = ['--home', s.G, '--license', lic, '--upstream', world.api.url, '--listen', '127.0.0.1:0'];
  const gw = await startGatewayProcess([...args, '--metrics-listen', '127.0.0.1:0'], { sealed: DIR });
  assert.equal(gw.info.integrity, 'sealed');
  assert.equal((await (await fetch(`${gw.info.url}/.well-known/charter`)).json()).integrity, 'sealed');
  assert.match(await (await fetch(gw.info.metrics_url)).text(), /charter_integrity\{integrity="sealed"\} 1/);
  assert.equal(await gw.stop(), 0);
  const act = run(
    [
      'activate',
      '--home',
      join(world.dir, 'sealed-other-G'),
      '--site',
      s.site,
      '--out',
      join(world.dir, 'sealed-act.jwt'),
    ],
    { sealed: DIR },
  );
  assert.equal(act.json.integrity, 'sealed');
  const r1 = join(world.dir, 'sealed-1.report');
  assert.equal(
    run(['report', 'export', '--home', s.G, '--out', r1], { sealed: DIR }).json.integrity,
    'sealed',
  );

  // One byte of the bundle changes (in a message, so the code still runs).
  const bundle = join(DIR, 'lib', 'charter-gateway.mjs');
  const text = readFileSync(bundle, 'utf8');
  assert.ok(text.includes('shutting down'));
  writeFileSync(bundle, text.replace('shutting down', 'shutting d0wn'));
  const patched = await startGatewayProcess(args, { sealed: DIR });
  assert.equal(patched.info.integrity, 'unsealed');
  assert.equal((await (await fetch(`${patched.info.url}/.well-known/charter`)).json()).integrity, 'unsealed');
  assert.equal(await patched.stop(), 0);
  assert.match(patched.stderr(), /lib\/charter-gateway\.mjs was changed/);
  const r2 = join(world.dir, 'sealed-2.report');
  assert.equal(
    run(['report', 'export', '--home', s.G, '--out', r2], { sealed: DIR }).json.integrity,
    'unsealed',
  );
  writeFileSync(bundle, text);

  // A restored bundle is sealed again, but a development trust file never is.
  const dev = await startGatewayProcess([...args, '--trust', join(world.dir, 'trust.json')], { sealed: DIR });
  assert.equal(dev.info.integrity, 'unsealed');
  assert.equal(await dev.stop(), 0);
  const r3 = join(world.dir, 'sealed-3.report');
  const r3r = run(['report', 'export', '--home', s.G, '--out', r3], { sealed: DIR });
  assert.equal(r3r.json.integrity, 'unsealed', 'the period saw an unsealed start');
  const v = run(['vendor', 'report', 'verify', '--home', world.V, r1, r2, r3]);
  assert.equal(v.code, 0, v.stdout);
});
