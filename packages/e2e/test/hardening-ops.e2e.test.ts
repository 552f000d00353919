/**
 * Issue 10, played black-box against the real `charter gateway start`: what the public listener
 * tells strangers (operations endpoints), what survives a restart (replay state), what clients can
 * do to the site's clock, and what an anonymous flood costs the store.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCharterClient, MemoryKeyStore } from '@charter/client';
import { verifyAuditChain } from '@charter/gateway';
import { SqliteStore } from '@charter/gateway/sqlite';
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
  ...(more.includes('--listen') ? [] : ['--listen', '127.0.0.1:0']),
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
    assert.equal(other.status, 400);
    assert.equal(JSON.parse(other.body).error, 'invalid_request');
    await assertUndecodableRefused(base);
    await assertHttpLayerRefused(base);
  } finally {
    assert.equal(await ops.stop(), 0);
  }
  // One process serves its own operations listener; with workers the supervisor does (above).
  const single = await startGatewayProcess(
    startArgs(s.G, s.license, ['--metrics-listen', '127.0.0.1:0', '--workers', '1']),
  );
  try {
    await assertUndecodableRefused(single.info.metrics_url.replace(/\/charter\/metrics$/, ''));
    await assertHttpLayerRefused(single.info.metrics_url.replace(/\/charter\/metrics$/, ''));
  } finally {
    assert.equal(await single.stop(), 0);
  }
});

/** A URL Fastify cannot decode gets the catalogue's invalid_request, not Fastify's own body echoing it. */
async function assertUndecodableRefused(base: string): Promise<void> {
  for (const path of ['/charter/%zz', '/charter/metrics%']) {
    const r = await text(`${base}${path}`);
    assert.equal(r.status, 400, path);
    assert.equal(JSON.parse(r.body).error, 'invalid_request', `${path}: ${r.body.slice(0, 80)}`);
    assert.doesNotMatch(r.body, /%zz|Bad Request/, path);
  }
}

/** The raw answer of the server at `base` to `bytes`, read until it closes the connection. */
function rawExchange(base: string, bytes: string): Promise<string> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.end(bytes));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/**
 * What node's HTTP layer refuses before a route runs is the catalogue's invalid_request on the
 * operations listener too (found by the `operations` fuzz target): an Expect other than
 * 100-continue (node's bare 417 before), a header section over node's limit (Fastify's
 * `{"error":"Request Header Fields Too Large"}`, and no body after a HEAD), a body of a media type
 * Fastify has no parser for (its 415 `Unsupported Media Type`).
 */
async function assertHttpLayerRefused(base: string): Promise<void> {
  const host = new URL(base).host;
  const expect = await rawExchange(
    base,
    `GET /charter/metrics HTTP/1.1\r\nHost: ${host}\r\nExpect: x-later\r\nConnection: close\r\n\r\n`,
  );
  assert.match(expect, /^HTTP\/1\.1 400 /, expect.slice(0, 200));
  assert.match(expect, /\r\n\r\n\{"error":"invalid_request"/);
  const big = 'a'.repeat(100_000);
  const get = await rawExchange(
    base,
    `GET /charter/metrics HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${big}\r\n\r\n`,
  );
  assert.match(get, /^HTTP\/1\.1 400 /, get.slice(0, 200));
  assert.match(get, /\r\nconnection: close\r\n/i);
  // The headers of every other refusal: a cache between must not keep it (it lacked no-store).
  assert.match(get, /\r\ncache-control: no-store\r\n/i);
  assert.match(get, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
  assert.match(get, /\r\n\r\n\{"error":"invalid_request"/);
  const head = await rawExchange(
    base,
    `HEAD /charter/metrics HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${big}\r\n\r\n`,
  );
  assert.match(head, /^HTTP\/1\.1 400 /, head.slice(0, 200));
  assert.match(head, /\r\ncharter-refusal: invalid_request\r\n/i);
  assert.match(head, /\r\ncache-control: no-store\r\n/i);
  assert.ok(head.endsWith('\r\n\r\n'), `a body after the head of a HEAD answer: ${head.slice(-80)}`);
  for (const path of ['/charter/metrics', '/charter/nothing-here']) {
    const typed = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<a/>',
    });
    const body = await typed.text();
    assert.equal(typed.status, 400, `${path}: ${body}`);
    assert.equal(JSON.parse(body).error, 'invalid_request', path);
    assert.doesNotMatch(body, /Unsupported Media Type/, path);
  }
}

/** A request as the client sent it, to send again byte for byte. */
interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function headersOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  req.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** A port free now on loopback, so that a restarted gateway keeps its URL (`--listen`). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The SDK against `url`, every request it sends recorded; `clockOffsetS` shifts its clock. */
function recordingClient(url: string, sent: Sent[] = [], clockOffsetS = () => 0) {
  return createCharterClient({
    baseUrl: url,
    charter: world.apps.orders?.charter as string,
    platform: 'server',
    keyStore: new MemoryKeyStore(),
    clock: () => Date.now() + clockOffsetS() * 1000,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await req.clone().text();
      sent.push({
        url: req.url,
        method: req.method,
        headers: headersOf(req),
        body: body === '' ? undefined : body,
      });
      return fetch(req);
    },
  });
}

