/**
 * Hostile-operator defenses at engine level: the time high-water mark and clock rollback policy
 * (injectable clock), license lapse and grace, usage counting into hash-chained reports, the
 * installation binding, and the sealed-build manifest check.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  artifactHash,
  type LicenseClaims,
  signManifest,
  verifyActivation,
  verifyReport,
} from '@charter/core';
import { calculateJwkThumbprint } from 'jose';
import { CLOCK_STATE, TimeGuard } from '../src/clock.ts';
import { startGateway } from '../src/entries/server.ts';
import { SqliteStore } from '../src/entries/sqlite.ts';
import {
  checkBuild,
  createActivation,
  exportReport,
  type GatewayOptions,
  hashFile,
  installationKey,
  listBuildFiles,
} from '../src/index.ts';
import {
  makeCharter,
  makeInstanceKey,
  makeLicense,
  makeVendor,
  now,
  SpecClient,
  startUpstream,
  type TestVendor,
  tempDir,
} from './helpers.ts';

async function gatewayWith(
  v: TestVendor,
  policy: Partial<LicenseClaims['policy']>,
  opts: Partial<GatewayOptions> & { store?: SqliteStore } = {},
) {
  const up = await startUpstream();
  const store = opts.store ?? new SqliteStore(':memory:');
  const license = await makeLicense(v, 1, { policy: { mode: 'enforce', ...policy } });
  const running = await startGateway({
    trust: v.trust,
    store,
    license,
    upstream: up.url,
    attestationVerifier: null,
    licensePollMs: 0,
    usageFlushMs: 60_000,
    metricsListen: { host: '127.0.0.1', port: 0 },
    ...opts,
  });
  return {
    running,
    store,
    async close() {
      await running.close();
      await store.close();
      up.server.close();
    },
  };
}

test('a clock set back past the tolerance is refused under "refuse" and recorded in the audit chain', async () => {
  const v = await makeVendor();
  let t = now();
  const g = await gatewayWith(v, { on_clock_rollback: 'refuse', clock_tolerance_s: 600 }, { clock: () => t });
  try {
    const client = new SpecClient(g.running.url, await makeInstanceKey());
    const { token } = await makeCharter(v, 'app_beta');
    assert.equal((await client.register(token)).status, 200);
    t -= 3600;
    const refused = await client.token();
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error, 'license_invalid');
    assert.equal((await g.running.gateway.ready()).ok, false);
    await g.running.gateway.flushUsage();
    const audit = (await g.store.auditEntries(0, 100)).map((e) => JSON.parse(e.entry));
    const clock = audit.filter((e) => e.kind === 'clock');
    assert.equal(clock.length, 1, 'one event per episode, not one per request');
    assert.equal(clock[0].detail, 'ERR_CLOCK_ROLLBACK');
    assert.ok(clock[0].high_water - clock[0].clock >= 3600 - 30);
    // The well-known document stays up, so operators can see what is wrong.
    const wk = await fetch(`${g.running.url}/.well-known/charter`);
    assert.equal(wk.status, 200);
    // Set right again, the gateway decides again.
    t += 3600;
    assert.equal((await client.token()).status, 200);
  } finally {
    await g.close();
  }
});

test('under "warn" the gateway keeps deciding on the high-water time and counts the event', async () => {
  const v = await makeVendor();
  let t = now();
  const g = await gatewayWith(v, { on_clock_rollback: 'warn' }, { clock: () => t });
  try {
    const client = new SpecClient(g.running.url, await makeInstanceKey());
    const { token } = await makeCharter(v, 'app_beta');
    assert.equal((await client.register(token)).status, 200);
    t -= 2 * 86400;
    // The proof carries the true time; the engine's time is the high-water mark, so it verifies.
    assert.equal((await client.token()).status, 200);
    assert.equal((await client.call('GET', '/orders')).status, 200);
    const metrics = await (await fetch(`${g.running.metricsUrl}/charter/metrics`)).text();
    assert.match(metrics, /charter_clock_rollback_events_total 1/);
    await g.running.gateway.flushUsage();
    const r = await exportReport(g.store, { integrity: 'unsealed', now: t }, async () => {});
    assert.equal(r.claims.clock.rollback_events, 1);
    assert.ok(r.claims.period.to >= now() - 60, 'a period never ends at the rolled-back time');
  } finally {
    await g.close();
  }
});

test('the high-water mark is raised by trusted times only, persists, and ignores a forward jump', async () => {
  const store = new SqliteStore(':memory:');
  const guard = await TimeGuard.load(store, 1_000_000);
  guard.raise(1_000_000);
  guard.raise(2_000_002);
  assert.ok(guard.highWater() >= 2_000_002 && guard.highWater() < 2_000_010);
  assert.equal('vote' in guard, false, 'clients have no say in it');
  await guard.persist();
  const again = await TimeGuard.load(store, 1_000_000);
  assert.ok(again.highWater() >= 2_000_002);
  // A stored mark from another replica that is higher wins; a lower one never lowers it.
  const replica = '{"high_water":3000000,"v":2}';
  await store.compareAndSetState(CLOCK_STATE, await store.getState(CLOCK_STATE), replica);
  await again.persist();
  assert.ok(again.highWater() >= 3_000_000);
  // A mark from before clients lost their vote counts only up to the wall clock, and is replaced.
  await store.compareAndSetState(CLOCK_STATE, await store.getState(CLOCK_STATE), '{"high_water":9000000}');
  const legacy = await TimeGuard.load(store, 4_000_000);
  assert.ok(legacy.highWater() >= 4_000_000 && legacy.highWater() < 4_000_010);
  await legacy.persist();
  assert.ok(JSON.parse((await store.getState(CLOCK_STATE)) as string).high_water < 4_000_010);
  await store.close();
});

test('a lapsing license warns, keeps working through its grace, then refuses; well-known stays up', async () => {
  const v = await makeVendor();
  const t0 = now();
  let t = t0;
  const up = await startUpstream();
  const store = new SqliteStore(':memory:');
  const license = await makeLicense(v, 1, {
    exp: t0 + 3 * 86400,
    policy: { mode: 'enforce', grace_s: 2 * 86400 },
  });
  const lines: { level: number; msg: string }[] = [];
  const { pino } = await import('pino');
  const logger = pino(
    { level: 'warn' },
    { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  const running = await startGateway({
    trust: v.trust,
    store,
    license,
    upstream: up.url,
    attestationVerifier: null,
    licensePollMs: 0,
    usageFlushMs: 60_000,
    clock: () => t,
    logger,
    metricsListen: { host: '127.0.0.1', port: 0 },
  });
  try {
    assert.ok(
      lines.some((l) => /expires in 3 days/.test(l.msg)),
      'warned at start, 3 days ahead',
    );
    const metrics = await (await fetch(`${running.metricsUrl}/charter/metrics`)).text();
    assert.match(metrics, /charter_license_days_left 3/);
    t = t0 + 4 * 86400; // expired, inside the grace period
    assert.equal((await running.gateway.ready()).ok, true);
    t = t0 + 6 * 86400; // grace over
    const client = new SpecClient(running.url, await makeInstanceKey());
    const { token } = await makeCharter(v, 'app_beta', { exp: t0 + 30 * 86400 });
    assert.equal((await client.register(token)).body.error, 'license_invalid');
    assert.equal((await fetch(`${running.url}/.well-known/charter`)).status, 200);
  } finally {
    await running.close();
    await store.close();
    up.server.close();
  }
});

test('usage is counted per app and code, flushed to the store, and exported as a hash chain', async () => {
  const v = await makeVendor();
  const g = await gatewayWith(v, {});
  try {
    const client = new SpecClient(g.running.url, await makeInstanceKey());
    const { token, jti } = await makeCharter(v, 'app_beta');
    assert.equal((await client.register(token)).status, 200);
    assert.equal((await client.token()).status, 200);
    assert.equal((await client.call('GET', '/orders')).status, 200);
    assert.equal((await client.call('GET', '/orders')).status, 200);
    const other = await makeCharter(v, 'app_other');
    const stranger = new SpecClient(g.running.url, await makeInstanceKey());
    assert.equal((await stranger.register(other.token)).body.error, 'app_not_admitted');
    await fetch(`${g.running.url}/orders`); // no token at all
    await g.running.gateway.flushUsage();
    const first = await exportReport(g.store, { integrity: 'sealed', now: now() }, async () => {});
    const { claims } = await verifyReport(first.token);
    assert.equal(claims.seq, 1);
    assert.equal(claims.prev, undefined);
    assert.equal(claims.integrity, 'unsealed', 'a gateway that started unsealed taints the period');
    assert.equal(claims.apps.app_beta?.admitted, 2);
    assert.equal(claims.apps.app_beta?.instances, 1);
    assert.equal(claims.apps.app_beta?.unattested_instances, 1);
    assert.equal(claims.apps.app_other?.denied.app_not_admitted, 1);
    assert.equal(claims.unknown.invalid_token, 1);
    // With what it registered with: a server instance, its key, no attestation.
    assert.deepEqual(claims.instances?.[client.instanceId], {
      app_id: 'app_beta',
      charter_id: jti,
      platform: 'server',
      jkt: await calculateJwkThumbprint(client.key.jwk),
      attested: false,
    });
    assert.equal(claims.iss, (await verifyReport(first.token)).jkt);
    const second = await exportReport(g.store, { integrity: 'sealed', now: now() }, async () => {});
    assert.equal(second.claims.seq, 2);
    assert.equal(second.claims.prev, artifactHash(first.token));
    assert.deepEqual(second.claims.apps, {}, 'counters were taken by the first report');
    assert.equal(second.claims.integrity, 'sealed');
    assert.ok(second.claims.period.from === first.claims.period.to);
  } finally {
    await g.close();
  }
});

test('two exports racing for one seq: one wins, the other is refused and gives its counters back', async () => {
  const v = await makeVendor();
  const store = new SqliteStore(':memory:');
  const g = await gatewayWith(v, {}, { store });
  try {
    await store.addCounters({ 'unknown\tinvalid_token': 5 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = exportReport(store, { integrity: 'unsealed', now: now() }, () => gate);
    const fast = await exportReport(store, { integrity: 'unsealed', now: now() }, async () => {});
    release();
    await assert.rejects(slow, (e: Error & { code?: string }) => e.code === 'conflict');
    assert.equal(fast.seq, 1);
    const next = await exportReport(store, { integrity: 'unsealed', now: now() }, async () => {});
    assert.equal(next.seq, 2);
    assert.equal(
      (fast.claims.unknown.invalid_token ?? 0) + (next.claims.unknown.invalid_token ?? 0),
      5,
      'nothing double-counted, nothing lost',
    );
  } finally {
    await g.close();
  }
});

test('activation requests are signed by the installation key that a bound license checks', async () => {
  const v = await makeVendor();
  const store = new SqliteStore(':memory:');
  const a = await createActivation(store, { siteId: 'site_a', integrity: 'unsealed', now: now() });
  const verified = await verifyActivation(a.token);
  assert.equal(verified.jkt, a.jkt);
  assert.equal(verified.claims.sub, 'site_a');
  assert.ok(await installationKey(store));
  const up = await startUpstream();
  const bound = await makeLicense(v, 1, { installation: { jkt: a.jkt } });
  const ok = await startGateway({
    trust: v.trust,
    store,
    license: bound,
    upstream: up.url,
    licensePollMs: 0,
  });
  await ok.close();
  const wiped = new SqliteStore(':memory:');
  await assert.rejects(
    startGateway({ trust: v.trust, store: wiped, license: bound, upstream: up.url, licensePollMs: 0 }),
    (e: Error & { code?: string; detail?: string }) =>
      e.code === 'license_invalid' && e.detail === 'ERR_INSTALLATION' && /re-activate/.test(e.message),
  );
  await store.close();
  await wiped.close();
  up.server.close();
});

test('a build checks against its signed manifest: any changed, missing or added file is reported', async () => {
  const v = await makeVendor();
  const { dir, remove } = tempDir();
  try {
    mkdirSync(join(dir, 'lib'), { recursive: true });
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'lib', 'a.mjs'), 'export const a = 1;\n');
    writeFileSync(join(dir, 'bin', 'run'), '#!/usr/bin/env node\n');
    const files = Object.fromEntries(listBuildFiles(dir).map((p) => [p, hashFile(join(dir, p))]));
    const t = now();
    const manifest = await signManifest(
      {
        iss: v.id,
        jti: 'build_1',
        iat: t,
        nbf: t,
        exp: t + 86400,
        gateway_version: '0.1.0',
        files,
        keys: [v.delegation],
      },
      v.signer,
    );
    writeFileSync(join(dir, 'manifest.jwt'), manifest);
    assert.deepEqual(await checkBuild(dir, v.trust), { ok: true, build_id: 'build_1' });
    writeFileSync(join(dir, 'lib', 'a.mjs'), 'export const a = 2;\n');
    assert.match(((await checkBuild(dir, v.trust)) as { reason: string }).reason, /lib\/a\.mjs was changed/);
    writeFileSync(join(dir, 'lib', 'a.mjs'), 'export const a = 1;\n');
    writeFileSync(join(dir, 'lib', 'extra.mjs'), '');
    assert.match(((await checkBuild(dir, v.trust)) as { reason: string }).reason, /extra\.mjs is not part/);
    const other = await makeVendor();
    assert.equal((await checkBuild(dir, other.trust)).ok, false, 'another vendor’s manifest does not verify');
  } finally {
    remove();
  }
});
