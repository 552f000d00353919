/**
 * Issue 10, played black-box against the real `charter gateway start`: what the public listener
 * tells strangers (operations endpoints), what survives a restart (replay state), what clients can
 * do to the site's clock, and what an anonymous flood costs the store.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run, type Started, startGatewayProcess } from './processes.ts';
import { makeWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await makeWorld(['orders']);
});
after(async () => {
  await world.close();
});

let homes = 0;
/** A fresh gateway home and a license for it, written to a file. */
async function site(extra: string[] = []): Promise<{ G: string; license: string }> {
  const G = join(world.dir, `ops-G-${++homes}`);
  const license = join(world.dir, `ops-${homes}.license`);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(license, await world.license(['orders'], extra));
  return { G, license };
}

const startArgs = (G: string, license: string, more: string[] = []) => [
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
  ...more,
];

async function text(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.text() };
}

test('metrics are not on the public listener, in any spelling; --metrics-listen serves them', async () => {
  const s = await site();
  const gw: Started = await startGatewayProcess(startArgs(s.G, s.license));
  try {
    assert.equal(gw.info.metrics_url, undefined, 'no operations listener unless asked for');
    for (const path of [
      '/charter/metrics',
      '/charter/metrics/',
      '/charter//metrics',
      '/charter/%6detrics',
      '/charter/%6Detrics',
      '/charter/metrics?format=text',
      '/CHARTER/metrics',
      '/Charter/Metrics',
      '/charter/./metrics',
      '/charter/x/../metrics',
      '/metrics',
    ]) {
      for (const method of ['GET', 'HEAD']) {
        const r = await text(`${gw.info.url}${path}`, { method });
        assert.notEqual(r.status, 200, `${method} ${path}`);
        assert.doesNotMatch(r.body, /charter_|app_[a-z0-9]/i, `${method} ${path}: ${r.body.slice(0, 80)}`);
      }
    }
    // The probes stay public (a load balancer needs them) and say nothing but ok / ready.
    assert.deepEqual(JSON.parse((await text(`${gw.info.url}/charter/healthz`)).body), { status: 'ok' });
    assert.deepEqual(JSON.parse((await text(`${gw.info.url}/charter/readyz`)).body), { status: 'ready' });
  } finally {
    assert.equal(await gw.stop(), 0);
  }

  const ops = await startGatewayProcess(startArgs(s.G, s.license, ['--metrics-listen', '127.0.0.1:0']));
  try {
    assert.match(ops.info.metrics_url, /^http:\/\/127\.0\.0\.1:\d+\/charter\/metrics$/);
    assert.notEqual(new URL(ops.info.metrics_url).port, new URL(ops.info.url).port);
    const m = await text(ops.info.metrics_url);
    assert.equal(m.status, 200);
    assert.match(m.body, /charter_license_serial \d/);
    assert.match(m.body, /charter_clock_high_water_seconds/);
    const pub = await text(`${ops.info.url}/charter/metrics`);
    assert.equal(pub.status, 400);
    assert.doesNotMatch(pub.body, /charter_/);
    // The operations listener serves only operations.
    const base = ops.info.metrics_url.replace(/\/charter\/metrics$/, '');
    assert.equal((await text(`${base}/charter/readyz`)).status, 200);
    const other = await text(`${base}/orders`);
    assert.equal(other.status, 404);
    assert.equal(JSON.parse(other.body).error, 'not_found');
  } finally {
    assert.equal(await ops.stop(), 0);
  }
});

void run;