async function replay(base: string, s: Sent): Promise<{ status: number; error?: string }> {
  const path = new URL(s.url).pathname + new URL(s.url).search;
  const init: RequestInit = { method: s.method, headers: s.headers };
  if (s.body !== undefined) init.body = s.body;
  const r = await fetch(`${base}${path}`, init);
  const body = (await r.json().catch(() => ({}))) as { error?: string };
  return { status: r.status, ...(body.error ? { error: body.error } : {}) };
}

function killed(gw: Started): Promise<void> {
  return new Promise((done) => {
    gw.process.once('exit', () => done());
    gw.process.kill('SIGKILL');
  });
}

test('nothing used before a restart (or a crash) of the embedded gateway is accepted after it', async () => {
  const s = await site();
  const listen = ['--listen', `127.0.0.1:${await freePort()}`];
  let gw = await startGatewayProcess(startArgs(s.G, s.license, listen));
  const url = gw.info.url as string;
  const honest = recordingClient(url);
  try {
    assert.equal((await honest.fetch('/orders')).status, 200);

    for (const restart of ['SIGTERM', 'SIGKILL'] as const) {
      // A victim registers, gets a token and calls the API once; an eavesdropper keeps every request.
      const sent: Sent[] = [];
      const victim = recordingClient(url, sent);
      assert.equal((await victim.fetch('/orders/7')).status, 200);
      const kept = sent.filter((r) => /\/charter\/v1\/(register|token)$|\/orders\/7$/.test(r.url));
      assert.deepEqual(
        kept.map((r) => new URL(r.url).pathname),
        ['/charter/v1/register', '/charter/v1/token', '/orders/7'],
      );
      if (restart === 'SIGTERM') assert.equal(await gw.stop(), 0);
      else await killed(gw);
      gw = await startGatewayProcess(startArgs(s.G, s.license, listen));
      for (const r of kept) {
        const again = await replay(gw.info.url, r);
        assert.notEqual(again.status, 200, `${restart}: ${r.method} ${new URL(r.url).pathname} replayed`);
        assert.ok(
          again.error === 'use_dpop_nonce' || again.error === 'invalid_dpop_proof',
          `${restart}: ${new URL(r.url).pathname} → ${JSON.stringify(again)}`,
        );
      }
      const sameBefore = world.api.seen.filter((x) => x.url === '/orders/7').length;
      assert.equal(sameBefore, 2 - (restart === 'SIGTERM' ? 1 : 0), 'the upstream saw each victim call once');
      // Honest clients carry on across the restart, with the token they already hold.
      assert.equal((await honest.fetch('/orders')).status, 200);
      assert.equal((await victim.fetch('/orders/8')).status, 200);
    }
    // A second process on the same home (the file is the replay state): what one accepted, the other refuses.
    const second = await startGatewayProcess(startArgs(s.G, s.license, ['--public-url', url]));
    try {
      const sent: Sent[] = [];
      assert.equal((await recordingClient(url, sent).fetch('/orders/9')).status, 200);
      const call = sent.find((r) => r.url.endsWith('/orders/9')) as Sent;
      assert.deepEqual(await replay(second.info.url, call), { status: 401, error: 'invalid_dpop_proof' });
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});

/**
 * Attackers with registered instances send proofs dated at the edge of the allowed skew, a burst at a
 * time, each burst a skew further ahead (what moved the old median of proof times, step by step).
 * Every failure is ignored: an attacker keeps going.
 */
async function flood(url: string, instances: number, steps = 5, perStep = 12): Promise<number> {
  let offset = 0;
  const attackers = Array.from({ length: instances }, () => recordingClient(url, [], () => offset));
  for (const a of attackers)
    assert.equal((await a.fetch('/orders')).status, 200, 'the attackers are registered');
  let accepted = 0;
  for (let step = 1; step <= steps; step++) {
    offset = 59 * step;
    await Promise.all(
      attackers.map(async (a) => {
        for (let i = 0; i < perStep; i++) {
          const r = await a.fetch('/orders').catch(() => undefined);
          if (r?.status === 200) accepted++;
        }
      }),
    );
  }
  return accepted;
}

/** The clock mark the gateway exposes on its operations listener. */
async function mark(gw: Started): Promise<number> {
  const m = /charter_clock_high_water_seconds (\d+)/.exec((await text(gw.info.metrics_url)).body);
  assert.ok(m, 'the mark is exposed');
  return Number(m[1]);
}

const wall = () => Math.floor(Date.now() / 1000);

for (const policy of ['warn', 'refuse'] as const) {
  test(`edge-of-skew proofs from one and from five instances move no clock (on_clock_rollback: ${policy})`, async () => {
    const s = await site(['--on-clock-rollback', policy, '--clock-tolerance', '60s']);
    const listen = ['--listen', `127.0.0.1:${await freePort()}`, '--metrics-listen', '127.0.0.1:0'];
    let gw = await startGatewayProcess(startArgs(s.G, s.license, listen));
    const url = gw.info.url as string;
    try {
      const honest = recordingClient(url);
      assert.equal((await honest.fetch('/orders')).status, 200);
      for (const instances of [1, 5]) {
        const accepted = await flood(url, instances);
        assert.ok(
          accepted >= instances * 12,
          `${instances}: the edge-of-skew proofs were accepted (${accepted})`,
        );
        assert.ok((await mark(gw)) <= wall() + 2, `${instances}: the mark stays at the gateway's own time`);
        assert.equal((await honest.fetch('/orders')).status, 200, `${instances}: the honest client`);
        assert.equal((await recordingClient(url).fetch('/orders')).status, 200, `${instances}: a new client`);
        // And across a restart: the mark the flood left (none) refuses no start.
        assert.equal(await gw.stop(), 0);
        gw = await startGatewayProcess(startArgs(s.G, s.license, listen));
        assert.ok((await mark(gw)) <= wall() + 2, `${instances}: after the restart`);
        assert.equal((await honest.fetch('/orders')).status, 200, `${instances}: honest after the restart`);
      }
    } finally {
      await gw.stop();
    }
  });
}

test('a mark that clients pushed ahead under an earlier version does not refuse the start', async () => {
  const s = await site(['--on-clock-rollback', 'refuse', '--clock-tolerance', '60s']);
  assert.equal(await (await startGatewayProcess(startArgs(s.G, s.license))).stop(), 0);
  // What the flood left in the store before this version: a mark two hours ahead, no version.
  const store = new SqliteStore(join(s.G, 'gateway.db'));
  await store.compareAndSetState(
    'clock',
    await store.getState('clock'),
    JSON.stringify({ high_water: wall() + 7200 }),
  );
  await store.close();
  const gw = await startGatewayProcess(startArgs(s.G, s.license, ['--metrics-listen', '127.0.0.1:0']));
  try {
    assert.ok((await mark(gw)) <= wall() + 2);
    assert.equal((await recordingClient(gw.info.url).fetch('/orders')).status, 200);
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});

/** Bytes of a gateway home's SQLite state (the database and any write-ahead log). */
function storeBytes(G: string): number {
  let n = 0;
  for (const f of ['gateway.db', 'gateway.db-wal']) {
    try {
      n += statSync(join(G, f)).size;
    } catch {
      // absent: the log is folded into the database at a clean close
    }
  }
  return n;
}

test('10,000 anonymous refusals are counted and sampled, not one audit row each', async () => {
  const s = await site();
  // A start and a stop first, so the baseline holds the schema, keys and license.
  assert.equal(await (await startGatewayProcess(startArgs(s.G, s.license))).stop(), 0);
  const before = storeBytes(s.G);
  const seqBefore = await (async () => {
    const store = new SqliteStore(join(s.G, 'gateway.db'));
    const last = (await store.auditEntries(0, 1_000_000)).at(-1)?.seq ?? 0;
    await store.close();
    return last;
  })();

  const gw = await startGatewayProcess(startArgs(s.G, s.license));
  const base = gw.info.url as string;
  const json = { 'content-type': 'application/json' };
  const kinds: [string, RequestInit, number][] = [
    ['/orders', {}, 401],
    ['/orders/1', { headers: { authorization: 'DPoP abc.def.ghi', dpop: 'a.b.c' } }, 401],
    ['/charter/v1/register', { method: 'POST', headers: json, body: '{}' }, 400],
    [
      '/charter/v1/token',
      { method: 'POST', headers: { ...json, dpop: 'x.y.z' }, body: '{"instance_id":"ins_x"}' },
      400,
    ],
  ];
  const total = 10_000;
  let next = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < total) {
        const [path, init] = kinds[next++ % kinds.length] as [string, RequestInit, number];
        const r = await fetch(`${base}${path}`, init);
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    }),
  );
  assert.equal(await gw.stop(), 0);
  assert.deepEqual(
    [...statuses].sort(),
    [
      [400, total / 4],
      [401, (total * 3) / 4],
    ],
    'every request was refused',
  );

  const grown = storeBytes(s.G) - before;
  const store = new SqliteStore(join(s.G, 'gateway.db'));
  try {
    const entries = (await store.auditEntries(seqBefore, 1_000_000)).map(
      (e) => JSON.parse(e.entry) as { kind: string; count?: number; code?: string },
    );
    const refusals = entries.filter((e) => e.kind === 'refusal');
    // One row for the first of each kind, one per 1,000 after, one at shutdown for the rest.
    assert.ok(refusals.length <= kinds.length * 5, `${refusals.length} audit rows`);
    assert.equal(
      refusals.reduce((n, e) => n + (e.count ?? 1), 0),
      total,
      'the rows account for every refusal',
    );
    assert.ok(grown <= 64 * 1024, `the store grew by ${grown} bytes for ${total} anonymous requests`);
    const chain = verifyAuditChain(await store.auditEntries(0, 1_000_000));
    assert.equal(chain.ok, true);
    console.log(
      `# store growth for ${total} anonymous refusals: ${grown} bytes, ${refusals.length} audit rows`,
    );
  } finally {
    await store.close();
  }
});

void run;
