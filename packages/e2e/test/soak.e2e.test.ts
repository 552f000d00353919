/**
 * The one-minute soak (issue 18), so that `npm run soak` cannot rot: the real command, two replicas
 * on PostgreSQL and a Redis of its own behind its balancer plus an embedded gateway, with the faults
 * and attacks of the full run compressed into 60 s. Its musts are asserted from the JSON it writes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './processes.ts';

const PG = process.env.CHARTER_TEST_PG;
const REDIS = process.env.CHARTER_TEST_REDIS;

test('a one-minute soak: no attack admitted, no genuine refusal outside a fault, nothing lost', {
  timeout: 300_000,
  skip: !PG || !REDIS ? 'CHARTER_TEST_PG or CHARTER_TEST_REDIS is not set: soak skipped' : false,
}, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'charter-soak-test-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts', 'soak', 'main.ts'), '--duration', '60s', '--out', out],
      { cwd: ROOT, encoding: 'utf8', env: process.env, timeout: 280_000 },
    );
    const report = existsSync(join(out, 'soak.json'))
      ? JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8'))
      : undefined;
    assert.ok(report, `no soak.json (exit ${r.status}): ${r.stderr.slice(-3000)}`);
    t.diagnostic(`${report.requests} requests, musts ${JSON.stringify(report.musts)}`);
    // A failed must names itself with the stores' own checks (which entries, which registrations),
    // since the run's folder is removed after the test.
    assert.deepEqual(report.failed, [], `${r.stdout.slice(-4000)}\nstores: ${JSON.stringify(report.stores)}`);
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    for (const [must, value] of Object.entries(report.musts)) assert.equal(value, 0, must);
    // The run did what it claims: traffic, attacks, faults, the revocation in force.
    assert.ok(report.requests > 1000, `only ${report.requests} requests`);
    assert.ok(report.attacks.sent > 100, `only ${report.attacks.sent} attacks`);
    // On a loaded machine a slow restart can push the last steps past the end (the soak skips
    // them and says so); the first faults always run, in the schedule's order.
    const order = ['kill9', 'pg_cut', 'clock_step', 'redis_restart'];
    const ran = report.faults.map((f: { fault: string }) => f.fault);
    assert.deepEqual(ran, order.slice(0, ran.length));
    assert.ok(ran.length >= 2, `only ${ran.join(', ')} ran`);
    t.diagnostic(`faults: ${ran.join(', ')}; license installs: ${report.license_install.installs.length}`);
    if (report.license_install.installs.length > 0) {
      assert.ok(report.attacks.by_kind.revoked_instance?.refused.instance_revoked > 0, 'the revocation bit');
      for (const s of report.stores) assert.equal(s.installed_license_serial, 2, `${s.store} has license 2`);
    }
    for (const s of report.stores) {
      assert.ok(s.acknowledged_registrations > 0, `${s.store} registered instances`);
      assert.ok(s.audit_chain.ok, `${s.store} audit chain`);
    }
    const svg = readFileSync(join(out, 'soak.svg'), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /kill9/);
    assert.match(svg, /<\/svg>$/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
