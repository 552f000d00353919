/**
 * Issue 14: `/charter/admin` without the slash, as the CLI prints it, leads to the admin console in
 * every mode, with and without an operator: a real `charter gateway start` process, the library's
 * `startGateway` with the console plugin, and a Fastify host of its own with a catch-all route.
 * The redirect is followed: its target must be the console itself (its web app, or its own 404 while
 * it has no operator), never the gateway's refusal of an unknown path.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCaptured } from '@charter/cli';
import { addOperator, charterConsole } from '@charter/console';
import { startGateway } from '@charter/gateway/server';
import { SqliteStore } from '@charter/gateway/sqlite';
import Fastify from 'fastify';
import { type ExpressHost, expressHost, freePort, libraryEngine, makeSite, type Site } from './hosts.ts';
import { startGatewayProcess } from './processes.ts';

const PASSWORD = 'correct horse battery staple';

async function cli(...args: string[]): Promise<void> {
  const r = await runCaptured([...args, '--json'], {
    ...process.env,
    CHARTER_PASSPHRASE: 'e2e passphrase',
    CHARTER_ACTOR: 'e2e',
    CHARTER_PASSWORD: PASSWORD,
  });
  assert.equal(r.code, 0, `charter ${args.join(' ')} → ${r.code}: ${r.stderr}`);
}

/** `/charter/admin` redirects to `/charter/admin/`, and following it reaches the console's web app. */
async function leadsToConsole(base: string, page: 'html' | 'text'): Promise<void> {
  const first = await fetch(`${base}/charter/admin`, { redirect: 'manual' });
  assert.equal(first.status, 302, `GET /charter/admin → ${first.status} ${await first.text()}`);
  const target = new URL(first.headers.get('location') ?? '', base);
  assert.equal(target.href, `${base}/charter/admin/`);
  const followed = await fetch(`${base}/charter/admin`);
  assert.equal(followed.status, 200, `followed → ${followed.status}`);
  assert.equal(followed.url, `${base}/charter/admin/`);
  const body = await followed.text();
  if (page === 'html') {
    assert.match(followed.headers.get('content-type') ?? '', /text\/html/);
    assert.match(body, /<div id="root">/);
  } else assert.match(body, /admin console/);
  // The same page as the slash form: the redirect target is the console, not a look-alike.
  assert.equal(await (await fetch(`${base}/charter/admin/`)).text(), body);
}

/** Without an operator the console is not there: both spellings get its own 404, never a 400. */
async function consoleAbsent(base: string): Promise<void> {
  for (const path of ['/charter/admin', '/charter/admin/']) {
    const r = await fetch(`${base}${path}`);
    const body = (await r.json()) as { error?: string; error_description?: string };
    assert.equal(r.status, 404, `GET ${path} → ${r.status} ${JSON.stringify(body)}`);
    assert.equal(body.error, 'not_found');
    assert.match(String(body.error_description), /gateway user add/);
  }
}

let site: Site;
let upstream: ExpressHost;
before(async () => {
  site = await makeSite([]);
  upstream = await expressHost();
});
after(async () => {
  await upstream.close();
  site.remove();
});

test('charter gateway start: /charter/admin leads to the console, with and without an operator', async () => {
  const G = join(site.dir, 'G-redirect');
  const start = () =>
    startGatewayProcess([
      '--home',
      G,
      '--license',
      site.licenseFile,
      '--trust',
      site.trustFile,
      '--upstream',
      upstream.url,
      '--listen',
      '127.0.0.1:0',
    ]);
  let gw = await start();
  try {
    await consoleAbsent((gw.info.url as string).replace(/\/$/, ''));
    assert.equal(upstream.hits.length, 0, 'nothing under /charter/admin reached the upstream');
  } finally {
    await gw.stop();
  }
  await cli('gateway', 'user', 'add', '--home', G, '--email', 'ops@hospital-a.example');
  gw = await start();
  try {
    const base = (gw.info.url as string).replace(/\/$/, '');
    assert.equal(gw.info.admin_url, `${base}/charter/admin/`);
    await leadsToConsole(base, 'html');
    assert.equal(upstream.hits.length, 0, 'nothing under /charter/admin reached the upstream');
  } finally {
    await gw.stop();
  }
});

test('library mode (startGateway with the console plugin): /charter/admin leads to the console', async () => {
  const store = new SqliteStore(join(site.dir, 'lib-redirect.db'));
  const gw = await startGateway({
    trust: site.vendor.trust,
    store,
    license: site.license,
    upstream: upstream.url,
    attestationVerifier: null,
    plugins: [async (app, gateway) => void (await app.register(charterConsole, { gateway, store }))],
  });
  try {
    const base = gw.url.replace(/\/$/, '');
    await consoleAbsent(base);
    await addOperator(store, { email: 'ops@hospital-a.example', password: PASSWORD, actor: 'e2e' });
    await leadsToConsole(base, 'text');
    assert.equal(upstream.hits.length, 0, 'nothing under /charter/admin reached the upstream');
  } finally {
    await gw.close();
    await store.close();
  }
});

test("a host of its own: /charter/admin reaches the console before the host's catch-all route", async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const engine = await libraryEngine(site, base, []);
  const host = Fastify();
  await host.register(charterConsole, { gateway: engine.gateway });
  host.all('/*', async () => ({ handler: 'host catch-all' }));
  await host.listen({ host: '127.0.0.1', port });
  try {
    await consoleAbsent(base);
    await addOperator(engine.gateway.store, {
      email: 'ops@hospital-a.example',
      password: PASSWORD,
      actor: 'e2e',
    });
    await leadsToConsole(base, 'text');
  } finally {
    await host.close();
    await engine.close();
  }
});
